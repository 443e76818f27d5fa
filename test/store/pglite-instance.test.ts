import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ConfigError } from '../../src/config.js';
import { createEngine } from '../../src/engine.js';
import { ADMIN, freshPglite, TEST_KEY } from '../helpers/engine.js';
import { expectOk, only } from '../helpers/xml.js';

describe('an embedded database given as a PGlite instance', function () {
  this.timeout(60_000);

  it('holds what the engine writes, and closes with the engine', async () => {
    const pglite = await freshPglite();
    const engine = await createEngine({ database: { pglite }, secretKeys: [TEST_KEY], plugins: { builtins: false }, logger: pino({ level: 'silent' }) });
    assert.equal(engine.database.kind, 'pglite');
    expectOk(only(await engine.execute('<QUERY><CREATE><WEBAPI><INFO><DENOMINATION>given</DENOMINATION><AUTH_TYPE>apikey</AUTH_TYPE></INFO></WEBAPI></CREATE></QUERY>', ADMIN)));
    const rows = await pglite.query<{ denomination: string }>('SELECT denomination FROM webapi');
    assert.deepEqual(rows.rows.map((r) => r.denomination), ['given']);
    await engine.close();
    assert.equal(pglite.closed, true);
  });

  it('refuses an instance together with a folder or a URL, before touching either', async () => {
    const pglite = await freshPglite();
    const dir = join(tmpdir(), `nori-never-${process.pid}`);
    try {
      for (const other of [{ dataDir: dir }, { url: 'postgres://nobody@127.0.0.1:1/none' }]) {
        await assert.rejects(createEngine({ database: { pglite, ...other }, secretKeys: [TEST_KEY], logger: pino({ level: 'silent' }) }), (e: Error) => {
          assert.ok(e instanceof ConfigError, e.message);
          assert.match(e.message, /either a URL, a folder or a PGlite instance/);
          return true;
        });
      }
      assert.equal(existsSync(dir), false, 'the folder was not created');
      assert.equal(pglite.closed, false, 'an instance nori did not take is not closed');
    } finally {
      await pglite.close();
    }
  });
});
