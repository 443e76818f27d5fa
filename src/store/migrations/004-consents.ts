/**
 * @module store/migrations/004-consents
 * A CALL that met a consent page is kept with its pending flow, so that the callback (in any process) can run it
 * again, and its result is kept for the caller to collect once, by the call's id.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('nori_pending_flows', (t) => {
    // SHA-256 of the id given to the caller, as for the state: a database reader cannot collect a result.
    t.string('call_hash', 64).unique();
    /** Encrypted: the method and its parameters (which may hold a password). */
    t.text('pending_call');
    /** Encrypted: what running it again at the callback gave. */
    t.text('result');
    t.timestamp('result_at', { useTz: true, precision: 3 });
    t.timestamp('taken_at', { useTz: true, precision: 3 });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('nori_pending_flows', (t) => {
    for (const c of ['call_hash', 'pending_call', 'result', 'result_at', 'taken_at']) t.dropColumn(c);
  });
}
