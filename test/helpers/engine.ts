/**
 * Engines for tests, on the database this run is for: NORI_TEST_DB=postgres (a fresh schema per engine on
 * TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test) or NORI_TEST_DB=pglite (in memory, each
 * engine its own PGlite, started from a snapshot of a migrated database).
 */
import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import knexFactory from 'knex';
import pino from 'pino';
import { createEngine, type Engine, type EngineOptions } from '../../src/engine.js';
import type { Principal } from '../../src/principal.js';
import { openDatabase } from '../../src/store/db.js';
import { migrateLatest } from '../../src/store/migrate.js';

export const TEST_DB = process.env.NORI_TEST_DB === 'postgres' ? 'postgres' : 'pglite';
export const PG_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const TEST_KEY = randomBytes(32).toString('base64');

/**
 * `describe` in the run of one database only: for a suite that needs one (PostgreSQL's statement timeout), or
 * whose database does not follow NORI_TEST_DB (real nori processes and fault tests always use PostgreSQL, the
 * embedded-folder suites always PGlite), which both runs would prove twice. The other run does not register it
 * (mocha would count it as skipped).
 */
export function describeIn(db: 'postgres' | 'pglite'): (title: string, fn: (this: Mocha.Suite) => void) => void {
  return db === TEST_DB ? describe : () => undefined;
}
const RUN = `nori_t${process.pid}_${randomBytes(3).toString('hex')}`;
const schemas: string[] = [];

export const ADMIN: Principal = Object.freeze({ contactId: 1, groups: [], admin: true });
export const ALICE: Principal = Object.freeze({ contactId: 2, groups: [10], admin: false });
export const BOB: Principal = Object.freeze({ contactId: 3, groups: [10], admin: false });
export const CAROL: Principal = Object.freeze({ contactId: 4, groups: [20], admin: false });

/** A fresh schema name on PostgreSQL, remembered for the final clean-up. */
export function freshSchema(): string {
  const schema = `${RUN}_${schemas.length}`;
  schemas.push(schema);
  return schema;
}

let snapshot: Promise<Blob> | undefined;

/**
 * A new in-memory PGlite holding nori's migrated, empty tables. Booting PGlite runs initdb (2-3 s); loading the
 * files of a database initialised once per test process takes a fraction of that, and each engine still gets a
 * database of its own, so no test sees another's rows, locks or notifications.
 */
export async function freshPglite(): Promise<PGlite> {
  snapshot ??= (async () => {
    const pglite = new PGlite();
    const db = await openDatabase({ pglite });
    try {
      await migrateLatest(db.knex);
      return await pglite.dumpDataDir('none');
    } finally {
      await db.close();
    }
  })();
  return new PGlite({ loadDataDir: await snapshot });
}

export async function makeEngine(options: Partial<EngineOptions> = {}): Promise<Engine> {
  const database = TEST_DB === 'postgres' ? { url: PG_URL, schema: freshSchema(), poolSize: 4 } : options.database ? {} : { pglite: await freshPglite() };
  return createEngine({ database, secretKeys: [TEST_KEY], logger: pino({ level: 'silent' }), ...options });
}

/** Mocha hooks: one engine for the suite, tables emptied before each test. */
export function useEngine(options: Partial<EngineOptions> = {}): { readonly engine: Engine } {
  const holder = {} as { engine: Engine };
  before(async function () {
    this.timeout(60_000);
    holder.engine = await makeEngine(options);
  });
  beforeEach(async () => {
    await holder.engine.database.knex.raw('TRUNCATE webaccount, webapi, nori_api_keys, nori_transitions, nori_pending_flows RESTART IDENTITY');
    // The WEBAPIs and keys the last test left in the caches go when the TRUNCATE's notification arrives: now.
    await holder.engine.changes.sync();
  });
  after(async () => holder.engine?.close());
  return holder;
}

export async function dropTestSchemas(): Promise<void> {
  if (!schemas.length) return;
  const knex = knexFactory({ client: 'pg', connection: PG_URL });
  try {
    for (const s of schemas) await knex.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [s]);
  } finally {
    await knex.destroy();
  }
}
