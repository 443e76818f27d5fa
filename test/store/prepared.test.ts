import assert from 'node:assert/strict';
import knexFactory, { type Knex } from 'knex';
import { WEBACCOUNT } from '../../schemas/index.js';
import { selectByIds } from '../../src/store/elements.js';
import { selectRows } from '../../src/store/prepared.js';
import { ALICE, PG_URL, TEST_DB, useEngine } from '../helpers/engine.js';

const SQL = 'select "id", "label" from "nori_api_keys" where "id" in (?, ?) order by "id"';

/** The statements prepared in the session of a one-connection pool (pg_prepared_statements is per session). */
const preparedIn = async (knex: Knex) =>
  ((await knex.raw("SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'nori\\_%'")) as { rows: { name: string; statement: string }[] }).rows;

describe('prepared reads (store/prepared)', () => {
  const t = useEngine();
  let ids: number[];
  beforeEach(async () => {
    ids = [];
    for (const label of ['one', 'two', 'three']) ids.push((await t.engine.keys.create({ contactId: ALICE.contactId, label })).info.id);
  });

  it('answers the rows of its statement, prepared or not', async () => {
    const knex = t.engine.database.knex;
    for (const prepare of [true, false, true]) {
      assert.deepEqual(await selectRows(knex, SQL, [ids[2], ids[0]], prepare), [{ id: ids[0], label: 'one' }, { id: ids[2], label: 'three' }]);
    }
  });

  it('runs inside a transaction on its connection: it sees the rows the transaction wrote', async () => {
    const rollBack = new Error('roll back');
    const work = t.engine.database.knex.transaction(async (trx) => {
      const [row] = (await trx('nori_api_keys').insert({ key_id: '0123456789abcdef', secret_hash: 'x', contact_id: 9, groups: [], admin: false, label: 'uncommitted' }).returning('id')) as { id: number }[];
      assert.deepEqual(await selectRows(trx, SQL, [row!.id, ids[1]], true), [{ id: ids[1], label: 'two' }, { id: row!.id, label: 'uncommitted' }]);
      throw rollBack;
    });
    await assert.rejects(work, (e) => e === rollBack);
    assert.deepEqual(await selectRows(t.engine.database.knex, 'select count(*)::int as n from "nori_api_keys" where "label" = ?', ['uncommitted'], true), [{ n: 0 }]);
  });

  it('tells observers of knex queries of each statement it sends', async () => {
    const seen: string[] = [];
    const listen = (q: { sql: string }) => void seen.push(q.sql);
    t.engine.database.knex.on('query', listen);
    try {
      await selectRows(t.engine.database.knex, SQL, [ids[0], ids[1]], true);
      await selectByIds(t.engine.database.knex, WEBACCOUNT, [1]);
    } finally {
      t.engine.database.knex.off('query', listen);
    }
    assert.equal(seen.length, 2);
    assert.match(seen[0]!, /"nori_api_keys" where "id" in \((\$1, \$2|\?, \?)\)/);
    assert.match(seen[1]!, /from "webaccount" where "id" in/);
  });

  // PGlite has one session and no pool: there is nothing to prepare apart, and every read goes through knex.
  if (TEST_DB === 'postgres') {
    describe('on a PostgreSQL server', () => {
      let one: Knex;
      before(async () => {
        const { rows } = (await t.engine.database.knex.raw('SELECT current_schema() AS s')) as { rows: { s: string }[] };
        one = knexFactory({ client: 'pg', connection: PG_URL, searchPath: [rows[0]!.s], pool: { min: 1, max: 1 } });
      });
      after(() => one.destroy());

      it('prepares a statement once per session, then executes it by name', async () => {
        assert.deepEqual(await preparedIn(one), []);
        for (let i = 0; i < 3; i++) await selectRows(one, SQL, [ids[0], ids[1]], true);
        const prepared = await preparedIn(one);
        assert.equal(prepared.length, 1, JSON.stringify(prepared));
        assert.equal(prepared[0]!.statement, 'select "id", "label" from "nori_api_keys" where "id" in ($1, $2) order by "id"');
      });

      it('prepares nothing when told not to, nor inside a transaction', async () => {
        const before = (await preparedIn(one)).length;
        await selectRows(one, SQL.replace('"label"', '"contact_id"'), [ids[0], ids[1]], false);
        await one.transaction((trx) => selectRows(trx, SQL.replace('"label"', '"admin"'), [ids[0], ids[1]], true));
        assert.equal((await preparedIn(one)).length, before);
      });

      it('reads a long ID list unprepared: only the short ones, of few shapes, stay in the session', async () => {
        const before = (await preparedIn(one)).map((p) => p.statement);
        await selectByIds(one, WEBACCOUNT, Array.from({ length: 17 }, (_, i) => i + 1));
        await selectByIds(one, WEBACCOUNT, [1, 2]);
        const added = (await preparedIn(one)).map((p) => p.statement).filter((s) => !before.includes(s));
        assert.equal(added.length, 1, JSON.stringify(added));
        assert.match(added[0]!, /from "webaccount" where "id" in \(\$1, \$2\) order by "id" asc$/);
      });
    });
  }
});
