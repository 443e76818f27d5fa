/**
 * @module test/peers/roox
 * A RooX UIDM Federation WebAPI peer written from the Russian API document transcribed in test/fixtures/roox/:
 * Bearer tokens, the current customer, the list of a customer's partner mappings (links to social networks) and
 * their deletion. It serves the repaired fixtures (valid JSON), so what a client reads here is what the document
 * shows. Every answer, errors included, carries the document's header set: a fresh X-Context-Id, X-Node-Id,
 * X-API-Maturity, the three no-cache headers, `application/json;charset=UTF-8` and `Connection: close`.
 *
 * Errors are queued here rather than through the base's `inject`: a base fault has fixed headers, and each RooX
 * answer needs its own X-Context-Id. The base's `inject` stays available for resets, delays and garbage.
 *
 * The document says the token comes from the RooX UIDM and nothing of how. Tokens are either the peer's own,
 * another server's (`introspect`, oidc-provider in tests), or those of the UIDM the peer can play itself
 * (`uidm`): oauth2-server.ts at OpenAM's paths, which the plugin's defaults name, with no default scope.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { startPeer, type Peer, type PeerRequest, type PeerResponse } from './http-peer.js';
import { startAuthorizationServer, type OAuthClient } from './oauth2-server.js';

export type Maturity = 'stable' | 'experimental' | 'deprecated';
/** Route names for `setMaturity`; the aliases are separate so a test can deprecate one path of a method. */
export type RooxRoute = 'customer' | 'partnerMappings' | 'partnerMappingsAlias' | 'deletePartnerMapping' | 'deleteSocialUserMapping';
export type ApiVersion = `webapi-${number}.${number}`;

export interface ExternalUser {
  userId: string;
  firstName?: string;
  lastName?: string;
  middleName?: string;
  fullName?: string;
  avatarUrl?: string;
  avatarSmallUrl?: string;
}
/** The document's example gives `id` as a JSON number, its model table says string: both are accepted. */
export interface PartnerMapping { id: number | string; type: 'social'; customerId: string; partnerId: string; externalUser: ExternalUser; created: string }
export interface Customer { id: string; [field: string]: unknown }
export interface RooxError { code: number; message: string; data?: string }
/** What an RFC 7662 introspection endpoint answers, reduced to what the peer needs. */
export interface Introspection { active: boolean; sub?: string }

export interface RooxPeerOptions {
  /** The version segment of every path. Default `webapi-1.0`; the DELETE example uses `webapi-1.3`. */
  apiVersion?: ApiVersion;
  /** Tokens known from the start: token → customer id (e.g. the document's truncated `AQIC5wM2LY...`). */
  tokens?: Readonly<Record<string, string>>;
  /**
   * Asked about tokens the peer did not issue, so a test can use tokens of a real OAuth server (oidc-provider):
   * the token is valid when `active`, and `sub` is the customer id.
   */
  introspect?: (token: string) => Promise<Introspection>;
  /**
   * The UIDM's OAuth 2.0 server on the peer itself, at `/sso/oauth2/authorize` and `/sso/oauth2/access_token`: the
   * authorization code grant with PKCE for `client`, the user being `customerId`. Scope is required and has no
   * default (RFC 6749 §3.3: a request naming none fails with invalid_scope); only `scopes` (default openid and
   * profile) may be asked. `grant` is what the token answer's `scope` grants of what was asked (default: all of it).
   */
  uidm?: { client: OAuthClient; customerId: string; scopes?: readonly string[]; grant?: (asked: readonly string[]) => readonly string[] };
  /** Default: the document's Customer (1000000000) and a bare customer 9165711402 (the document shows none). */
  customers?: Customer[];
  /** Default: the two mappings of the document's list example, both owned by 9165711402. */
  mappings?: PartnerMapping[];
  nodeId?: string;
}

const fixture = <T>(name: string): T => JSON.parse(readFileSync(new URL(`../fixtures/roox/${name}`, import.meta.url), 'utf8')) as T;
/** The document's error example, answered by `failNext400()` without arguments. */
export const JMS_ERROR: RooxError = fixture<{ error: RooxError }>('error-400-jms.json').error;
const BASE_ERRORS = new Map(fixture<{ errors: { status: number; meaning: string }[] }>('errors.json').errors.map((e) => [e.status, e.meaning]));
const CONTEXT_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** Like the document's QMUBJXIJIMP4SM: 14 characters, upper-case letters and digits. */
const contextId = () => Array.from({ length: 14 }, () => CONTEXT_ALPHABET[randomInt(CONTEXT_ALPHABET.length)]).join('');

interface Queued { status: number; body: unknown; headers: Record<string, string>; left: number }
interface Call { req: PeerRequest; customerId: string; params: string[] }
interface RouteDef { name: RooxRoute; method: string; pattern: RegExp; handle: (call: Call) => Answer }
/** A route's result before the common headers are added. */
interface Answer { status: number; body?: unknown }

export async function startRooxPeer(options: RooxPeerOptions = {}) {
  const apiVersion = options.apiVersion ?? 'webapi-1.0';
  const nodeId = options.nodeId ?? 'ocb.hosted';
  const tokens = new Map(Object.entries(options.tokens ?? {}));
  const customers = new Map((options.customers ?? [fixture<Customer>('customer.json'), { id: '9165711402', msisdn: '9165711402' }]).map((c) => [c.id, structuredClone(c)]));
  const mappings: PartnerMapping[] = structuredClone(options.mappings ?? fixture<PartnerMapping[]>('partner-mappings.json'));
  const maturity = new Map<RooxRoute, Maturity>();
  const queue: Queued[] = [];

  const uidm = options.uidm;
  const auth = uidm && startAuthorizationServer({
    clients: [uidm.client],
    accessTokenTtlSeconds: 3600,
    rotateRefreshTokens: true,
    scopes: uidm.scopes ?? ['openid', 'profile'],
    scopeRequired: true,
    offline: () => true,
    tokenPrefix: 'AQIC5wM2LY',
    shape: (i) => ({ access_token: i.accessToken, token_type: 'Bearer', expires_in: i.expiresIn, ...(i.refreshToken ? { refresh_token: i.refreshToken } : {}), scope: (uidm.grant?.(i.scopes) ?? i.scopes).join(' ') }),
  });
  const UIDM_PATHS = new Map<string, (req: PeerRequest) => PeerResponse>(auth ? [['/sso/oauth2/authorize', auth.authorize], ['/sso/oauth2/access_token', auth.token]] : []);

  const error = (status: number, err?: RooxError): Answer => ({ status, body: { error: err ?? { code: status, message: BASE_ERRORS.get(status) ?? 'Error' } } });

  function list({ customerId, params: [who] }: Call): Answer {
    // Only the literal @me (Latin e: the table's '@mе' has a Cyrillic one) or the caller's own id.
    if (who !== '@me' && who !== customerId) return error(403);
    return { status: 200, body: mappings.filter((m) => m.customerId === customerId) };
  }
  function remove({ customerId, params: [id] }: Call): Answer {
    const at = mappings.findIndex((m) => String(m.id) === id);
    if (at < 0) return error(404);
    if (mappings[at]!.customerId !== customerId) return error(403);
    mappings.splice(at, 1);
    return { status: 200 };
  }
  const routes: RouteDef[] = [
    { name: 'customer', method: 'GET', pattern: /^customers\/@me$/, handle: ({ customerId }) => (customers.has(customerId) ? { status: 200, body: customers.get(customerId) } : error(404)) },
    { name: 'partnerMappings', method: 'GET', pattern: /^customers\/([^/]+)\/partnerMappings$/, handle: list },
    // The document's list example asks for api/customer/@me/partnerMappings while its table says customers/:customerId/...
    { name: 'partnerMappingsAlias', method: 'GET', pattern: /^api\/customer\/(@me)\/partnerMappings$/, handle: list },
    { name: 'deletePartnerMapping', method: 'DELETE', pattern: /^partnerMappings\/([^/]+)$/, handle: remove },
    // The document's DELETE example uses socialUserMapping/:id where its table says partnerMappings/:id.
    { name: 'deleteSocialUserMapping', method: 'DELETE', pattern: /^socialUserMapping\/([^/]+)$/, handle: remove },
  ];

  function respond(answer: Answer, route?: RooxRoute, extra: Record<string, string> = {}): PeerResponse {
    const body = answer.body === undefined ? '' : JSON.stringify(answer.body);
    return {
      status: answer.status,
      headers: {
        'Content-Type': 'application/json;charset=UTF-8',
        'Content-Length': String(Buffer.byteLength(body)),
        // "WebAPI always asks to close the connection" (callout 7); node then closes the socket after answering.
        Connection: 'close',
        'Cache-Control': 'no-cache',
        Expires: 'Thu, 01 Jan 1970 00:00:00 GMT',
        Pragma: 'no-cache',
        'X-API-Maturity': (route && maturity.get(route)) ?? 'stable',
        'X-Context-Id': contextId(),
        'X-Node-Id': nodeId,
        ...extra,
      },
      body,
    };
  }

  async function customerOf(req: PeerRequest): Promise<string | undefined> {
    // RFC 7235: the scheme name is case-insensitive.
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    if (!token) return undefined;
    const known = tokens.get(token);
    if (known) return known;
    if (auth && uidm && auth.bearer(req.headers.authorization).ok) return uidm.customerId;
    if (!options.introspect) return undefined;
    const seen = await options.introspect(token);
    return seen.active && seen.sub ? seen.sub : undefined;
  }

  async function route(req: PeerRequest): Promise<PeerResponse> {
    const uidmStep = UIDM_PATHS.get(req.path);
    if (uidmStep) return uidmStep(req);
    const prefix = `/${apiVersion}/`;
    let rest: string | undefined;
    try {
      rest = req.path.startsWith(prefix) ? req.path.slice(prefix.length).split('/').map(decodeURIComponent).join('/') : undefined;
    } catch {
      return respond(error(400, { code: 400, message: 'malformed path' }));
    }
    const found = rest === undefined ? undefined : match(req.method, rest);
    const queued = queue.find((q) => q.left > 0);
    if (queued) {
      queued.left -= 1;
      return respond({ status: queued.status, body: queued.body }, found?.route.name, queued.headers);
    }
    if (!found) return respond(error(404));
    const { route: r, params } = found;
    try {
      const customerId = await customerOf(req);
      if (!customerId) return respond(error(401), r.name);
      return respond(r.handle({ req, customerId, params }), r.name);
    } catch (e) {
      return respond(error(500, { code: 500, message: 'peer failure', data: (e as Error).message }), r.name);
    }
  }
  function match(method: string, rest: string): { route: RouteDef; params: string[] } | undefined {
    for (const r of routes) {
      const m = r.method === method ? r.pattern.exec(rest) : null;
      if (m) return { route: r, params: m.slice(1) };
    }
    return undefined;
  }

  const base: Peer = await startPeer(route);
  return {
    ...base,
    /** The API root, e.g. http://127.0.0.1:port/webapi-1.0 */
    apiUrl: `${base.url}/${apiVersion}`,
    /** The UIDM of `options.uidm` (its denyNext, grants, refusals), with its two URLs. */
    uidm: auth && { ...auth, authorizeUrl: `${base.url}/sso/oauth2/authorize`, tokenUrl: `${base.url}/sso/oauth2/access_token` },
    /** A fresh Bearer token for this customer (shaped like the document's AQIC5wM2LY… token). */
    issueToken(customerId: string): string {
      const token = `AQIC5wM2LY${randomBytes(24).toString('base64url')}`;
      tokens.set(token, customerId);
      return token;
    },
    /** The token stops working (a following call answers 401). */
    revokeToken(token: string): void {
      tokens.delete(token);
    },
    setMaturity(route: RooxRoute, value: Maturity): void {
      maturity.set(route, value);
    },
    /** The next `times` API calls answer `status` (401, 403, 404, 500…) with an error body. */
    failNext(status: number, times = 1, err?: RooxError): void {
      queue.push({ status, body: error(status, err).body, headers: {}, left: times });
    },
    /** The next `times` API calls answer 429, with Retry-After when given. */
    rateLimitNext(times = 1, retryAfterSeconds?: number): void {
      queue.push({ status: 429, body: error(429).body, headers: retryAfterSeconds === undefined ? {} : { 'Retry-After': String(retryAfterSeconds) }, left: times });
    },
    /** The next API call answers 400 with `{"error": …}`; by default the document's JMS example. */
    failNext400(err: RooxError = JMS_ERROR): void {
      queue.push({ status: 400, body: { error: err }, headers: {}, left: 1 });
    },
    addMapping(mapping: PartnerMapping): void {
      mappings.push(structuredClone(mapping));
    },
    /** The mappings held now, optionally only one customer's. */
    mappings: (customerId?: string): PartnerMapping[] => structuredClone(customerId ? mappings.filter((m) => m.customerId === customerId) : mappings),
  };
}

export type RooxPeer = Awaited<ReturnType<typeof startRooxPeer>>;
