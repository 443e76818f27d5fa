/**
 * @module store/migrations/005-change-notifications
 * Every committed change to the WEBAPI rows and the API keys is announced on the `nori_changes` channel, with
 * `<schema>.<table>` as payload, so that each nori process drops what it cached of them (store/changes.ts).
 * A trigger rather than a NOTIFY in nori's code: a change made by hand, by another version or by a CMS's own
 * SQL is announced too. One notification per statement, not per row: a cache drops the whole table anyway.
 */
import type { Knex } from 'knex';

const TABLES = ['webapi', 'nori_api_keys'];

export async function up(knex: Knex): Promise<void> {
  await knex.raw(`
    CREATE FUNCTION nori_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM pg_notify('nori_changes', TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME);
      RETURN NULL;
    END $$`);
  for (const table of TABLES) {
    await knex.raw('CREATE TRIGGER nori_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON ?? FOR EACH STATEMENT EXECUTE FUNCTION nori_notify_change()', [table]);
  }
}

export async function down(knex: Knex): Promise<void> {
  for (const table of TABLES) await knex.raw('DROP TRIGGER IF EXISTS nori_notify_change ON ??', [table]);
  await knex.raw('DROP FUNCTION IF EXISTS nori_notify_change()');
}
