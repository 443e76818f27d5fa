/**
 * @module nori
 * The library: embed the engine in a CMS backend, or serve it over HTTP.
 *
 * @example
 * import { createEngine } from 'nori';
 * const engine = await createEngine({ database: { dataDir: './nori-data' } });
 * const xml = await engine.execute('<QUERY><SEARCH><WEBACCOUNT/></SEARCH></QUERY>', { contactId: 7, groups: [], admin: false });
 */
export { createEngine, type Engine, type EngineOptions, type Execution } from './engine.js';
export { createServer, type ServerOptions } from './http/server.js';
export type { BrowserOptions, CallbackResult, StartResult } from './auth/service.js';
export { BINDING_COOKIE, readBindingCookies } from './auth/browser-binding.js';
export { loadConfig, ConfigError, ENV_VARS, type Config } from './config.js';
export { MESSAGES, NoriError, type MessageCode, type MsgType, type Failure } from './errors.js';
export type { Principal } from './principal.js';
export type { Answer, Outcome } from './outcome.js';
export type { ApiKeyInfo, NewApiKey } from './store/api-keys.js';
export type { DatabaseOptions } from './store/db.js';
export type { XmlLimits } from './xml/parse.js';
export * from './sdk/index.js';
export type { PluginSources, Registry } from './plugins/loader.js';
export type { WebapiOverrides } from './plugins/sync.js';
export type { CallConfig } from './call/request.js';
export { ELEMENTS, WEBACCOUNT, WEBAPI, type ElementDef, type FieldDef, type FieldType } from '../schemas/index.js';
