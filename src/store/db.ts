/**
 * @module store/db
 * Opens the database: PostgreSQL through `pg` when a URL is given, else the embedded PGlite (one connection,
 * in a data folder or in memory). The only module besides the store's own that knows which one it is.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import ClientPgLite from 'knex-pglite';
import pg from 'pg';
import lockfile from 'proper-lockfile';

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
      connection: options.url,
      pool: { min: 0, max: options.poolSize ?? 10 },
      log,
      ...(schema ? { searchPath: [schema] } : {}),
    });
    if (schema) await knex.raw('CREATE SCHEMA IF NOT EXISTS ??', [schema]);
    return { knex, kind: 'postgres', close: () => knex.destroy() };
  }
  const release = options.dataDir ? await lockDataDir(options.dataDir, options.onLockLost) : async () => {};
  // knex-pglite reads `filename`; an empty object means in memory.
  const connection = (options.dataDir ? { filename: join(options.dataDir, 'pgdata') } : {}) as Knex.StaticConnectionConfig;
  const knex = knexFactory({ client: ClientPgLite, dialect: 'postgres', connection, log });
  return {
    knex,
    kind: 'pglite',
    close: async () => {
      await knex.destroy();
      await release();
    },
  };
}

export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

/**
 * PGlite is one process's database: two processes writing one folder corrupt it, and PGlite takes no lock of
 * its own. The lock is refreshed while held and counts as stale 15 s after its holder died.
 */
async function lockDataDir(dataDir: string, onLockLost: (err: Error) => void = () => {}): Promise<() => Promise<void>> {
  mkdirSync(dataDir, { recursive: true });
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
