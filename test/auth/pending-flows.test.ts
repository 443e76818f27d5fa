/**
 * Dead pending flows are purged, a bounded number at a time, by every new flow. The clock is the rows': their
 * deadlines are moved into the past, and nothing waits.
 */
import assert from 'node:assert/strict';
import { PURGE_BATCH } from '../../src/auth/pending-flows.js';
import { ALICE, useEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { expectOk, only, q } from '../helpers/xml.js';

const TTL = 600;
const OAUTH2 = '<CLIENT_ID>c</CLIENT_ID><CLIENT_SECRET>s</CLIENT_SECRET><AUTHORIZE_URL>https://provider.test/authorize</AUTHORIZE_URL><TOKEN_URL>https://provider.test/token</TOKEN_URL>';
const ago = (seconds: number) => new Date(Date.now() - seconds * 1000);

describe('pending flows are purged once nothing can use them', function () {
  this.timeout(60_000);
  const t = useEngine({ authorization: { publicUrl: 'https://nori.test', flowTtlSeconds: TTL } });
  const flows = () => t.engine.database.knex('nori_pending_flows');
  const authorize = async (account: number) => expectOk(only(await t.engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${account}"/></AUTHORIZE>`), ALICE)));
  /** Flows started by AUTHORIZE, one account each, then aged as given (after all were made: each AUTHORIZE purges). */
  async function aged(...sets: { expires_at: Date; result_at?: Date }[]): Promise<number[]> {
    const accounts: number[] = [];
    for (const _ of sets) {
      accounts.push(await seedAccount(t.engine, ALICE, 'prov'));
      await authorize(accounts.at(-1)!);
    }
    const ids: number[] = [];
    for (const [i, set] of sets.entries()) {
      const [{ id }] = (await flows().update(set).where('account_id', accounts[i]).returning('id')) as [{ id: number }];
      ids.push(id);
    }
    return ids;
  }
  const remaining = async () => ((await flows().select('id').orderBy('id')) as { id: number }[]).map((r) => r.id);

  beforeEach(() => seedApi(t.engine, 'prov', OAUTH2));

  it('deletes flows past their deadlines and a grace of one ttl, and keeps what a late callback or collection may still ask for', async () => {
    const [dead, deadWithResult, justExpired, resultToCollect, resultJustExpired, live] = await aged(
      { expires_at: ago(2 * TTL) },
      { expires_at: ago(3 * TTL), result_at: ago(2 * TTL + 1) },
      { expires_at: ago(TTL / 2) },
      { expires_at: ago(2 * TTL), result_at: ago(TTL / 2) },
      { expires_at: ago(2 * TTL), result_at: ago(TTL + TTL / 2) },
      { expires_at: new Date(Date.now() + TTL * 1000) },
    );
    assert.deepEqual(await remaining(), [dead, deadWithResult, justExpired, resultToCollect, resultJustExpired, live]);

    await authorize(await seedAccount(t.engine, ALICE, 'prov'));
    const left = await remaining();
    assert.deepEqual(left.slice(0, -1), [justExpired, resultToCollect, resultJustExpired, live]);
    assert.equal(left.length, 5, 'the new flow is kept');
  });

  it('deletes at most PURGE_BATCH at a time, so one AUTHORIZE has a bounded cost, and catches up over the next ones', async () => {
    const [template] = await aged({ expires_at: ago(2 * TTL) });
    const row = (await flows().first('*').where('id', template)) as Record<string, unknown>;
    const count = PURGE_BATCH + 30;
    const copies = Array.from({ length: count - 1 }, (_, i) => ({ ...row, id: undefined, state_hash: `${i}`.padStart(64, '0'), start_hash: `${i}`.padStart(64, 'f') }));
    await flows().insert(copies);
    assert.equal((await remaining()).length, count);

    await authorize(await seedAccount(t.engine, ALICE, 'prov'));
    assert.equal((await remaining()).length, count - PURGE_BATCH + 1);
    await authorize(await seedAccount(t.engine, ALICE, 'prov'));
    assert.equal((await remaining()).length, 2, 'the rest went with the next flow; the two new flows stay');
  });
});
