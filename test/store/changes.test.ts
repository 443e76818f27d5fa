import assert from 'node:assert/strict';
import knexFactory, { type Knex } from 'knex';
import pino from 'pino';
import { createEngine } from '../../src/engine.js';
import { encodeMap } from '../../src/field-types.js';
import { ADMIN, ALICE, PG_URL, TEST_DB, TEST_KEY, useEngine } from '../helpers/engine.js';
import { authorizedAccount, call, ECHO_PLUGINS, PUBLIC_URL, seedEchoApi, startEcho, type Echo } from '../helpers/echo.js';
import { callResult, q, textAt } from '../helpers/xml.js';

/** The SQL statements `run` sends that name `table`. */
async function statementsOn(knex: Knex, table: string, run: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const listen = (d: { sql: string }) => {
    if (d.sql.includes(`"${table}"`)) seen.push(d.sql);
  };
  knex.on('query', listen);
  try {
    await run();
  } finally {
    knex.off('query', listen);
  }
  return seen;
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('caches kept by change notifications (WEBAPIs, API keys)', function () {
  this.timeout(30_000);
  const t = useEngine({ plugins: { builtins: false, ...ECHO_PLUGINS }, authorization: { publicUrl: PUBLIC_URL } });
  let echo: Echo;
  /** A connection of its own, as another process (or a CMS's own SQL) would have; PGlite has only one. */
  let other: Knex;
  before(async () => {
    echo = await startEcho();
    const { rows } = (await t.engine.database.knex.raw('SELECT current_schema() AS s')) as { rows: { s: string }[] };
    other = TEST_DB === 'postgres' ? knexFactory({ client: 'pg', connection: PG_URL, searchPath: [rows[0]!.s], pool: { min: 0, max: 1 } }) : t.engine.database.knex;
  });
  after(async () => {
    await echo.peer.close();
    if (other !== t.engine.database.knex) await other.destroy();
  });
  beforeEach(async () => {
    await t.engine.changes.sync();
    await seedEchoApi(t.engine, echo);
  });

  const hello = async (id: number) => textAt(callResult(await t.engine.execute(call(id, 'HELLO'), ALICE)), 'greeting');

  it('reads a WEBAPI once for many CALLs', async () => {
    const id = await authorizedAccount(t.engine, ALICE);
    assert.equal(t.engine.changes.live, true);
    // Any change to the table drops the cache (the callback of the authorization above has filled it).
    await other('webapi').update({ description: 'changed' }).where('denomination', 'echo');
    await t.engine.changes.sync();
    const first = await statementsOn(t.engine.database.knex, 'webapi', () => hello(id));
    const next = await statementsOn(t.engine.database.knex, 'webapi', async () => {
      for (let i = 0; i < 5; i++) assert.equal(await hello(id), 'hello');
    });
    assert.equal(first.length, 1, 'the first CALL after the change reads the row');
    assert.deepEqual(next, [], 'the next ones use the cached row');
  });

  it('a CALL after an UPDATE of the WEBAPI in the same batch sees the update, without waiting for the notification', async () => {
    const id = await authorizedAccount(t.engine, ALICE);
    assert.equal(await hello(id), 'hello');
    const hi = `<CALL><WEBACCOUNT ID="${id}"><HELLO/></WEBACCOUNT></CALL>`;
    const xml = await t.engine.execute(q(`${hi}<UPDATE><WEBAPI ID="1"><INFO><SETTINGS><GREETING>bonjour</GREETING></SETTINGS></INFO></WEBAPI></UPDATE>${hi}`), ADMIN);
    assert.doesNotMatch(xml, /errorCode=/);
    assert.deepEqual([...xml.matchAll(/<greeting>([^<]*)<\/greeting>/g)].map((m) => m[1]), ['hello', 'bonjour']);
  });

  it('a WEBAPI changed by another connection\'s SQL is seen once its notification has arrived', async () => {
    const id = await authorizedAccount(t.engine, ALICE);
    assert.equal(await hello(id), 'hello');
    await other('webapi').update({ settings: encodeMap({ GREETING: 'salut' }) }).where('denomination', 'echo');
    await t.engine.changes.sync();
    assert.equal(await hello(id), 'salut');
    // And a deactivated one is gone at once after the notification, not at the end of a time-to-live.
    await other('webapi').update({ activity: 0 }).where('denomination', 'echo');
    await until('the CALL sees the WEBAPI deactivated', async () => (await t.engine.execute(call(id, 'HELLO'), ALICE)).includes('errorCode="WEBAPI_INACTIVE"'), 5_000);
  });

  it('a known API key costs no query; a revoked one is refused at once here and after the notification elsewhere', async () => {
    const knex = t.engine.database.knex;
    const a = await t.engine.keys.create({ contactId: 2, label: 'a' });
    const b = await t.engine.keys.create({ contactId: 3, label: 'b' });
    // Creating them is a change too, which drops the cache when its notification comes.
    await t.engine.changes.sync();
    const first = await statementsOn(knex, 'nori_api_keys', () => t.engine.authenticate(a.key));
    const again = await statementsOn(knex, 'nori_api_keys', async () => {
      assert.equal((await t.engine.authenticate(a.key))?.contactId, 2);
      // The secret is checked every time, cached or not.
      assert.equal(await t.engine.authenticate(a.key.slice(0, -1) + (a.key.endsWith('A') ? 'B' : 'A')), undefined);
    });
    assert.deepEqual([first.length, again.length], [1, 0]);

    assert.equal(await t.engine.keys.revoke(a.info.keyId), true);
    assert.equal(await t.engine.authenticate(a.key), undefined, 'revoked through the engine: refused at once');

    assert.equal((await t.engine.authenticate(b.key))?.contactId, 3);
    await other('nori_api_keys').update({ revoked_at: new Date() }).where('key_id', b.info.keyId);
    await t.engine.changes.sync();
    assert.equal(await t.engine.authenticate(b.key), undefined, 'revoked by another connection: refused once notified');
  });

  it('an unknown key id is never cached: each try asks the database', async () => {
    const fake = `nori_${'0'.repeat(16)}_${'A'.repeat(43)}`;
    const asked = await statementsOn(t.engine.database.knex, 'nori_api_keys', async () => {
      for (let i = 0; i < 3; i++) assert.equal(await t.engine.authenticate(fake), undefined);
    });
    assert.equal(asked.length, 3);
  });

  if (TEST_DB === 'postgres') {
    it('caches nothing on tables that do not announce their changes (migrations not run)', async () => {
      const { rows } = (await t.engine.database.knex.raw('SELECT current_schema() AS s')) as { rows: { s: string }[] };
      await t.engine.database.knex.raw('DROP TRIGGER nori_notify_change ON webapi');
      try {
        const older = await createEngine({ database: { url: PG_URL, schema: rows[0]!.s, poolSize: 2 }, secretKeys: [TEST_KEY], migrate: false, logger: pino({ level: 'silent' }) });
        try {
          assert.equal(older.changes.live, false);
          const a = await older.keys.create({ contactId: 2 });
          const asked = await statementsOn(older.database.knex, 'nori_api_keys', async () => {
            for (let i = 0; i < 3; i++) assert.equal((await older.authenticate(a.key))?.contactId, 2);
          });
          assert.equal(asked.length, 3);
        } finally {
          await older.close();
        }
      } finally {
        await t.engine.database.knex.raw('CREATE TRIGGER nori_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON webapi FOR EACH STATEMENT EXECUTE FUNCTION nori_notify_change()');
      }
    });

    it('caches nothing while the notification connection is lost, and resumes once it is back', async () => {
      const knex = t.engine.database.knex;
      const a = await t.engine.keys.create({ contactId: 2 });
      await t.engine.changes.sync();
      await t.engine.authenticate(a.key);
      await knex.raw(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN "nori_changes"' AND application_name = 'nori changes'`);
      await until('the feed knows it is down', () => !t.engine.changes.live, 5_000);
      // A change made while no notification can arrive must not be hidden by a cached row.
      await other('nori_api_keys').update({ label: 'changed' }).where('key_id', a.info.keyId);
      const down = await statementsOn(knex, 'nori_api_keys', async () => {
        for (let i = 0; i < 3; i++) assert.equal((await t.engine.authenticate(a.key))?.contactId, 2);
      });
      assert.equal(down.length, 3, 'every request reads the key while the feed is down');
      await until('the feed is back', () => t.engine.changes.live, 10_000);
      await t.engine.authenticate(a.key);
      const up = await statementsOn(knex, 'nori_api_keys', () => t.engine.authenticate(a.key));
      assert.equal(up.length, 0, 'cached again');
    });
  }
});
