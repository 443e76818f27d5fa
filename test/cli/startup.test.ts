/**
 * A bad setting stops `nori serve` with a non-zero exit and one line naming the variable: never a hang (a
 * supervisor would see it running while nothing listens), never a stack trace, never a password.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PG_URL, TEST_DB, describeIn } from '../helpers/engine.js';
import { freePort } from '../helpers/pg-cluster.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

interface Exit {
  readonly code: number | null;
  readonly err: string;
}

/** `nori serve` with only `env`; killed (and the test failed) if it has not exited within `ms`. */
function serve(env: NodeJS.ProcessEnv, ms = 45_000): Promise<Exit> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/cli/nori.ts', 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, NORI_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stdout.on('data', (c: Buffer) => (err += c));
  child.stderr.on('data', (c: Buffer) => (err += c));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`nori serve had not exited after ${ms} ms:\n${err}`));
    }, ms);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, err });
    });
  });
}

const dataDir = () => ({ NORI_DATA_DIR: mkdtempSync(join(tmpdir(), 'nori-startup-')) });

/** Exits 2 with one `nori: …` line that names `variable`, and no stack frame. */
function assertRefused(r: Exit, variable: string | RegExp): void {
  assert.equal(r.code, 2, r.err);
  const line = r.err.split('\n').find((l) => l.startsWith('nori: '));
  assert.ok(line, `no "nori: …" line in:\n${r.err}`);
  if (typeof variable === 'string') assert.ok(line.includes(variable), `"${line}" does not name ${variable}`);
  else assert.match(line, variable);
  assert.ok(!r.err.split('\n').some((l) => l.trimStart().startsWith('at ')), 'no stack trace');
}

// The cases that need the PostgreSQL server run in the PostgreSQL run only (not skipped: not declared).
const onPostgres = describeIn('postgres');

describe('a bad setting stops nori serve, naming it', function () {
  this.timeout(90_000);
  // These start nori on the embedded default whatever the run: once, in the PGlite run, is enough.
  const onPglite = TEST_DB === 'pglite' ? it : () => undefined;

  onPglite('a NORI_WEBAPI_ variable of a plugin that is not loaded', async () => {
    assertRefused(await serve({ ...dataDir(), NORI_WEBAPI_NOPE_CLIENT_ID: 'x' }), 'NORI_WEBAPI_NOPE');
  });

  onPglite('a NORI_SECRET_KEY that is not 32 bytes, without echoing it', async () => {
    const r = await serve({ ...dataDir(), NORI_SECRET_KEY: 'short-but-secret' });
    assertRefused(r, 'NORI_SECRET_KEY');
    assert.ok(!r.err.includes('short-but-secret'));
  });

  onPglite('an old key in NORI_SECRET_KEYS_OLD that is not 32 bytes', async () => {
    const r = await serve({ ...dataDir(), NORI_SECRET_KEY: randomBytes(32).toString('base64'), NORI_SECRET_KEYS_OLD: 'abc' });
    assertRefused(r, 'NORI_SECRET_KEYS_OLD');
  });

  onPglite('a NORI_HOST that is not an address (not blamed on NORI_PUBLIC_URL)', async () => {
    const r = await serve({ ...dataDir(), NORI_HOST: '999.1.1.1' });
    assertRefused(r, 'NORI_HOST');
    assert.ok(!r.err.includes('NORI_PUBLIC_URL'), r.err);
  });

  onPglite('a NORI_HOST that is no address of this machine', async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never configured on a machine, so listen fails with EADDRNOTAVAIL.
    assertRefused(await serve({ ...dataDir(), NORI_HOST: '192.0.2.1', NORI_PORT: String(await freePort()) }), 'NORI_HOST');
  });

  onPglite('a NORI_PORT already in use', async () => {
    const port = await freePort();
    const taken: Server = createServer();
    await new Promise<void>((r) => taken.listen(port, '127.0.0.1', r));
    try {
      assertRefused(await serve({ ...dataDir(), NORI_PORT: String(port) }), new RegExp(`NORI_PORT.*${port}.*in use`));
    } finally {
      await new Promise((r) => taken.close(r));
    }
  });

  onPostgres('with DATABASE_URL', () => {
    const key = { NORI_SECRET_KEY: randomBytes(32).toString('base64') };

    it('a server that does not answer, without the password', async () => {
      const url = `postgres://postgres:hunter2-secret@127.0.0.1:${await freePort()}/test`;
      const r = await serve({ ...key, DATABASE_URL: url });
      assertRefused(r, 'DATABASE_URL');
      assert.ok(!r.err.includes('hunter2-secret'), r.err);
    });

    it('a database that does not exist', async () => {
      const url = new URL(PG_URL);
      url.pathname = `/nori_missing_${randomBytes(4).toString('hex')}`;
      const r = await serve({ ...key, DATABASE_URL: url.href });
      assertRefused(r, /DATABASE_URL.*does not exist/);
    });
  });
});
