/**
 * @module store/db
 * Opens the database: PostgreSQL through `pg` when a URL is given, else the embedded PGlite (one connection,
 * in a data folder or in memory). The only module besides the store's own that knows which one it is.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import pg from 'pg';
import lockfile from 'proper-lockfile';
import { ConfigError } from '../config.js';

// PostgreSQL returns bigint (COUNT) and numeric as strings; nori's counts fit in a double.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => Number(v));

export type DatabaseKind = 'postgres' | 'pglite';

export interface DatabaseOptions {
  /** PostgreSQL connection string. Absent: PGlite. */
  readonly url?: string | undefined;
  /** Schema for nori's tables on PostgreSQL (created if missing). */
  readonly schema?: string | undefined;
  /** Folder for PGlite's files; absent (with no url) means in memory. */
  readonly dataDir?: string | undefined;
  /**
   * A PGlite instance to use instead of making one (no url, no dataDir): for a program that already runs PGlite,
   * or that starts many in-memory databases from one snapshot (`new PGlite({ loadDataDir })`), as test suites do.
   * nori closes it with the engine.
   */
  readonly pglite?: PGlite | undefined;
  /** Most pooled connections to PostgreSQL. */
  readonly poolSize?: number;
  /** Told when the PGlite folder's lock was lost (its file removed, or refreshes starved). */
  readonly onLockLost?: (err: Error) => void;
  /** Where the driver's own warnings go (a connection lost or refused); absent: nowhere. */
  readonly logger?: { warn(fields: object, message: string): void } | undefined;
}

export interface Database {
  readonly knex: Knex;
  readonly kind: DatabaseKind;
  /**
   * Receives the NOTIFY payloads of a channel: on a connection of its own outside the pool (PostgreSQL), or on
   * PGlite's one. `onLive(false)` says delivery stopped (the connection was lost: what was sent meanwhile is
   * lost too) and `onLive(true)` that it runs again; a lost connection is opened again by itself. Returns the
   * unsubscribe.
   */
  listen(channel: string, onPayload: (payload: string) => void, onLive: (live: boolean) => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

/**
 * knex prints its warnings with console.log, on stdout, where `nori serve` writes its JSON log lines: a
 * database outage would interleave thousands of multi-line stack traces with them. They go to the logger
 * instead, one line each, without the stack (the error reaching a command is logged with its incident anyway).
 */
function driverLog(logger: DatabaseOptions['logger']): Knex.Config['log'] {
  const warn = (message: unknown) => logger?.warn({ driver: String(message).split('\n', 1)[0]!.slice(0, 300) }, 'database driver warning');
  return { warn, error: warn, deprecate: warn, debug: () => {} };
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  const log = driverLog(options.logger);
  if (options.url) {
    const schema = options.schema;
    const knex = knexFactory({
      client: 'pg',
      // A server that drops packets must not hold the start (or a request) forever: pg waits without end by default.
      connection: { connectionString: options.url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
      acquireConnectionTimeout: CONNECT_TIMEOUT_MS,
      pool: { min: 0, max: options.poolSize ?? 10 },
      log,
      ...(schema ? { searchPath: [schema] } : {}),
    });
    try {
      // The first connection says at once whether the server, the database and the role are there.
      await knex.raw(schema ? 'CREATE SCHEMA IF NOT EXISTS ??' : 'SELECT 1', schema ? [schema] : []);
    } catch (cause) {
      await knex.destroy().catch(() => {});
      throw new DatabaseUnreachableError(options.url, cause);
    }
    const listeners = new Set<() => Promise<void>>();
    return {
      knex,
      kind: 'postgres',
      async listen(channel, onPayload, onLive) {
        const stop = listenPg(options.url!, channel, onPayload, onLive, options.logger);
        const unsubscribe = async () => {
          listeners.delete(unsubscribe);
          await stop();
        };
        listeners.add(unsubscribe);
        return unsubscribe;
      },
      async close() {
        await Promise.all([...listeners].map((u) => u()));
        await knex.destroy();
      },
    };
  }
  const release = options.dataDir ? await lockDataDir(options.dataDir, options.onLockLost) : async () => {};
  // nori holds the PGlite instance (in memory without a folder) to LISTEN on it; knex-pglite takes it through a
  // connection function, which knex does not deep-clone as it does a connection object.
  const pglite = options.pglite ?? new PGlite(options.dataDir ? join(options.dataDir, 'pgdata') : undefined);
  if (options.dataDir) {
    await pglite.waitReady;
    tightenDataDir(options.dataDir);
  }
  const connection = (() => ({ pglite })) as unknown as Knex.StaticConnectionConfig;
  const knex = knexFactory({ client: ClientPgLite, dialect: 'postgres', connection, log });
  return {
    knex,
    kind: 'pglite',
    async listen(channel, onPayload, onLive) {
      // One process, one connection: delivery never stops while the database is open.
      const unsubscribe = await pglite.listen(channel, onPayload);
      onLive(true);
      return async () => {
        if (!pglite.closed) await unsubscribe();
      };
    },
    close: async () => {
      await knex.destroy();
      if (options.dataDir) tightenDataDir(options.dataDir);
      await release();
    },
  };
}

/** How long opening a PostgreSQL connection may take. */
const CONNECT_TIMEOUT_MS = 10_000;

/**
 * The PostgreSQL server of a URL cannot be used: not reachable, no such database, the role refused. The message
 * names the server and database, never the password, and says what the server or the network answered.
 */
export class DatabaseUnreachableError extends Error {
  override name = 'DatabaseUnreachableError';
  constructor(url: string, cause: unknown) {
    const err = cause as { code?: string; message?: string };
    let where = 'the PostgreSQL server';
    try {
      const u = new URL(url);
      where = `PostgreSQL at ${u.hostname || 'the local socket'}${u.port ? `:${u.port}` : ''}${u.pathname.length > 1 ? `, database "${decodeURIComponent(u.pathname.slice(1))}"` : ''}`;
    } catch {
      // not a URL: pg reads key=value strings too; say nothing of it, it may hold the password
    }
    const why =
      err.code === '3D000' ? 'the database does not exist'
      : err.code === '28P01' || err.code === '28000' ? 'the server refused the role or its password'
      : err.code === 'ECONNREFUSED' ? 'nothing listens there (connection refused)'
      : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' ? 'the host name does not resolve'
      : /timeout/i.test(err.message ?? '') ? `no answer within ${CONNECT_TIMEOUT_MS / 1000} s`
      : `${err.code ?? 'error'}: ${(err.message ?? '').split('\n', 1)[0]!.slice(0, 200)}`;
    super(`cannot use ${where}: ${why}`, { cause });
  }
}

/**
 * Makes the embedded database's folder its owner's alone, before anything is written into it: created 0700; an
 * existing one that others may only read (as older versions left it) tightened to 0700; one that group or others
 * can write refused, since whoever can write it could have planted files, swapped the key or the WAL.
 * A folder that others cannot enter is what guards the files in it, whatever their own modes.
 */
export function prepareDataDir(dataDir: string): void {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const st = statSync(dataDir);
  if (!st.isDirectory()) throw new ConfigError(`NORI_DATA_DIR ${dataDir} is not a folder`);
  const mode = st.mode & 0o777;
  if (mode & 0o022) {
    throw new ConfigError(`NORI_DATA_DIR ${dataDir} can be written by other users (mode ${mode.toString(8)}): they could read or corrupt the embedded database and its key; run chmod 700 ${dataDir}`);
  }
  if (mode & 0o077) chmodSync(dataDir, mode & 0o700);
}

/**
 * PGlite's NODEFS gives the files initdb wrote mode 0666 with an explicit chmod (Emscripten's FS.open chmods
 * what it creates to the mode the wasm asked for), so the process umask does not reach them; postgres's own
 * later files are 0600, but some (pg_internal.init) come back 0644 at each start. The folder being 0700 is what
 * keeps others out; this walk, once PGlite is up and again at close, drops the group and other bits of
 * everything under it too, so that a copy or backup that keeps modes does not open the WAL to everyone.
 * About a thousand entries: a few milliseconds.
 */
function tightenDataDir(dataDir: string): void {
  for (const entry of readdirSync(dataDir, { recursive: true }) as string[]) {
    const path = join(dataDir, entry);
    try {
      const st = lstatSync(path);
      if (!st.isSymbolicLink() && st.mode & 0o077) chmodSync(path, st.mode & 0o700);
    } catch (e) {
      // A file postgres removed between the listing and the chmod (a recycled WAL segment, a temp file).
      if ((e as { code?: string }).code !== 'ENOENT') throw e;
    }
  }
}

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

/**
 * PGlite is one process's database: two processes writing one folder corrupt it, and PGlite takes no lock of
 * its own. The lock is refreshed while held and counts as stale 15 s after its holder died.
 */
async function lockDataDir(dataDir: string, onLockLost: (err: Error) => void = () => {}): Promise<() => Promise<void>> {
  prepareDataDir(dataDir);
  try {
    return await lockfile.lock(dataDir, { lockfilePath: join(dataDir, 'nori.lock'), stale: 15_000, update: 5_000, retries: 0, onCompromised: onLockLost });
  } catch (cause) {
    if ((cause as { code?: string }).code !== 'ELOCKED') throw cause;
    throw new DataDirInUseError(
      `the embedded database in ${dataDir} is in use by another nori process; stop it first, or share a PostgreSQL server through DATABASE_URL`,
      { cause },
    );
  }
}

/**
 * LISTEN on a pg client of its own, opened again after a loss (1 s, doubling to 30 s): notifications are not
 * queued for a listener that is gone, so the caller is told delivery stopped and drops what it relied on.
 */
function listenPg(url: string, channel: string, onPayload: (payload: string) => void, onLive: (live: boolean) => void, logger: DatabaseOptions['logger']): () => Promise<void> {
  let client: pg.Client | undefined;
  let stopped = false;
  let delay = 1000;
  let timer: NodeJS.Timeout | undefined;
  const lost = (c: pg.Client, err?: Error) => {
    if (client !== c) return;
    client = undefined;
    onLive(false);
    c.removeAllListeners('notification');
    c.on('error', () => {}); // a late error of a dead client must not crash the process
    void c.end().catch(() => {});
    if (stopped) return;
    if (err) logger?.warn({ driver: err.message.slice(0, 300), retryMs: delay }, 'lost the database connection that receives change notifications');
    timer = setTimeout(connect, delay);
    timer.unref();
    delay = Math.min(delay * 2, 30_000);
  };
  const connect = async () => {
    const c = new pg.Client({ connectionString: url, application_name: 'nori changes' });
    client = c;
    c.on('error', (err) => lost(c, err));
    c.on('end', () => lost(c));
    c.on('notification', (n) => {
      if (n.channel === channel) onPayload(n.payload ?? '');
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
      if (stopped || client !== c) return void c.end().catch(() => {});
      delay = 1000;
      onLive(true);
    } catch (err) {
      lost(c, err as Error);
    }
  };
  void connect();
  return async () => {
    stopped = true;
    clearTimeout(timer);
    const c = client;
    client = undefined;
    if (c) {
      onLive(false);
      await c.end().catch(() => {});
    }
  };
}
