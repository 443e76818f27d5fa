/**
 * Atomic batches that update the same rows in opposite order deadlock in PostgreSQL; the loser used to answer
 * INTERNAL_ERROR. nori runs a transaction PostgreSQL broke off (deadlock, serialization failure) again, a few
 * times, and answers TRANSACTION_CONFLICT (the client may send it again) if it still cannot commit.
 */
import assert from 'node:assert/strict';
import { ALICE, TEST_DB, useEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { q, replies } from '../helpers/xml.js';

const rename = (id: number, to: string) => `<UPDATE><WEBACCOUNT ID="${id}"><INFO><DENOMINATION>${to}</DENOMINATION></INFO></WEBACCOUNT></UPDATE>`;

describe('transactions that conflict', function () {
  this.timeout(120_000);
  const t = useEngine();
  let a: number;
  let b: number;

  beforeEach(async () => {
    await seedApi(t.engine, 'mastodon', '', 'oauth1');
    a = await seedAccount(t.engine, ALICE, 'mastodon');
    b = await seedAccount(t.engine, ALICE, 'mastodon');
  });

  it('a transaction that keeps conflicting answers TRANSACTION_CONFLICT and writes nothing', async () => {
    const knex = t.engine.database.knex;
    // A row whose every update the database breaks off as a deadlock would be.
    await knex.raw(`CREATE OR REPLACE FUNCTION nori_test_deadlock() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'test deadlock' USING ERRCODE = '40P01'; END $$ LANGUAGE plpgsql`);
    await knex.raw(`CREATE TRIGGER nori_test_deadlock BEFORE UPDATE ON webaccount FOR EACH ROW WHEN (OLD.id = ${b}) EXECUTE FUNCTION nori_test_deadlock()`);
    try {
      const each = replies(await t.engine.execute(q(rename(a, 'first') + rename(b, 'never')), ALICE));
      assert.deepEqual(each.map((r) => r.attrs.errorCode ?? r.attrs.msgType), ['0', 'TRANSACTION_CONFLICT']);
      assert.match(each[1]!.text, /deadlock.*5 attempt\(s\).*may send it again/);
      const atomic = replies(await t.engine.execute(`<QUERY atomic="true">${rename(a, 'second')}${rename(b, 'never')}</QUERY>`, ALICE));
      assert.deepEqual(atomic.map((r) => r.attrs.errorCode), ['TRANSACTION_CONFLICT', 'TRANSACTION_CONFLICT']);
      const names = (await knex('webaccount').whereIn('id', [a, b]).orderBy('id').pluck('denomination')) as (string | null)[];
      assert.deepEqual(names, ['first', null], 'the atomic batch wrote nothing, not even its first command');
    } finally {
      await knex.raw('DROP TRIGGER nori_test_deadlock ON webaccount');
    }
  });

  // PGlite is one connection: two transactions never run at once there, so only PostgreSQL can deadlock.
  (TEST_DB === 'postgres' ? it : () => undefined)('20 concurrent atomic batches updating two rows in opposite order: no INTERNAL_ERROR', async () => {
    const batches = Array.from({ length: 20 }, (_, i) => {
      const [x, y] = i % 2 ? [a, b] : [b, a];
      return t.engine.execute(`<QUERY atomic="true">${rename(x, `batch-${i}`)}${rename(y, `batch-${i}`)}</QUERY>`, ALICE);
    });
    const answers = (await Promise.all(batches)).flatMap((xml) => replies(xml).map((r) => r.attrs.errorCode ?? r.attrs.msgType));
    assert.ok(!answers.includes('INTERNAL_ERROR'), answers.join(' '));
    assert.ok(answers.every((c) => c === '0' || c === 'TRANSACTION_CONFLICT'), answers.join(' '));
    // How many commit depends on the machine's timing; at least one always does (a deadlock aborts only one side).
    assert.ok(answers.filter((c) => c === '0').length >= 2, 'a batch committed');
    // Each batch that committed wrote both rows: the last one to commit left its name on both.
    const names = (await t.engine.database.knex('webaccount').whereIn('id', [a, b]).pluck('denomination')) as string[];
    assert.equal(names[0], names[1]);
  });
});
