/**
 * @module store/migrations/006-pending-flow-expiry
 * Dead pending flows are purged by their deadline (auth/pending-flows.ts): an index keeps that purge, which every
 * new flow runs, from scanning the live ones.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('nori_pending_flows', (t) => {
    t.index(['expires_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('nori_pending_flows', (t) => {
    t.dropIndex(['expires_at']);
  });
}
