/**
 * @module plugins/apis
 * A WEBAPI as the flows and CALL use it: its row, with the plugin's defaults where the row leaves a URL,
 * the scopes or a setting empty, and its client secret decrypted. The one place that merges the two, so
 * AUTHORIZE and CALL always agree on where a service is.
 */
import type { Knex } from 'knex';
import { WEBAPI } from '../../schemas/index.js';
import { decodeMap } from '../field-types.js';
import type { AuthType, OAuth1Urls, OAuth2Urls, Plugin } from '../sdk/types.js';
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
  readonly timeoutMs: number;
}

export type ApiLoader = (db: Knex, name: string) => Promise<ApiSettings | undefined>;

export function createApiLoader(deps: { keyring: Keyring; registry: Registry; timeoutMs: number }): ApiLoader {
  const { keyring, registry, timeoutMs } = deps;
  return async (db, name) => {
    const row = await db('webapi').first('*').where({ denomination: name, activity: 1 });
    if (!row) return undefined;
    const pluginName = (row.plugin as string | null) ?? (registry.has(name) ? name : null);
    const plugin = pluginName ? registry.get(pluginName) : undefined;
    const authType = row.auth_type as AuthType;
    const auth = plugin?.definition.auth;
    const o1 = (authType === 'oauth1' ? auth?.oauth1 : undefined) ?? ({} as Partial<OAuth1Urls>);
    const o2 = (authType === 'oauth2' ? auth?.oauth2 : undefined) ?? ({} as Partial<OAuth2Urls>);
    const defaults = Object.fromEntries(Object.entries(plugin?.definition.settings ?? {}).flatMap(([k, s]) => (s.default !== undefined ? [[k, s.default]] : [])));
    // The row already holds the encrypted secret: decrypted here rather than read again.
    const stored = row.client_secret as string | null;
    const clientSecret = stored ? keyring.decrypt(stored, 'webapi.client_secret', { element: WEBAPI.name, id: row.id as number }) : null;
    return {
      id: row.id as number,
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
      settings: { ...defaults, ...decodeMap(row.settings as string | null) },
      plugin,
      missingPlugin: pluginName && !plugin ? pluginName : undefined,
      timeoutMs,
    };
  };
}
