/**
 * @module store/migrations/003-plugins
 * WEBAPI learns which plugin implements it and the settings that plugin declares.
 */
import type { Knex } from 'knex';
import { WEBAPI } from '../../../schemas/index.js';
import { addElementColumns } from '../columns.js';

export async function up(knex: Knex): Promise<void> {
  const { PLUGIN, SETTINGS } = WEBAPI.fields;
  await knex.schema.alterTable('webapi', (t) => addElementColumns(t, { PLUGIN, SETTINGS }));
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('webapi', (t) => {
    t.dropColumn('plugin');
    t.dropColumn('settings');
  });
}
