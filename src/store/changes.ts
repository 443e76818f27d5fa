/**
 * @module store/changes
 * Caches of rows that are read on every request and rarely written (API keys, WEBAPIs), kept correct across
 * every process sharing the database: triggers (migration 005) NOTIFY a change to those tables when it commits,
 * and each process drops what it cached of the table when told. The database stays the only truth:
 * - a write of this process drops the cache at once ({@link ChangeFeed.changed}), before its answer is sent;
 * - a write of another process is seen once its notification arrives (on loopback, well under a millisecond
 *   after the commit; {@link ChangeFeed.sync} waits for it);
 * - while the notification connection is down nothing is cached, and everything cached before is dropped;
 * - a value loaded while a change arrived is not kept, and every entry expires after `ttlMs` anyway.
 */
import { randomBytes } from 'node:crypto';
import type { Database } from './db.js';

/** The tables whose changes are announced (migration 005 puts the trigger on each). */
export type WatchedTable = 'webapi' | 'nori_api_keys';

export const CHANNEL = 'nori_changes';
const SYNC = 'sync:';

export interface Cache<V> {
  /** The cached value for `key`, else `load(key)`'s, kept when the table did not change meanwhile. */
  get(key: string, load: () => Promise<V | undefined>): Promise<V | undefined>;
}

export interface ChangeFeed {
  /** Whether notifications arrive, so that caches are used. */
  readonly live: boolean;
  cache<V>(table: WatchedTable, options?: { max?: number; ttlMs?: number }): Cache<V>;
  /** This process committed a change to the table: its caches drop what they hold now. */
  changed(table: WatchedTable): void;
  /** Resolves once every change committed before the call, by any process, has been seen (or the feed is down). */
  sync(): Promise<void>;
  close(): Promise<void>;
}

interface Entry<V> {
  readonly value: V;
  readonly expires: number;
}

/** Caches nothing: for a database whose tables do not announce their changes. */
const NO_FEED: ChangeFeed = {
  live: false,
  cache: () => ({ get: (_key, load) => load() }),
  changed: () => {},
  sync: async () => {},
  close: async () => {},
};

/**
 * Starts listening. `schema` is the schema of nori's tables: several nori databases can share one PostgreSQL
 * database in different schemas, and the changes of the others are ignored. Without the triggers of migration
 * 005 (an engine started with `migrate: false` on an older database) nothing is cached: `onNoTriggers` says so.
 */
export async function createChangeFeed(db: Database, schema: string, onNoTriggers: () => void = () => {}): Promise<ChangeFeed> {
  const { rows } = (await db.knex.raw(
    `SELECT count(*)::int AS n FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace s ON s.oid = c.relnamespace
     WHERE t.tgname = 'nori_notify_change' AND s.nspname = ? AND c.relname IN ('webapi', 'nori_api_keys')`,
    [schema],
  )) as { rows: { n: number }[] };
  if (rows[0]!.n < 2) {
    onNoTriggers();
    return NO_FEED;
  }
  let live = false;
  /** Bumped by every change and every loss of the feed: a load that straddles one is not kept. */
  const generations = new Map<WatchedTable, number>();
  const stores = new Map<WatchedTable, Set<Map<string, Entry<unknown>>>>();
  const waiting = new Map<string, () => void>();

  const changed = (table: WatchedTable) => {
    generations.set(table, (generations.get(table) ?? 0) + 1);
    for (const store of stores.get(table) ?? []) store.clear();
  };
  const all = () => {
    for (const table of stores.keys()) changed(table);
  };

  const prefix = `${schema}.`;
  const unlisten = await db.listen(
    CHANNEL,
    (payload) => {
      if (payload.startsWith(SYNC)) return waiting.get(payload.slice(SYNC.length))?.();
      if (payload.startsWith(prefix)) changed(payload.slice(prefix.length) as WatchedTable);
    },
    (up) => {
      live = up;
      all();
      // Nothing sent while the feed was down will come: let the waiters go.
      if (!up) for (const release of waiting.values()) release();
    },
  );

  return {
    get live() {
      return live;
    },
    changed,
    cache<V>(table: WatchedTable, options: { max?: number; ttlMs?: number } = {}): Cache<V> {
      const max = options.max ?? 10_000;
      const ttlMs = options.ttlMs ?? 30_000;
      const store = new Map<string, Entry<V>>();
      if (!stores.has(table)) stores.set(table, new Set());
      stores.get(table)!.add(store as Map<string, Entry<unknown>>);
      return {
        async get(key, load) {
          if (!live) return load();
          const hit = store.get(key);
          if (hit && hit.expires > Date.now()) return hit.value;
          const generation = generations.get(table) ?? 0;
          const value = await load();
          if (value === undefined || !live || generations.get(table) !== generation) return value;
          // The oldest entry goes first (a Map keeps insertion order).
          if (store.size >= max) store.delete(store.keys().next().value!);
          store.set(key, { value, expires: Date.now() + ttlMs });
          return value;
        },
      };
    },
    async sync() {
      if (!live) return;
      const token = randomBytes(8).toString('hex');
      const seen = new Promise<void>((resolve) => waiting.set(token, resolve));
      try {
        // Notifications are delivered in commit order: this one comes after every change committed before it.
        await db.knex.raw('SELECT pg_notify(?, ?)', [CHANNEL, SYNC + token]);
        await seen;
      } finally {
        waiting.delete(token);
      }
    },
    async close() {
      live = false;
      all();
      for (const release of waiting.values()) release();
      await unlisten();
    },
  };
}
