/**
 * @module plugins/sync
 * Keeps a WEBAPI row for every loaded plugin, so a fresh nori lists its services at once, and writes the
 * deployment's settings from configuration into those rows (client id and secret, URLs, settings). Values an
 * admin set with UPDATE stay unless configuration sets them again: configuration wins at each start.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { WEBAPI, columnOf } from '../../schemas/index.js';
import { ConfigError } from '../config.js';
import { decodeMap, encodeMap } from '../field-types.js';
import type { Keyring } from '../store/secrets.js';
import type { Registry } from './loader.js';

/** Settings from configuration, by plugin name: WEBAPI field → value, and SETTINGS entries. */
export type WebapiOverrides = Readonly<Record<string, { readonly fields: Readonly<Record<string, string>>; readonly settings: Readonly<Record<string, string>> }>>;

const isUniqueViolation = (e: unknown) => (e as { code?: string }).code === '23505';

/** How a plugin is named in environment variables: TWITTER, MY_SERVICE. */
const envName = (name: string) => name.toUpperCase().replace(/-/g, '_');

export async function syncWebapis(knex: Knex, keyring: Keyring, registry: Registry, given: WebapiOverrides, logger: Logger): Promise<void> {
  const byEnvName = new Map([...registry.keys()].map((n) => [envName(n), n]));
  const overrides: Record<string, WebapiOverrides[string]> = {};
  for (const [key, o] of Object.entries(given)) {
    const name = byEnvName.get(envName(key));
    if (!name) throw new ConfigError(`NORI_WEBAPI_${envName(key)}_* names no loaded plugin (loaded: ${[...registry.keys()].join(', ') || 'none'})`);
    overrides[name] = o;
  }
  for (const [name, plugin] of registry) {
    const d = plugin.definition;
    let row = await knex('webapi').first('id', 'auth_type', 'settings').where({ denomination: name, activity: 1 });
    if (!row) {
      const now = new Date();
      try {
        await knex('webapi').insert({ denomination: name, description: d.description.slice(0, 1000), auth_type: d.authType, plugin: name, activity: 1, islocked: 0, creationdate: now, modificationdate: now });
      } catch (e) {
        // Another nori process starting at the same moment created it.
        if (!isUniqueViolation(e)) throw e;
      }
      row = await knex('webapi').first('id', 'auth_type', 'settings').where({ denomination: name, activity: 1 });
    }
    const o = overrides[name];
    if (o && row) {
      const update: Record<string, unknown> = {};
      for (const [field, value] of Object.entries(o.fields)) {
        const column = columnOf(field);
        update[column] = WEBAPI.fields[field as keyof typeof WEBAPI.fields].type === 'secret' ? keyring.encrypt(value, `webapi.${column}`) : value;
      }
      const unknown = Object.keys(o.settings).filter((k) => !d.settings?.[k]);
      if (unknown.length) throw new ConfigError(`plugin "${name}" has no setting ${unknown.join(', ')} (it has ${Object.keys(d.settings ?? {}).join(', ') || 'none'})`);
      if (Object.keys(o.settings).length) update.settings = encodeMap({ ...decodeMap(row.settings as string | null), ...o.settings });
      if (Object.keys(update).length) {
        await knex('webapi').update({ ...update, modificationdate: knex.raw(`GREATEST(?::timestamptz, modificationdate + interval '1 millisecond')`, [new Date()]) }).where('id', row.id);
      }
    }
    const authType = (o?.fields.AUTH_TYPE ?? row?.auth_type) as string | undefined;
    if (authType && !(authType in d.auth)) logger.warn({ plugin: name, authType }, `WEBAPI ${name} uses an auth type its plugin does not support (${Object.keys(d.auth).join(', ')})`);
  }
}
