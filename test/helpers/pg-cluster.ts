/**
 * @module test/helpers/pg-cluster
 * A PostgreSQL server of a test's own, from the machine's server binaries (Debian's
 * /usr/lib/postgresql/<version>/bin, or NORI_PG_BIN): a temporary cluster on a free port of 127.0.0.1 that the
 * test may stop and start at will without touching the shared server other suites use. PostgreSQL refuses to
 * run as root, so as root (CI) every binary runs as the `postgres` user through runuser.
 */
import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Cluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  /** `pg_ctl stop`: fast rolls back open transactions and closes every connection, as an operator's restart does. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** Stops the server (immediately) and removes its folder. */
  destroy(): Promise<void>;
}

/** The newest PostgreSQL server binaries on this machine, or a message saying how to get them. */
function binaries(): string {
  const fromEnv = process.env.NORI_PG_BIN;
  if (fromEnv) {
    if (!existsSync(join(fromEnv, 'pg_ctl'))) throw new Error(`NORI_PG_BIN=${fromEnv} has no pg_ctl`);
    return fromEnv;
  }
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl'))) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) {
    throw new Error(
      'this test starts a PostgreSQL server of its own and found no server binaries in /usr/lib/postgresql/*/bin ' +
        '(install them with `apt-get install postgresql`, or point NORI_PG_BIN at a folder holding initdb and pg_ctl)',
    );
  }
  return join(root, newest, 'bin');
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** initdb a temporary folder and start a server on a free port; the caller must destroy() it. */
export async function startCluster(): Promise<Cluster> {
  const bin = binaries();
  const asRoot = process.getuid?.() === 0;
  const dir = mkdtempSync(join(tmpdir(), 'nori-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  const owner = asRoot ? { uid: Number((await run('id', ['-u', 'postgres'])).stdout), gid: Number((await run('id', ['-g', 'postgres'])).stdout) } : undefined;
  if (owner) chownSync(dir, owner.uid, owner.gid);
  const pg = async (tool: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, tool), ...args]] : [join(bin, tool), args];
    try {
      await run(file, argv, { timeout: 30_000 });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`${tool} ${args.join(' ')} failed: ${err.stderr || err.message}\n${existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : ''}`, { cause: e });
    }
  };
  const port = await freePort();
  try {
    await pg('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
    // Settings in the file, so that a plain start after a stop gets them again. fsync off: the test stops the
    // server cleanly (a checkpoint), it never crashes the machine, and CI disks are slow.
    const settings = [`port = ${port}`, `listen_addresses = '127.0.0.1'`, `unix_socket_directories = '${dir}'`, 'max_connections = 40', 'fsync = off', ''];
    writeFileSync(join(data, 'postgresql.auto.conf'), settings.join('\n'), { flag: 'a' });
    await pg('pg_ctl', ['start', '-D', data, '-l', logFile, '-w', '-t', '30']);
  } catch (e) {
    await pg('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  let running = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    async stop(mode = 'fast') {
      await pg('pg_ctl', ['stop', '-D', data, '-m', mode, '-w', '-t', '30']);
      running = false;
    },
    async start() {
      await pg('pg_ctl', ['start', '-D', data, '-l', logFile, '-w', '-t', '30']);
      running = true;
    },
    async destroy() {
      if (running) await pg('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '30']).catch(() => {});
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
