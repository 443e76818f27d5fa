/**
 * @module cli/main
 * The `nori` command: serve, exec, migrate, keys. Configuration comes from the environment (README).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino, { type Logger } from 'pino';
import { ConfigError, loadConfig, type Config } from '../config.js';
import { createEngine, type Engine } from '../engine.js';
import { NoriError } from '../errors.js';
import { createServer } from '../http/server.js';
import { createLogger } from '../log.js';
import type { Principal } from '../principal.js';
import { PluginLoadError } from '../plugins/check.js';
import { DatabaseUnreachableError, DataDirInUseError } from '../store/db.js';
import { KEY_FILE } from '../store/key-file.js';
import { ScaffoldError, scaffoldPlugin } from './scaffold.js';

const USAGE = `nori: XML commands over WEBAPI and WEBACCOUNT

  nori serve                         start the HTTP server (NORI_HOST:NORI_PORT)
  nori exec <file.xml|-> --key KEY   run a batch as the key's principal, print the RESPONSE
  nori exec <file.xml|-> --contact N [--groups 1,2] [--admin]
                                     run a batch as that principal (local administration)
  nori migrate                       run pending database migrations
  nori keys create --contact N [--groups 1,2] [--admin] [--label TEXT]
  nori keys list
  nori keys revoke <id|key-id>
  nori secrets rotate                re-encrypt every secret with NORI_SECRET_KEY (older keys in NORI_SECRET_KEYS_OLD);
                                     on the embedded default, its secret.key moves to the new key (a fresh one without NORI_SECRET_KEY)
  nori plugin new <name> [--dir DIR] write a working plugin and its test into DIR/<name> (default DIR: plugins)

Configuration is read from the environment; see README.md.`;

class UsageError extends Error {}

function openEngine(config: Config, logger: Logger, migrate = true): Promise<Engine> {
  return createEngine({
    database: config.databaseUrl
      ? { url: config.databaseUrl, schema: config.databaseSchema, logger }
      : { dataDir: config.dataDir, logger },
    secretKeys: config.secretKeys,
    limits: config.limits,
    maxPageSize: config.maxPageSize,
    authorization: {
      publicUrl: config.publicUrl,
      returnUrls: config.returnUrls,
      flowTtlSeconds: config.flowTtlSeconds,
      providerTimeoutMs: config.providerTimeoutMs,
    },
    plugins: config.plugins,
    calls: config.calls,
    budget: config.budget,
    webapis: config.webapis,
    migrate,
    logger,
  });
}

function groupsOf(text: string | undefined): number[] {
  if (!text) return [];
  return text.split(',').map((g) => {
    const n = Number(g.trim());
    if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--groups takes positive whole numbers, not "${g}"`);
    return n;
  });
}

function contactOf(text: string | undefined): number {
  const n = Number(text);
  if (!text || !Number.isSafeInteger(n) || n < 1) throw new UsageError('--contact takes a positive whole number');
  return n;
}

/**
 * A newcomer on the embedded default has no key and cannot run `nori keys create` beside the running server
 * (the folder is locked), so the first start writes an admin key to a file only its user can read.
 */
async function bootstrapAdminKey(engine: Engine, config: Config, logger: Logger): Promise<void> {
  const file = join(config.dataDir, 'admin.key');
  if (config.databaseUrl || existsSync(file) || (await engine.keys.list()).length) return;
  const { key } = await engine.keys.create({ contactId: 1, admin: true, label: 'bootstrap (admin.key)' });
  writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' });
  logger.warn({ file }, 'no API key yet: wrote an admin key for contact 1 to this file; revoke it once you have your own');
}

/** Why the server could not listen, naming the variable to change; undefined for an error of another kind. */
function listenProblem(e: unknown, config: Config): string | undefined {
  const address = `${config.host}:${config.port}`;
  switch ((e as { code?: string }).code) {
    case 'EADDRINUSE':
      return `NORI_PORT ${config.port} is already in use on ${config.host} (another process listens at ${address}); choose another NORI_PORT or stop that process`;
    case 'EACCES':
      return `NORI_PORT ${config.port} needs privileges this process does not have; choose a port above 1023`;
    case 'EADDRNOTAVAIL':
      return `NORI_HOST ${config.host} is not an address of this machine; use one of its addresses, 127.0.0.1 or 0.0.0.0`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `NORI_HOST ${config.host} does not resolve to an address`;
    default:
      return undefined;
  }
}

async function serve(config: Config, logger: Logger): Promise<number> {
  const engine = await openEngine(config, logger);
  const app = createServer({ engine, logger, maxBodyBytes: config.limits.maxBytes });
  try {
    await bootstrapAdminKey(engine, config, logger);
    await app.listen({ host: config.host, port: config.port });
  } catch (e) {
    await app.close().catch(() => {});
    await engine.close();
    const problem = listenProblem(e, config);
    if (problem) throw new ConfigError(problem, { cause: e });
    throw e;
  }
  logger.info({ database: engine.database.kind, url: `http://${config.host}:${config.port}/` }, 'nori is listening');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down: finishing requests in flight');
      void app.close().then(() => engine.close()).then(resolve, (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        resolve();
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  return 0;
}

async function exec(engine: Engine, positionals: string[], values: Record<string, string | boolean | undefined>): Promise<number> {
  const source = positionals[0];
  if (!source) throw new UsageError('exec needs a file, or - for standard input');
  const body = readFileSync(source === '-' ? 0 : source);
  let principal: Principal | undefined;
  if (typeof values.key === 'string') {
    principal = await engine.authenticate(values.key);
    if (!principal) throw new UsageError('the --key is unknown or revoked');
  } else {
    principal = { contactId: contactOf(values.contact as string | undefined), groups: groupsOf(values.groups as string | undefined), admin: values.admin === true };
  }
  const result = await engine.run(body, principal);
  process.stdout.write(result.xml + '\n');
  return result.status === 200 ? 0 : 1;
}

async function keys(engine: Engine, positionals: string[], values: Record<string, string | boolean | undefined>): Promise<number> {
  const [action, target] = positionals;
  if (action === 'create') {
    const { key, info } = await engine.keys.create({
      contactId: contactOf(values.contact as string | undefined),
      groups: groupsOf(values.groups as string | undefined),
      admin: values.admin === true,
      label: (values.label as string | undefined) ?? '',
    });
    console.error(`created key ${info.id} (${info.keyId}) for contact ${info.principal.contactId}; it is shown once:`);
    process.stdout.write(key + '\n');
    return 0;
  }
  if (action === 'list') {
    for (const k of await engine.keys.list()) {
      const p = k.principal;
      console.log([k.id, k.keyId, `contact=${p.contactId}`, `groups=${p.groups.join(',') || '-'}`, p.admin ? 'admin' : 'user', k.revokedAt ? 'revoked' : 'active', k.label].join('\t'));
    }
    return 0;
  }
  if (action === 'revoke') {
    if (!target) throw new UsageError('keys revoke needs an id or key id');
    // A whole key pasted here names its key by its id part; the secret part is never printed back.
    const whole = /^nori_([0-9a-f]{16})_/.exec(target);
    const id = whole ? whole[1]! : target;
    const done = await engine.keys.revoke(id);
    console.error(done ? `revoked ${id}` : `no active key ${id}`);
    return done ? 0 : 1;
  }
  throw new UsageError('keys takes create, list or revoke');
}

/** Runs the CLI; returns the exit code. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        key: { type: 'string' },
        contact: { type: 'string' },
        groups: { type: 'string' },
        admin: { type: 'boolean' },
        label: { type: 'string' },
        dir: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    console.error(`${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const [command, ...rest] = parsed.positionals;
  if (!command || parsed.values.help || command === 'help') {
    console.log(USAGE);
    return command || parsed.values.help ? 0 : 2;
  }
  let engine: Engine | undefined;
  try {
    if (command === 'plugin') {
      if (rest[0] !== 'new' || !rest[1]) throw new UsageError('plugin takes new <name>');
      for (const file of scaffoldPlugin(rest[1], (parsed.values.dir as string | undefined) ?? 'plugins')) console.error(`wrote ${file}`);
      console.error(`run its test: npx mocha ${join((parsed.values.dir as string | undefined) ?? 'plugins', rest[1], `${rest[1]}.test.ts`)}`);
      return 0;
    }
    const config = loadConfig(env);
    if (command === 'serve') return await serve(config, createLogger({ level: config.logLevel }));
    const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel }, pino.destination(2));
    switch (command) {
      case 'migrate': {
        engine = await openEngine(config, logger, false);
        const ran = await engine.migrate();
        console.error(ran.length ? `ran ${ran.join(', ')}` : 'already up to date');
        return 0;
      }
      case 'exec':
        engine = await openEngine(config, logger);
        return await exec(engine, rest, parsed.values);
      case 'keys':
        engine = await openEngine(config, logger);
        return await keys(engine, rest, parsed.values);
      case 'secrets': {
        if (rest[0] !== 'rotate') throw new UsageError('secrets takes rotate');
        engine = await openEngine(config, logger);
        const { rewritten } = await engine.rotateSecrets();
        for (const [column, n] of Object.entries(rewritten)) console.error(`${column}: ${n} re-encrypted`);
        if (!config.databaseUrl && existsSync(join(config.dataDir, KEY_FILE))) console.error(`${join(config.dataDir, KEY_FILE)} holds the new key: back it up`);
        return 0;
      }
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (e) {
    if (e instanceof DatabaseUnreachableError) {
      console.error(`nori: DATABASE_URL: ${e.message}`);
      return 2;
    }
    if (e instanceof UsageError || e instanceof ConfigError || e instanceof DataDirInUseError || e instanceof ScaffoldError || e instanceof PluginLoadError) {
      console.error(`nori: ${e.message}${e instanceof UsageError ? `\n\n${USAGE}` : ''}`);
      return 2;
    }
    if (e instanceof NoriError) {
      console.error(`nori: ${e.message}`);
      return 1;
    }
    throw e;
  } finally {
    await engine?.close();
  }
}
