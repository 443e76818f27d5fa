/**
 * @module config
 * Configuration from the environment, validated once at start and frozen. Every setting is documented in
 * README.md (Configuration); a test keeps that table in step with `ENV_VARS`.
 */
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
  NORI_LOG_LEVEL: 'pino log level (fatal, error, warn, info, debug, trace, silent). Default: info.',
  NORI_PUBLIC_URL: 'Base URL browsers reach nori at; the OAuth callback is NORI_PUBLIC_URL/oauth/callback. Default: http://NORI_HOST:NORI_PORT.',
  NORI_RETURN_URLS: 'Comma-separated URL prefixes an AUTHORIZE return URL must start with (same origin, path below). Default: none (no return URL accepted).',
  NORI_FLOW_TTL_SECONDS: 'How long a started authorization may wait for its callback. Default: 600.',
  NORI_PROVIDER_TIMEOUT_MS: 'How long a call to a provider may take. Default: 10000.',
} as const;

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
  const secretKeys = [env.NORI_SECRET_KEY, ...(env.NORI_SECRET_KEYS_OLD ?? '').split(',')]
    .map((k) => k?.trim() ?? '')
    .filter((k) => k !== '');

  const host = env.NORI_HOST || '127.0.0.1';
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
    logLevel,
  });
}
