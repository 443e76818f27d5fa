/**
 * @module store/migrations/002-authorization
 * The authorization flows' tables: every state transition of an account, and the pending flows (state, PKCE
 * verifier, request-token secret, return URL), kept in the database so any nori process can finish a flow.
 */
import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('nori_transitions', (t) => {
    t.bigIncrements('id').primary();
    t.integer('account_id').notNullable().references('id').inTable('webaccount').onDelete('CASCADE');
    t.string('from_state', 16).notNullable();
    t.string('to_state', 16).notNullable();
    t.string('event', 32).notNullable();
    t.integer('contact_id');
    t.timestamp('at', { useTz: true, precision: 3 }).notNullable();
    t.string('reason', 1000);
    t.index(['account_id', 'id']);
  });
  await knex.schema.createTable('nori_pending_flows', (t) => {
    t.increments('id').primary();
    // SHA-256 of the state: a database reader cannot replay a flow from this table.
    t.string('state_hash', 64).notNullable().unique();
    t.integer('account_id').notNullable().references('id').inTable('webaccount').onDelete('CASCADE');
    t.integer('contact_id').notNullable();
    t.string('kind', 16).notNullable();
    t.string('request_token', 512);
    t.text('secret');
    t.string('return_url', 2048);
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable();
    t.timestamp('expires_at', { useTz: true, precision: 3 }).notNullable();
    t.timestamp('used_at', { useTz: true, precision: 3 });
    t.index(['account_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('nori_pending_flows');
  await knex.schema.dropTable('nori_transitions');
}
