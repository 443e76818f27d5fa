/**
 * @module test/fuzz/target
 * The nori a fuzzer talks to: an engine on this run's database with the test plugins (echo, keyed), a real
 * HTTP server over it, API keys for an admin and a plain user, seeded secrets with unique markers, every log
 * line captured in memory, and two peers on 127.0.0.1: the service WEBAPI URLs point at, and a trap that no URL
 * a caller sends may ever reach.
 */
import { randomBytes } from 'node:crypto';
import dns from 'node:dns';
import { isIP } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { Engine } from '../../src/engine.js';
import { createServer } from '../../src/http/server.js';
import type { Principal } from '../../src/principal.js';
import type { XmlLimits } from '../../src/xml/parse.js';
import { DEFAULT_LIMITS } from '../../src/xml/parse.js';
import { authorizedAccount, ECHO_PLUGINS, PUBLIC_URL, seedEchoApi, startEcho, type Echo } from '../helpers/echo.js';
import { ADMIN, ALICE, CAROL, makeEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { json, startPeer, type Peer } from '../peers/http-peer.js';
import { encode, SENT_SECRET, type FuzzCase, type FuzzContext } from './arbitraries.js';

/** Small limits, so that every limit is reachable by a generated document without megabytes per case. */
export const FUZZ_LIMITS: XmlLimits = { ...DEFAULT_LIMITS, maxBytes: 256 * 1024, maxDepth: 16, maxElements: 2000, maxAttributes: 8, maxAttributeLength: 1024, maxTextLength: 16 * 1024, maxCommands: 40 };

export interface Answer {
  readonly status: number;
  readonly xml: string;
  /** Over HTTP, the response's content type. */
  readonly contentType?: string | null;
}

export interface FuzzTarget {
  readonly context: FuzzContext;
  readonly engine: Engine;
  /** Every secret nori holds or held in this run: no response or log line may contain one. */
  readonly secrets: Set<string>;
  /** Log lines that hold a secret, and log lines at level error or above. */
  readonly logLeaks: string[];
  readonly logErrors: string[];
  readonly trap: Peer;
  /** Host names nori tried to resolve, refused: only 127.0.0.1 is reachable in a fuzz run. */
  readonly lookups: string[];
  send(c: FuzzCase): Promise<Answer>;
  /** Empties the tables and seeds them again: two WEBAPIs and seven accounts, holding secrets, some locked. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

/**
 * An admin who clears a WEBAPI URL makes nori fall back to the plugin's default (https://echo.invalid…): while
 * the fuzzer runs, no name resolves (addresses do), so nothing leaves 127.0.0.1. Returns the function that restores dns.lookup.
 */
function refuseLookups(lookups: string[]): () => void {
  const real = dns.lookup;
  const refuse = (hostname: string, options: unknown, callback?: (err: NodeJS.ErrnoException) => void) => {
    // Addresses (servers listening on 127.0.0.1 go through lookup too) resolve to themselves.
    if (isIP(hostname)) return (real as (...a: unknown[]) => void)(hostname, options, callback);
    lookups.push(hostname);
    const cb = (typeof options === 'function' ? options : callback) as (err: NodeJS.ErrnoException) => void;
    process.nextTick(() => cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname} (the fuzzer resolves no name)`), { code: 'ENOTFOUND', hostname })));
  };
  Object.assign(dns, { lookup: refuse });
  return () => Object.assign(dns, { lookup: real });
}

export async function startTarget(): Promise<FuzzTarget> {
  const secrets = new Set<string>();
  const logLeaks: string[] = [];
  const logErrors: string[] = [];
  const sink = new Writable({
    write(chunk, _e, done) {
      for (const line of String(chunk).split('\n')) {
        if (!line) continue;
        for (const s of secrets) if (line.includes(s)) logLeaks.push(line);
        if (line.toUpperCase().includes(SENT_SECRET)) logLeaks.push(line);
        if ((JSON.parse(line) as { level: number }).level >= 50) logErrors.push(line);
      }
      done();
    },
  });
  const logger = pino({ level: 'trace' }, sink);
  const lookups: string[] = [];
  const restoreLookup = refuseLookups(lookups);
  const trap = await startPeer(() => json(200, { trapped: true }));
  const service = await startPeer((req) => (req.path.startsWith('/keys/') ? json(403, { error: 'unknown key' }) : json(404, { error: 'not_found' })));
  const echo: Echo = await startEcho();
  const context: FuzzContext = { serviceUrl: service.url, trapUrl: trap.url, returnPrefix: `${trap.url}/back/`, limits: FUZZ_LIMITS };
  const engine = await makeEngine({
    plugins: { builtins: false, ...ECHO_PLUGINS },
    authorization: { publicUrl: PUBLIC_URL, returnUrls: [context.returnPrefix], providerTimeoutMs: 2000 },
    calls: { timeoutMs: 1000, maxAttempts: 1, budgetMs: 2000 },
    limits: FUZZ_LIMITS,
    // Small budgets, so that the batches aimed at them (arbitraries.ts) reach every budget's path.
    budget: { maxResponseBytes: 16 * 1024, maxRows: 60, timeoutMs: 10_000 },
    logger,
  });
  const app: FastifyInstance = createServer({ engine, logger, maxBodyBytes: FUZZ_LIMITS.maxBytes });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const keys = {
    admin: (await engine.keys.create({ contactId: ADMIN.contactId, admin: true })).key,
    user: (await engine.keys.create({ contactId: ALICE.contactId, groups: [...ALICE.groups] })).key,
  };
  const principals: Record<FuzzCase['who'], Principal> = { admin: ADMIN, user: ALICE };

  // The same markers at every reset, so that the set to look for stays small however long the run.
  const markers = new Map<string, string>();
  const s = (label: string) => {
    if (!markers.has(label)) markers.set(label, `NORIFUZZ${randomBytes(8).toString('hex')}${label}`);
    const m = markers.get(label)!;
    secrets.add(m);
    return m;
  };
  let echoTokens: string[] = [];

  async function reset(): Promise<void> {
    await engine.database.knex.raw('TRUNCATE webaccount, webapi, nori_transitions, nori_pending_flows RESTART IDENTITY');
    const u = service.url;
    await seedEchoApi(engine, echo); // WEBAPI 1
    await seedApi(engine, 'keyed', `<BASE_URL>${u}</BASE_URL>`, 'apikey'); // 2
    await seedApi(engine, 'vault', `<ISLOCKED>1</ISLOCKED><CLIENT_ID>vault-app</CLIENT_ID><CLIENT_SECRET>${s('vault-cs')}</CLIENT_SECRET><AUTHORIZE_URL>${u}/authorize</AUTHORIZE_URL><TOKEN_URL>${u}/token</TOKEN_URL><REVOKE_URL>${u}/revoke</REVOKE_URL>`); // 3
    await seedApi(engine, 'legacy', `<CLIENT_ID>legacy-app</CLIENT_ID><CLIENT_SECRET>${s('legacy-cs')}</CLIENT_SECRET><REQUEST_TOKEN_URL>${u}/request</REQUEST_TOKEN_URL><AUTHORIZE_URL>${u}/authorize</AUTHORIZE_URL><TOKEN_URL>${u}/token</TOKEN_URL>`, 'oauth1'); // 4
    await authorizedAccount(engine, ALICE, 'echo', '<PUBLIC>W</PUBLIC>'); // WEBACCOUNT 1
    await seedAccount(engine, ALICE, 'vault', `<ISLOCKED>1</ISLOCKED><TOKEN>${s('a2-t')}</TOKEN><TOKEN_SECRET>${s('a2-ts')}</TOKEN_SECRET>`); // 2
    await seedAccount(engine, ADMIN, 'vault', `<PUBLIC>R</PUBLIC><TOKEN>${s('a3-t')}</TOKEN>`); // 3
    // CAROL's, shared with group 10 (ALICE's), which only an admin may set: CAROL is not in it.
    await seedAccount(engine, ADMIN, 'keyed', `<OWNERID>${CAROL.contactId}</OWNERID><GROUPID>10</GROUPID><TOKEN>${s('a4-k')}</TOKEN>`); // 4
    await seedAccount(engine, CAROL, 'legacy', `<TOKEN>${s('a5-t')}</TOKEN><TOKEN_SECRET>${s('a5-ts')}</TOKEN_SECRET>`); // 5
    await seedAccount(engine, ALICE, 'legacy', `<ISLOCKED>1</ISLOCKED><TOKEN>${s('a6-t')}</TOKEN><TOKEN_SECRET>${s('a6-ts')}</TOKEN_SECRET>`); // 6
    await authorizedAccount(engine, ADMIN, 'echo'); // 7
    // The echo service's tokens of the accounts just authorized are secrets too (earlier ones are gone with their rows).
    for (const t of echoTokens) secrets.delete(t);
    echoTokens = [];
    for (const t of [...echo.oauth.tokens.values()].slice(-2)) echoTokens.push(t.token, ...(t.family.refreshToken ? [t.family.refreshToken] : []));
    for (const t of echoTokens) secrets.add(t);
  }

  async function send(c: FuzzCase): Promise<Answer> {
    const body = encode(c);
    if (c.transport.kind === 'engine') {
      const r = await engine.run(body, principals[c.who]);
      return { status: r.status, xml: r.xml };
    }
    const form = c.transport.contentType === 'application/x-www-form-urlencoded';
    const payload: BodyInit = form ? new URLSearchParams({ NQL: typeof body === 'string' ? body : Buffer.from(body).toString('utf8') }).toString() : typeof body === 'string' ? body : new Uint8Array(body);
    const res = await fetch(base + c.transport.path, { method: 'POST', headers: { authorization: `Bearer ${keys[c.who]}`, 'content-type': c.transport.contentType }, body: payload });
    return { status: res.status, xml: await res.text(), contentType: res.headers.get('content-type') };
  }

  return {
    context,
    engine,
    secrets,
    logLeaks,
    logErrors,
    trap,
    lookups,
    send,
    reset,
    async close() {
      await app.close();
      await engine.close();
      await Promise.all([trap.close(), service.close(), echo.peer.close()]);
      restoreLookup();
    },
  };
}
