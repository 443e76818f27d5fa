/**
 * @module engine
 * The embeddable engine: a request body in, a RESPONSE document out. The path is a straight line:
 * parse → validate → run (store) → build.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { createAuthService, type AuthConfig, type BrowserOptions, type CallbackResult, type ConsentResumer, type Credentials, type KeyChecker, type PluginRevoker, type StartResult } from './auth/service.js';
import { runBatch, type Item } from './batch.js';
import { DEFAULT_BUDGET, RequestBudget, type BudgetConfig } from './budget.js';
import { createLogger } from './log.js';
import { scrubbedLogs } from './scrub.js';
import { createHttpClient } from './call/http-client.js';
import type { Resolver } from './call/targets.js';
import type { CallConfig } from './call/request.js';
import { createCallService } from './call/service.js';
import { createApiLoader } from './plugins/apis.js';
import { loadPlugins, type PluginSources, type Registry } from './plugins/loader.js';
import { syncWebapis, type WebapiOverrides } from './plugins/sync.js';
import { VERBS, type Verb } from './commands.js';
import { ConfigError } from './config.js';
import { MESSAGES, NoriError, failure, type Failure } from './errors.js';
import type { Answer } from './outcome.js';
import { checkPrincipal, type Principal } from './principal.js';
import { authenticate, createApiKey, listApiKeys, revokeApiKey, type ApiKeyInfo, type LiveKey, type NewApiKey } from './store/api-keys.js';
import { createChangeFeed, type ChangeFeed } from './store/changes.js';
import { openDatabase, prepareDataDir, type Database, type DatabaseOptions } from './store/db.js';
import { KEY_FILE, readKeyFiles, rotateKeyFile } from './store/key-file.js';
import { migrateLatest } from './store/migrate.js';
import { rotateSecrets, type RotationReport } from './store/rotate.js';
import { createKeyring, generateKey, parseKey, type Keyring } from './store/secrets.js';
import { validateCommand } from './validate.js';
import { buildRequestFailure } from './xml/build.js';
import { DEFAULT_LIMITS, parseXml, type XmlLimits, type XmlNode } from './xml/parse.js';

export interface EngineOptions {
  /** Where the data lives. Default: PGlite in memory (give `dataDir` to keep it, `url` for PostgreSQL). */
  readonly database?: DatabaseOptions;
  /**
   * Keys that encrypt secrets at rest, newest first (32 bytes, base64 or hex). Required with PostgreSQL;
   * on PGlite in a data folder a key is generated once into `<dataDir>/secret.key`.
   */
  readonly secretKeys?: readonly string[];
  readonly limits?: Partial<XmlLimits>;
  /** Largest PAGINATE display. Default 1000. */
  readonly maxPageSize?: number;
  /** The authorization flows: public URL, return-URL allowlist, timeouts. */
  readonly authorization?: Partial<AuthConfig>;
  /** Where plugins come from: nori's own (default on), extra folders, npm packages. */
  readonly plugins?: PluginSources;
  /** Deployment settings of plugin WEBAPIs (client id and secret, URLs, SETTINGS), written into their rows at start. */
  readonly webapis?: WebapiOverrides;
  /** CALL's deadlines, retries and limits. */
  readonly calls?: Partial<CallConfig>;
  /**
   * What one request may spend: bytes of RESPONSE, rows read, wall time (defaults 32 MiB, 100,000 rows, 60 s).
   * Past one, the commands not yet run answer its MESSAGE and run nothing (docs/commands.md, Budgets).
   */
  readonly budget?: Partial<BudgetConfig>;
  /** Run migrations on start. Default true. */
  readonly migrate?: boolean;
  /**
   * The resolver the private-target guard uses (NORI_BLOCK_PRIVATE_TARGETS) for every connection nori opens and
   * for the early check of AUTHORIZE. Default: the system's dns.lookup. For split-horizon DNS, or a test standing
   * in for a rebinding DNS server.
   */
  readonly resolve?: Resolver;
  readonly logger?: Logger;
}

/** What one request produced: the document, and the HTTP status it maps to (200 unless refused whole). */
export interface Execution {
  readonly status: number;
  readonly xml: string;
  readonly answers: readonly Answer[];
}

export interface Engine {
  /**
   * Runs a batch for a principal and returns the RESPONSE document.
   * @example
   * const engine = await createEngine({ database: { dataDir: './data' } });
   * const xml = await engine.execute('<QUERY><SEARCH><WEBAPI/></SEARCH></QUERY>', { contactId: 1, groups: [], admin: false });
   */
  execute(body: string | Uint8Array, principal: Principal): Promise<string>;
  /** Like execute, with the HTTP status and the answers as data. */
  run(body: string | Uint8Array, principal: Principal): Promise<Execution>;
  /**
   * Follows a start link (the `flow` parameter of the url AUTHORIZE answered): once, it binds the flow to the
   * browser and gives the provider's URL to send it to (303). The browser must keep `browserBinding` (nori's
   * own route sets `cookie`) and bring it to the callback. `browserBinding`: the value this browser already
   * holds, if any, so its other open flows stay bound to it.
   * @example
   * const r = await engine.startAuthorization(flow, { browserBinding: req.cookies.nori_flow });
   * if (r.location) return reply.header('set-cookie', r.cookie).redirect(r.location, 303);
   */
  startAuthorization(flow: string, options?: BrowserOptions): Promise<StartResult>;
  /**
   * Finishes an authorization from the callback's query string (any process can: the flow is in the database),
   * if `browserBinding` is the value its start link gave this browser; otherwise CALLBACK_UNBOUND, and the flow
   * stays open for its own browser.
   * @example
   * const r = await engine.finishAuthorization(new URLSearchParams(query), { browserBinding: req.cookies.nori_flow });
   */
  finishAuthorization(query: URLSearchParams, options?: BrowserOptions): Promise<CallbackResult>;
  /** A usable access token for an authorized account, refreshed first when stale (single-flight across processes). */
  credentials(accountId: number, options?: { rejected?: string }): Promise<Credentials | Failure>;
  /** The principal behind an API key, or undefined. */
  authenticate(key: string): Promise<Principal | undefined>;
  readonly keys: {
    create(spec: NewApiKey): Promise<{ key: string; info: ApiKeyInfo }>;
    list(): Promise<ApiKeyInfo[]>;
    revoke(idOrKeyId: string | number): Promise<boolean>;
  };
  /** The loaded plugins, by name. */
  readonly plugins: Registry;
  /** Whether the database answers. */
  healthy(): Promise<boolean>;
  /** Runs pending migrations; returns their names. */
  migrate(): Promise<string[]>;
  /**
   * Re-encrypts every stored secret with the current key. On the embedded default with its own key file, the
   * file moves to the new key too (the first of `secretKeys`, else the key of an interrupted rotation, else a
   * fresh one), safely at every step (store/key-file.ts); the engine encrypts with that key from then on.
   */
  rotateSecrets(): Promise<RotationReport>;
  readonly database: Database;
  /**
   * How this process hears of changes to the WEBAPIs and API keys it caches. A CMS that writes those tables
   * with its own SQL and then runs a batch that must see the change awaits `changes.sync()` in between.
   */
  readonly changes: Pick<ChangeFeed, 'live' | 'sync'>;
  readonly keyring: Keyring;
  readonly logger: Logger;
  close(): Promise<void>;
}

function resolveKeys(options: EngineOptions, logger: Logger): string[] {
  const given = options.secretKeys ?? [];
  const db = options.database ?? {};
  if (db.url) {
    if (!given.length) throw new ConfigError('NORI_SECRET_KEY is required with DATABASE_URL: secrets are encrypted at rest');
    return [...given];
  }
  if (!db.dataDir) {
    if (given.length) return [...given];
    logger.warn('no NORI_SECRET_KEY: secrets of this in-memory database are encrypted with a throw-away key');
    return [generateKey()];
  }
  // The folder's own keys are read after the given ones: the one in use without NORI_SECRET_KEY, and the one of a
  // rotation a crash interrupted (store/key-file.ts).
  let files = readKeyFiles(db.dataDir);
  if (!given.length && !files.current) {
    writeFileSync(join(db.dataDir, KEY_FILE), generateKey() + '\n', { mode: 0o600, flag: 'wx' });
    logger.warn({ file: join(db.dataDir, KEY_FILE) }, 'no NORI_SECRET_KEY: generated a key for the embedded database; back it up, or secrets are lost with it');
    files = readKeyFiles(db.dataDir);
  }
  return [...new Set([...given, files.current, files.next].filter((k): k is string => k !== undefined))];
}

const DEFAULT_AUTH: AuthConfig = {
  publicUrl: 'http://127.0.0.1:8080',
  returnUrls: [],
  flowTtlSeconds: 600,
  providerTimeoutMs: 10_000,
  refreshSkewSeconds: 60,
};

const DEFAULT_CALLS: CallConfig = { timeoutMs: 10_000, maxAttempts: 4, budgetMs: 30_000, maxResponseBytes: 32 * 1024 * 1024 };

const requestFailure = (f: Failure): Execution => ({ status: MESSAGES[f.code].status, xml: buildRequestFailure(f), answers: [] });

function commandLabel(node: XmlNode): { verb: Verb | undefined; name: string | undefined } {
  const verb = (VERBS as readonly string[]).includes(node.name) ? (node.name as Verb) : undefined;
  return { verb, name: node.attributes.name };
}

export async function createEngine(options: EngineOptions = {}): Promise<Engine> {
  // What the start opened so far, closed again (newest first) when a later step fails: a bad setting found after
  // the database was opened would otherwise leave its pool and timers running, and the process would never exit.
  const opened: (() => Promise<void>)[] = [];
  try {
    return await startEngine(options, opened);
  } catch (e) {
    for (const close of opened.reverse()) await close().catch(() => {});
    throw e;
  }
}

async function startEngine(options: EngineOptions, opened: (() => Promise<void>)[]): Promise<Engine> {
  const logger = options.logger ?? createLogger({ level: 'warn' });
  const limits: XmlLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const validateOptions = { maxPageSize: options.maxPageSize ?? 1000, maxIds: 1000 };
  // Plugins first: a broken one stops the start before anything touches the database.
  const plugins = await loadPlugins(options.plugins);
  const dbOptions = options.database ?? {};
  if (dbOptions.pglite && (dbOptions.dataDir || dbOptions.url)) throw new ConfigError('give the database either a URL, a folder or a PGlite instance, not two of them');
  if (dbOptions.dataDir && !dbOptions.url) prepareDataDir(dbOptions.dataDir);
  const keyring = createKeyring(resolveKeys(options, logger).map(parseKey));
  const database = await openDatabase({ ...dbOptions, logger: dbOptions.logger ?? logger, onLockLost: (err) => logger.error({ err: err.message }, 'lost the lock on the embedded database folder') });
  opened.push(() => database.close());
  const knex: Knex = database.knex;
  if (options.migrate ?? true) await migrateLatest(knex);
  const callConfig = { ...DEFAULT_CALLS, ...options.calls };
  const authConfig = { ...DEFAULT_AUTH, blockPrivateTargets: callConfig.blockPrivateTargets, ...options.authorization };
  const { rows: [{ schema }] } = (await knex.raw('SELECT current_schema() AS schema')) as { rows: [{ schema: string }] };
  const changes = await createChangeFeed(database, schema, () => logger.warn('the tables do not announce their changes (migration 005 has not run): WEBAPIs and API keys are read on every request'));
  opened.push(() => changes.close());
  const keyCache = changes.cache<LiveKey>('nori_api_keys');
  const loadApi = createApiLoader({ keyring, registry: plugins, timeoutMs: authConfig.providerTimeoutMs, cache: changes.cache('webapi') });
  const http = createHttpClient({ maxResponseBytes: callConfig.maxResponseBytes, blockPrivateTargets: (callConfig.blockPrivateTargets || authConfig.blockPrivateTargets) ?? false, ...(options.resolve ? { resolve: options.resolve } : {}) });
  opened.push(() => http.close());
  // AUTHORIZE of an API key asks the plugin through CALL's machinery; the two services need each other.
  const checkKey: KeyChecker = (...args) => calls.checkKey(...args);
  const revokeWithPlugin: PluginRevoker = (...args) => calls.revokeWithPlugin(...args);
  const resumeConsent: ConsentResumer = (flow) => calls.resumeConsent(flow);
  // The services that handle provider text log only through a scrubber (src/scrub.ts).
  const logs = scrubbedLogs(logger);
  const auth = createAuthService({ knex, keyring, logs, config: authConfig, http, resolve: options.resolve, loadApi, checkKey, revokeWithPlugin, resumeConsent });
  const calls = createCallService({ knex, keyring, logs, auth, authConfig, loadApi, http, config: callConfig });
  if (options.migrate ?? true) await syncWebapis(knex, keyring, plugins, options.webapis ?? {}, logger);
  const deps = { knex, keyring, logger, auth, calls, plugins, changed: changes.changed, statementTimeouts: database.kind === 'postgres' };
  const budgetConfig: BudgetConfig = { ...DEFAULT_BUDGET, ...options.budget };

  async function run(body: string | Uint8Array, given: Principal): Promise<Execution> {
    const principal = checkPrincipal(given);
    let root: XmlNode;
    // Each command is validated as soon as it is parsed, and its elements let go (a 20 MB batch kept a tree of
    // hundreds of MB); only its label stays, for the answer.
    const items: Item[] = [];
    const labels: ReturnType<typeof commandLabel>[] = [];
    try {
      root = parseXml(body, limits, (node) => {
        labels.push(commandLabel(node));
        items.push(validateCommand(node, validateOptions));
      });
    } catch (e) {
      if (e instanceof NoriError) return requestFailure(e.failure);
      throw e;
    }
    if (root.name !== 'QUERY') return requestFailure(failure('XML_ROOT', { name: root.name }, root));
    for (const [name, value] of Object.entries(root.attributes)) {
      if (name !== 'atomic' || (value !== 'true' && value !== 'false')) return requestFailure(failure('QUERY_ATTRIBUTE', { name }, root));
    }
    if (root.text.trim() !== '') return requestFailure(failure('UNEXPECTED_TEXT', { parent: 'QUERY', text: root.text.trim().slice(0, 40) }, root));
    const budget = new RequestBudget(budgetConfig, labels);
    const outcomes = await runBatch(deps, items, principal, root.attributes.atomic === 'true', budget);
    const answers = outcomes.map((outcome, i) => ({ ...labels[i]!, outcome }));
    return { status: 200, xml: budget.response(outcomes), answers };
  }

  return {
    run,
    execute: async (body, principal) => (await run(body, principal)).xml,
    authenticate: (key) => authenticate(knex, key, keyCache),
    startAuthorization: (flow, opts) => auth.start(flow, opts),
    finishAuthorization: (query, opts) => auth.finish(query, opts),
    credentials: (id, opts) => auth.credentials(id, opts),
    keys: {
      create: (spec) => createApiKey(knex, spec),
      list: () => listApiKeys(knex),
      async revoke(id) {
        const revoked = await revokeApiKey(knex, id);
        changes.changed('nori_api_keys');
        return revoked;
      },
    },
    async healthy() {
      try {
        await knex.raw('SELECT 1');
        return true;
      } catch {
        return false;
      }
    },
    migrate: () => migrateLatest(knex),
    async rotateSecrets() {
      const dir = dbOptions.url ? undefined : dbOptions.dataDir;
      const files = dir ? readKeyFiles(dir) : {};
      // Keys given by the environment alone: nothing on disk to follow them.
      if (!dir || !files.current) return rotateSecrets(knex, keyring);
      const target = options.secretKeys?.[0] ?? files.next ?? generateKey();
      return rotateKeyFile(dir, target, () => keyring.adopt(parseKey(target)), () => rotateSecrets(knex, keyring));
    },
    plugins,
    database,
    changes,
    keyring,
    logger,
    async close() {
      await http.close();
      await changes.close();
      await database.close();
    },
  };
}
