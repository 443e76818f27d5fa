/**
 * The embedded database's folder is its owner's alone: created 0700, every file PGlite wrote (WAL, pg_control,
 * catalogs) without group or other bits, and a folder that others can write is refused at start.
 */
import assert from 'node:assert/strict';
import { chmodSync, lstatSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ConfigError } from '../../src/config.js';
import { createEngine } from '../../src/engine.js';
import { openDatabase } from '../../src/store/db.js';
import { ADMIN, describeIn } from '../helpers/engine.js';
import { expectOk, only, q } from '../helpers/xml.js';

/** Every file and folder under `dir` that group or others may read, write or enter, with its mode. */
function loose(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true }) as string[]) {
    const st = lstatSync(join(dir, entry));
    if (!st.isSymbolicLink() && st.mode & 0o077) out.push(`${entry} ${(st.mode & 0o777).toString(8)}`);
  }
  return out;
}

describeIn('pglite')('the embedded data folder', function () {
  this.timeout(60_000);
  const logger = pino({ level: 'silent' });
  const saved = process.umask(0o022); // the usual umask, whatever the test runner had
  after(() => process.umask(saved));

  it('is created 0700, and no file under it is open to group or others, after writes and after close', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'nori-dd-')), 'data');
    const engine = await createEngine({ database: { dataDir: dir }, logger });
    try {
      assert.equal(statSync(dir).mode & 0o777, 0o700);
      for (let i = 0; i < 20; i++) {
        expectOk(only(await engine.execute(q(`<CREATE><WEBAPI><INFO><DENOMINATION>api-${i}</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><CLIENT_SECRET>s-${i}</CLIENT_SECRET></INFO></WEBAPI></CREATE>`), ADMIN)));
      }
      await engine.database.knex.raw('CHECKPOINT');
      assert.ok(readdirSync(join(dir, 'pgdata', 'pg_wal')).length > 0, 'PGlite wrote its WAL here');
      assert.deepEqual(loose(dir), [], 'while open');
    } finally {
      await engine.close();
    }
    assert.deepEqual(loose(dir), [], 'after close');
  });

  it('tightens an existing folder that others can only read, as older versions made it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nori-dd-'));
    chmodSync(dir, 0o755);
    const db = await openDatabase({ dataDir: dir });
    await db.close();
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.deepEqual(loose(dir), []);
  });

  it('refuses to start on a folder that group or others can write, naming NORI_DATA_DIR and the fix', async () => {
    for (const mode of [0o777, 0o770, 0o702]) {
      const dir = mkdtempSync(join(tmpdir(), 'nori-dd-'));
      chmodSync(dir, mode);
      await assert.rejects(createEngine({ database: { dataDir: dir }, logger }), (e: Error) => {
        assert.ok(e instanceof ConfigError, String(e));
        assert.equal(e.message, `NORI_DATA_DIR ${dir} can be written by other users (mode ${mode.toString(8)}): they could read or corrupt the embedded database and its key; run chmod 700 ${dir}`);
        return true;
      });
      assert.deepEqual(readdirSync(dir), [], 'nothing was written into it: no key, no database');
      await assert.rejects(openDatabase({ dataDir: dir }), /run chmod 700/);
    }
  });
});
