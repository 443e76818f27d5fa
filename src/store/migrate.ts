/**
 * @module store/migrate
 * Runs the migrations, which are modules compiled with nori (no directory scanning, so they work the same
 * from source, from dist/ and from an installed package).
 */
import type { Knex } from 'knex';
import * as initial from './migrations/001-initial.js';
import * as authorization from './migrations/002-authorization.js';
import * as plugins from './migrations/003-plugins.js';
import * as consents from './migrations/004-consents.js';
import * as changeNotifications from './migrations/005-change-notifications.js';
import * as pendingFlowExpiry from './migrations/006-pending-flow-expiry.js';
import * as browserBinding from './migrations/007-browser-binding.js';

interface Migration {
  readonly name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

const MIGRATIONS: readonly Migration[] = [
  { name: '001-initial', ...initial },
  { name: '002-authorization', ...authorization },
  { name: '003-plugins', ...plugins },
  { name: '004-consents', ...consents },
  { name: '005-change-notifications', ...changeNotifications },
  { name: '006-pending-flow-expiry', ...pendingFlowExpiry },
  { name: '007-browser-binding', ...browserBinding },
];

const source: Knex.MigrationSource<Migration> = {
  getMigrations: () => Promise.resolve([...MIGRATIONS]),
  getMigrationName: (m) => m.name,
  getMigration: (m) => Promise.resolve(m),
};

/** Brings the database to the latest version; returns the names of the migrations it ran. */
export async function migrateLatest(knex: Knex): Promise<string[]> {
  const [, ran] = (await knex.migrate.latest({ migrationSource: source, tableName: 'nori_migrations' })) as [number, string[]];
  return ran;
}
