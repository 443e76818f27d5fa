/**
 * @module store/migrations/007-browser-binding
 * Each redirect flow is bound to the browser that follows its start link (auth/browser-binding.ts): the start
 * link's token and the browser's cookie are kept only as SHA-256, the provider's URL (which carries the state)
 * encrypted, and how a flow ended, so a callback after a revocation can say so. A flow started before this
 * migration has no start link and no bound browser: its callback is refused, and the user authorizes again.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('nori_pending_flows', (t) => {
    /** SHA-256 of the token in the start link (`/oauth/start?flow=…`), which works once. */
    t.string('start_hash', 64).unique();
    /** Encrypted: where the start link sends the browser (the provider's authorize URL or a consent page). */
    t.text('provider_url');
    t.timestamp('started_at', { useTz: true, precision: 3 });
    /** SHA-256 of the binding cookie the start link set: the callback must bring the value. */
    t.string('browser_hash', 64);
    /** Why used_at is set: finished (its callback), superseded (a newer flow), revoked (the account). */
    t.string('ended', 16);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('nori_pending_flows', (t) => {
    for (const c of ['start_hash', 'provider_url', 'started_at', 'browser_hash', 'ended']) t.dropColumn(c);
  });
}
