/**
 * @module config
 * Configuration from the environment, validated once at start and frozen. Every setting is documented in
 * README.md (Configuration); a test keeps that table in step with `ENV_VARS`.
 */
import { WEBAPI } from '../schemas/index.js';
import { isIP } from 'node:net';
import { DEFAULT_BUDGET, type BudgetConfig } from './budget.js';
import { isReadError, readValue } from './field-types.js';
import { parseKey } from './store/secrets.js';
import type { CallConfig } from './call/request.js';
import type { WebapiOverrides } from './plugins/sync.js';
import { DEFAULT_LIMITS, type XmlLimits } from './xml/parse.js';

export interface Config {
  /** PostgreSQL connection string; absent means the embedded PGlite in `dataDir`. */
  readonly databaseUrl: string | undefined;
  /** PostgreSQL schema nori's tables live in (search_path); absent means the server's default. */
  readonly databaseSchema: string | undefined;
  /** Folder of the embedded database and its generated key. */
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  /** Encryption keys, newest first: NORI_SECRET_KEY then NORI_SECRET_KEYS_OLD. Empty: generated on the embedded default. */
  readonly secretKeys: readonly string[];
  readonly limits: Readonly<XmlLimits>;
  /** Largest PAGINATE display a SEARCH may ask for. */
  readonly maxPageSize: number;
  readonly logLevel: string;
  /** Base URL browsers reach nori at (the OAuth callback is below it). */
  readonly publicUrl: string;
  /** Allowed prefixes of AUTHORIZE return URLs. */
  readonly returnUrls: readonly string[];
  readonly flowTtlSeconds: number;
  readonly providerTimeoutMs: number;
  /** Extra plugin folders and npm packages. */
  readonly plugins: { readonly dirs: readonly string[]; readonly packages: readonly string[] };
  readonly calls: Readonly<CallConfig>;
  /** What one request may spend: RESPONSE bytes, rows read, wall time. */
  readonly budget: Readonly<BudgetConfig>;
  /** NORI_WEBAPI_<PLUGIN>_<FIELD> and NORI_WEBAPI_<PLUGIN>_SETTINGS_<NAME>, by upper-case plugin name. */
  readonly webapis: WebapiOverrides;
}

/** Every environment variable nori reads, with its meaning, for the README table. */
export const ENV_VARS = {
  DATABASE_URL: 'PostgreSQL connection string. Unset: embedded PGlite in NORI_DATA_DIR.',
  NORI_DB_SCHEMA: 'PostgreSQL schema for nori\'s tables (created if missing). Default: the server\'s search_path.',
  NORI_DATA_DIR: 'Folder of the embedded database and its generated key. Default: ./.nori-data.',
  NORI_HOST: 'Address the HTTP server listens on. Default: 127.0.0.1.',
  NORI_PORT: 'Port the HTTP server listens on. Default: 8080.',
  NORI_SECRET_KEY: 'Key that encrypts secrets at rest: 32 bytes as base64 or 64 hex characters. Required with DATABASE_URL.',
  NORI_SECRET_KEYS_OLD: 'Older keys, comma-separated, still accepted for reading during a rotation.',
  NORI_MAX_BODY_BYTES: `Largest request body. Default: ${DEFAULT_LIMITS.maxBytes}.`,
  NORI_MAX_DEPTH: `Deepest element nesting. Default: ${DEFAULT_LIMITS.maxDepth}.`,
  NORI_MAX_ELEMENTS: `Most elements in one request. Default: ${DEFAULT_LIMITS.maxElements}.`,
  NORI_MAX_ATTRIBUTES: `Most attributes on one element. Default: ${DEFAULT_LIMITS.maxAttributes}.`,
  NORI_MAX_ATTRIBUTE_LENGTH: `Longest attribute value. Default: ${DEFAULT_LIMITS.maxAttributeLength}.`,
  NORI_MAX_TEXT_LENGTH: `Longest text of one element. Default: ${DEFAULT_LIMITS.maxTextLength}.`,
  NORI_MAX_COMMANDS: `Most commands in one QUERY. Default: ${DEFAULT_LIMITS.maxCommands}.`,
  NORI_MAX_PAGE_SIZE: 'Largest PAGINATE display. Default: 1000.',
  NORI_MAX_RESPONSE_BYTES: `Most bytes of one RESPONSE; past it, the commands not yet run answer BUDGET_RESPONSE_BYTES. Default: ${DEFAULT_BUDGET.maxResponseBytes}.`,
  NORI_MAX_REQUEST_ROWS: `Most rows the reads of one request may return; past it, BUDGET_ROWS. Default: ${DEFAULT_BUDGET.maxRows}.`,
  NORI_REQUEST_TIMEOUT_MS: `Most time one request's commands may take, its CALLs' service requests included; past it, BUDGET_TIME. Default: ${DEFAULT_BUDGET.timeoutMs}.`,
  NORI_LOG_LEVEL: 'pino log level (fatal, error, warn, info, debug, trace, silent). Default: info.',
  NORI_PUBLIC_URL: 'Base URL browsers reach nori at; AUTHORIZE\'s start link is NORI_PUBLIC_URL/oauth/start and the OAuth callback NORI_PUBLIC_URL/oauth/callback (its https makes the binding cookie Secure). Default: http://NORI_HOST:NORI_PORT.',
  NORI_RETURN_URLS: 'Comma-separated URL prefixes an AUTHORIZE return URL must start with (same origin, path below). Default: none (no return URL accepted).',
  NORI_FLOW_TTL_SECONDS: 'How long a started authorization (its start link, binding cookie and callback) stays good. Default: 600.',
  NORI_PROVIDER_TIMEOUT_MS: 'How long a call to a provider may take during AUTHORIZE, the callback, refresh and revocation. Default: 10000.',
  NORI_PLUGINS: 'Comma-separated npm packages whose default export is a plugin (docs/plugins.md). Default: none.',
  NORI_PLUGIN_DIRS: 'Comma-separated folders holding plugin folders, besides nori\'s own plugins/. Default: none.',
  NORI_CALL_TIMEOUT_MS: 'How long one attempt of a CALL\'s request to a service may take. Default: 10000.',
  NORI_CALL_MAX_ATTEMPTS: 'Most attempts of one service request (429 always, timeouts and 5xx only for idempotent methods). Default: 4.',
  NORI_CALL_BUDGET_MS: 'Most time one service request may take, retries and waits included. Default: 30000.',
  NORI_CALL_MAX_RESPONSE_BYTES: 'Largest answer read from a service. Default: 33554432.',
  NORI_BLOCK_PRIVATE_TARGETS: 'true refuses every service address that is not public unicast (private, loopback, link-local, reserved, and the IPv6 forms carrying such an IPv4 address), checked at each connection of CALL, key checks and every OAuth request, against server-side request forgery. Default: false.',
} as const;

/** WEBAPI fields a deployment may set per plugin from the environment: NORI_WEBAPI_<PLUGIN>_<FIELD>. */
export const WEBAPI_ENV_FIELDS = ['AUTH_TYPE', 'CLIENT_ID', 'CLIENT_SECRET', 'BASE_URL', 'REQUEST_TOKEN_URL', 'AUTHORIZE_URL', 'TOKEN_URL', 'REVOKE_URL', 'SCOPES'] as const;

/** NORI_WEBAPI_TWITTER_CLIENT_ID=… and NORI_WEBAPI_DROPBOX_SETTINGS_CONTENT_URL=…, checked like an UPDATE would. */
function webapiOverrides(env: NodeJS.ProcessEnv): WebapiOverrides {
  const out: Record<string, { fields: Record<string, string>; settings: Record<string, string> }> = {};
  for (const [key, value] of Object.entries(env)) {
    if (!key.startsWith('NORI_WEBAPI_') || value === undefined || value === '') continue;
    const rest = key.slice('NORI_WEBAPI_'.length);
    const settingAt = rest.indexOf('_SETTINGS_');
    const field = WEBAPI_ENV_FIELDS.find((f) => rest.endsWith(`_${f}`));
    const name = settingAt > 0 ? rest.slice(0, settingAt) : field ? rest.slice(0, -field.length - 1) : '';
    if (!name) throw new ConfigError(`${key} is not NORI_WEBAPI_<PLUGIN>_<FIELD> with FIELD one of ${WEBAPI_ENV_FIELDS.join(', ')}, nor NORI_WEBAPI_<PLUGIN>_SETTINGS_<NAME>`);
    const entry = (out[name] ??= { fields: {}, settings: {} });
    if (settingAt > 0) {
      entry.settings[rest.slice(settingAt + '_SETTINGS_'.length)] = value;
      continue;
    }
    const v = readValue(value, WEBAPI.fields[field!]);
    if (v === null || isReadError(v)) throw new ConfigError(`${key} is not a valid ${field}${isReadError(v) && v.kind === 'invalid' ? ` (${v.expected})` : ''}`);
    entry.fields[field!] = String(v);
  }
  return out;
}

function flag(env: NodeJS.ProcessEnv, name: keyof typeof ENV_VARS): boolean {
  const raw = (env[name] ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true' || raw === '1') return true;
  throw new ConfigError(`${name} must be true or false, not "${env[name]}"`);
}

const list = (raw: string | undefined) => (raw ?? '').split(',').map((s) => s.trim()).filter(Boolean);

export class ConfigError extends Error {
  override name = 'ConfigError';
}

function positiveInt(env: NodeJS.ProcessEnv, name: keyof typeof ENV_VARS, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new ConfigError(`${name} must be a positive whole number, not "${raw}"`);
  return n;
}

function httpUrl(value: string | undefined, label: keyof typeof ENV_VARS, fallback = ''): string {
  const raw = value || fallback;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(`${label} must be an absolute http or https URL, not "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${label} must be an http or https URL, not "${raw}"`);
  return raw;
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']);
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** The keys of one variable, each checked here so that a bad one is named before anything starts (never shown). */
function keysOf(env: NodeJS.ProcessEnv, name: 'NORI_SECRET_KEY' | 'NORI_SECRET_KEYS_OLD'): string[] {
  const raw = env[name] ?? '';
  const keys = (name === 'NORI_SECRET_KEYS_OLD' ? raw.split(',') : [raw]).map((k) => k.trim()).filter((k) => k !== '');
  keys.forEach((k, i) => {
    try {
      parseKey(k);
    } catch {
      const which = name === 'NORI_SECRET_KEYS_OLD' ? ` (key ${i + 1} of the list)` : '';
      throw new ConfigError(`${name}${which} must be 32 bytes, written as 64 hex characters or as base64 (it is ${k.length} characters)`);
    }
  });
  return keys;
}

/**
 * An IP address or a host name. Checked on its own: the default NORI_PUBLIC_URL is built from it, and a bad host
 * would otherwise be reported as a bad URL (`999.1.1.1` is no IPv4 address, and URL parsing refuses it).
 */
function listenHost(host: string): string {
  if (isIP(host)) return host;
  let parsed: string | undefined;
  try {
    parsed = new URL(`http://${host}/`).hostname;
  } catch {
    parsed = undefined;
  }
  // A name URL parsing rewrote (case aside) was not a plain host name: an IPv4 shorthand, a port, a path.
  if (parsed === undefined || parsed !== host.toLowerCase() || isIP(parsed)) {
    throw new ConfigError(`NORI_HOST must be an IP address or a host name, not "${host}"`);
  }
  return host;
}

/** Reads and checks the environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = positiveInt(env, 'NORI_PORT', 8080);
  if (port > 65535) throw new ConfigError(`NORI_PORT must be at most 65535, not ${port}`);
  const logLevel = env.NORI_LOG_LEVEL || 'info';
  if (!LOG_LEVELS.has(logLevel)) throw new ConfigError(`NORI_LOG_LEVEL must be one of ${[...LOG_LEVELS].join(', ')}`);
  const databaseSchema = env.NORI_DB_SCHEMA || undefined;
  if (databaseSchema !== undefined && !SCHEMA_NAME.test(databaseSchema)) {
    throw new ConfigError('NORI_DB_SCHEMA must be a lower-case identifier (letters, digits, underscore)');
  }
  const secretKeys = [...keysOf(env, 'NORI_SECRET_KEY'), ...keysOf(env, 'NORI_SECRET_KEYS_OLD')];

  const host = listenHost(env.NORI_HOST || '127.0.0.1');
  const publicUrl = httpUrl(env.NORI_PUBLIC_URL, 'NORI_PUBLIC_URL', `http://${host.includes(':') ? `[${host}]` : host}:${port}`);
  const returnUrls = (env.NORI_RETURN_URLS ?? '').split(',').map((u) => u.trim()).filter(Boolean).map((u) => httpUrl(u, 'NORI_RETURN_URLS'));

  return Object.freeze({
    publicUrl,
    returnUrls: Object.freeze(returnUrls),
    flowTtlSeconds: positiveInt(env, 'NORI_FLOW_TTL_SECONDS', 600),
    providerTimeoutMs: positiveInt(env, 'NORI_PROVIDER_TIMEOUT_MS', 10_000),
    databaseUrl: env.DATABASE_URL || undefined,
    databaseSchema,
    dataDir: env.NORI_DATA_DIR || '.nori-data',
    host,
    port,
    secretKeys: Object.freeze(secretKeys),
    limits: Object.freeze({
      maxBytes: positiveInt(env, 'NORI_MAX_BODY_BYTES', DEFAULT_LIMITS.maxBytes),
      maxDepth: positiveInt(env, 'NORI_MAX_DEPTH', DEFAULT_LIMITS.maxDepth),
      maxElements: positiveInt(env, 'NORI_MAX_ELEMENTS', DEFAULT_LIMITS.maxElements),
      maxAttributes: positiveInt(env, 'NORI_MAX_ATTRIBUTES', DEFAULT_LIMITS.maxAttributes),
      maxAttributeLength: positiveInt(env, 'NORI_MAX_ATTRIBUTE_LENGTH', DEFAULT_LIMITS.maxAttributeLength),
      maxTextLength: positiveInt(env, 'NORI_MAX_TEXT_LENGTH', DEFAULT_LIMITS.maxTextLength),
      maxCommands: positiveInt(env, 'NORI_MAX_COMMANDS', DEFAULT_LIMITS.maxCommands),
    }),
    maxPageSize: positiveInt(env, 'NORI_MAX_PAGE_SIZE', 1000),
    budget: Object.freeze({
      maxResponseBytes: positiveInt(env, 'NORI_MAX_RESPONSE_BYTES', DEFAULT_BUDGET.maxResponseBytes),
      maxRows: positiveInt(env, 'NORI_MAX_REQUEST_ROWS', DEFAULT_BUDGET.maxRows),
      timeoutMs: positiveInt(env, 'NORI_REQUEST_TIMEOUT_MS', DEFAULT_BUDGET.timeoutMs),
    }),
    logLevel,
    plugins: Object.freeze({ dirs: list(env.NORI_PLUGIN_DIRS), packages: list(env.NORI_PLUGINS) }),
    calls: Object.freeze({
      timeoutMs: positiveInt(env, 'NORI_CALL_TIMEOUT_MS', 10_000),
      maxAttempts: positiveInt(env, 'NORI_CALL_MAX_ATTEMPTS', 4),
      budgetMs: positiveInt(env, 'NORI_CALL_BUDGET_MS', 30_000),
      maxResponseBytes: positiveInt(env, 'NORI_CALL_MAX_RESPONSE_BYTES', 32 * 1024 * 1024),
      blockPrivateTargets: flag(env, 'NORI_BLOCK_PRIVATE_TARGETS'),
    }),
    webapis: Object.freeze(webapiOverrides(env)),
  });
}
