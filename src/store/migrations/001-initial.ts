/**
 * @module store/migrations/001-initial
 * The element tables, built from the element definitions as they stand at this migration, and the API keys.
 * Later changes to a definition come with a migration of their own; test/store/schema.test.ts checks that the
 * migrated tables and the definitions agree column for column.
 */
import type { Knex } from 'knex';
import { WEBACCOUNT, WEBAPI, type ElementDef } from '../../../schemas/index.js';
import { addElementColumns } from '../columns.js';

/** Fields later migrations add: this migration must build the tables as they stood when it was written. */
const ADDED_LATER: Readonly<Record<string, readonly string[]>> = { WEBAPI: ['PLUGIN', 'SETTINGS'] };

function createElementTable(knex: Knex, element: ElementDef): Knex.SchemaBuilder {
  const later = ADDED_LATER[element.name] ?? [];
  const fields = Object.fromEntries(Object.entries(element.fields).filter(([name]) => !later.includes(name)));
  return knex.schema.createTable(element.table, (t) => addElementColumns(t, fields));
}

export async function up(knex: Knex): Promise<void> {
  await createElementTable(knex, WEBAPI);
  await knex.raw('CREATE UNIQUE INDEX webapi_denomination_active ON webapi (denomination) WHERE activity = 1');
  await createElementTable(knex, WEBACCOUNT);
  await knex.schema.alterTable('webaccount', (t) => {
    t.index(['ownerid']);
    t.index(['groupid']);
    t.index(['api']);
    t.index(['creationdate']);
  });
  await knex.schema.createTable('nori_api_keys', (t) => {
    t.increments('id').primary();
    t.string('key_id', 32).notNullable().unique();
    t.string('secret_hash', 64).notNullable();
    t.integer('contact_id').notNullable();
    t.specificType('groups', 'integer[]').notNullable().defaultTo('{}');
    t.boolean('admin').notNullable().defaultTo(false);
    t.string('label', 255).notNullable().defaultTo('');
    t.timestamp('created_at', { useTz: true, precision: 3 }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('revoked_at', { useTz: true, precision: 3 });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('nori_api_keys');
  await knex.schema.dropTable('webaccount');
  await knex.schema.dropTable('webapi');
}
