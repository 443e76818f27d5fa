/**
 * @module plugins/apis
 * A WEBAPI as the flows and CALL use it: its row, with the plugin's defaults where the row leaves a URL,
 * the scopes or a setting empty, and its client secret decrypted. The one place that merges the two, so
 * AUTHORIZE and CALL always agree on where a service is.
 */
import type { Knex } from 'knex';
import { WEBAPI } from '../../schemas/index.js';
import { decodeMap } from '../field-types.js';
import type { AuthType, OAuth1Urls, OAuth2Urls, Plugin, Revoker } from '../sdk/types.js';
import type { Cache } from '../store/changes.js';
import type { Keyring } from '../store/secrets.js';
import type { Registry } from './loader.js';

/** A WEBAPI's effective settings (CLIENT_SECRET decrypted: never log or return this object). */
export interface ApiSettings {
  readonly id: number;
  readonly name: string;
  readonly authType: AuthType;
  readonly clientId: string | null;
  readonly clientSecret: string | null;
  readonly requestTokenUrl: string | null;
  readonly authorizeUrl: string | null;
  readonly tokenUrl: string | null;
  readonly revokeUrl: string | null;
  readonly scopes: string | null;
  readonly authorizeParams: Readonly<Record<string, string>>;
  readonly baseUrl: string | null;
  readonly settings: Readonly<Record<string, string>>;
  /** The plugin that implements CALL, if any. */
  readonly plugin: Plugin | undefined;
  /** The PLUGIN the row names when no such plugin is loaded (to say so). */
  readonly missingPlugin: string | undefined;
  /** The plugin's own revocation for this auth type (hooks.revoke), if it has one; else REVOKE_URL serves. */
  readonly revoke: Revoker | undefined;
  readonly timeoutMs: number;
}

export type ApiLoader = (db: Knex, name: string) => Promise<ApiSettings | undefined>;

/** The columns of a WEBAPI row the settings are made of. */
export interface WebapiRow {
  readonly id: number;
  readonly auth_type: AuthType;
  readonly plugin: string | null;
  readonly client_id: string | null;
  readonly client_secret: string | null;
  readonly request_token_url: string | null;
  readonly authorize_url: string | null;
  readonly token_url: string | null;
  readonly revoke_url: string | null;
  readonly scopes: string | null;
  readonly base_url: string | null;
  readonly settings: string | null;
}

/** hooks.revoke for one auth type: the function, or its entry for that type. */
function revokerOf(plugin: Plugin | undefined, authType: AuthType): Revoker | undefined {
  const hook = plugin?.hooks.revoke;
  return typeof hook === 'function' ? hook : hook?.[authType];
}

/**
 * With a cache (invalidated by every change to the WEBAPI table, store/changes.ts), a CALL reads the row once
 * per change rather than once per call. Inside a transaction the row is always read: the transaction may have
 * changed it, and must see its own writes. Only the row is cached: the secret is decrypted on each use.
 */
export function createApiLoader(deps: { keyring: Keyring; registry: Registry; timeoutMs: number; cache?: Cache<WebapiRow> | undefined }): ApiLoader {
  const { keyring, registry, timeoutMs, cache } = deps;
  const read = async (db: Knex, name: string) => (await db('webapi').first('id', 'auth_type', 'plugin', 'client_id', 'client_secret', 'request_token_url', 'authorize_url', 'token_url', 'revoke_url', 'scopes', 'base_url', 'settings').where({ denomination: name, activity: 1 })) as WebapiRow | undefined;
  return async (db, name) => {
    const row = cache && !db.isTransaction ? await cache.get(name, () => read(db, name)) : await read(db, name);
    if (!row) return undefined;
    const pluginName = row.plugin ?? (registry.has(name) ? name : null);
    const plugin = pluginName ? registry.get(pluginName) : undefined;
    const authType = row.auth_type;
    const auth = plugin?.definition.auth;
    const o1 = (authType === 'oauth1' ? auth?.oauth1 : undefined) ?? ({} as Partial<OAuth1Urls>);
    const o2 = (authType === 'oauth2' ? auth?.oauth2 : undefined) ?? ({} as Partial<OAuth2Urls>);
    const defaults = Object.fromEntries(Object.entries(plugin?.definition.settings ?? {}).flatMap(([k, s]) => (s.default !== undefined ? [[k, s.default]] : [])));
    // The row already holds the encrypted secret: decrypted here rather than read again.
    const stored = row.client_secret;
    const clientSecret = stored ? keyring.decrypt(stored, 'webapi.client_secret', { element: WEBAPI.name, id: row.id }) : null;
    return {
      id: row.id,
      name,
      authType,
      clientId: row.client_id,
      clientSecret,
      requestTokenUrl: row.request_token_url ?? o1.requestTokenUrl ?? null,
      authorizeUrl: row.authorize_url ?? o1.authorizeUrl ?? o2.authorizeUrl ?? null,
      tokenUrl: row.token_url ?? o1.tokenUrl ?? o2.tokenUrl ?? null,
      revokeUrl: row.revoke_url ?? o2.revokeUrl ?? null,
      scopes: row.scopes ?? o2.scopes ?? null,
      authorizeParams: o2.authorizeParams ?? {},
      baseUrl: row.base_url ?? plugin?.definition.baseUrl ?? null,
      settings: { ...defaults, ...decodeMap(row.settings) },
      plugin,
      missingPlugin: pluginName && !plugin ? pluginName : undefined,
      revoke: revokerOf(plugin, authType),
      timeoutMs,
    };
  };
}
