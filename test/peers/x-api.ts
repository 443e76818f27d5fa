/**
 * @module test/peers/x-api
 * A peer of the X (Twitter) API v2 as its public docs describe it, for the twitter plugin's tests. It accepts
 * OAuth 1.0a user context (the three-legged flow and HMAC-SHA1 verification of oauth1-provider.ts) and OAuth 2.0
 * bearer tokens checked through an introspection function (oidc-provider's, in tests). Endpoints: POST and
 * DELETE /2/tweets, GET /2/users/me, GET /2/users/:id/tweets with pagination, each answering X's bodies and
 * x-rate-limit-* headers; `rateLimitNext` makes the next calls 429 as X does when a window is spent. And v1.1's
 * POST /1.1/oauth/invalidate_token (also as …/invalidate_token.json, as X's example calls it), which X documents as
 * "user context with the access tokens that you would like to invalidate": a request signed with the token
 * invalidates it and answers {"access_token": "<it>"}; the same token again answers 401 with error 89 "Invalid or
 * expired token."; any other refusal of the signature is 401 with error 32, and invalidates nothing.
 */
import { json, startPeer, type PeerRequest, type PeerResponse } from './http-peer.js';
import { oauth1Flow, type OAuth1Problem, type Refusal } from './oauth1-provider.js';

export interface XUser {
  readonly id: string;
  readonly name: string;
  readonly username: string;
  readonly created_at?: string;
  readonly description?: string;
  readonly location?: string;
  readonly protected?: boolean;
  readonly url?: string;
  readonly verified?: boolean;
}

export interface XTweet { readonly id: string; readonly text: string; readonly author_id: string; readonly created_at: string }

/** RFC 7662 in brief: what the peer needs to know about a bearer token. */
export type Introspect = (token: string) => Promise<{ active: boolean; sub?: string; scope?: string }>;

export interface XApiOptions {
  /** consumer key → consumer secret of the apps that may sign OAuth 1.0a requests. */
  consumers: Readonly<Record<string, string>>;
  /** Checks bearer tokens; `sub` names a user by id or username. Without it every bearer token is refused. */
  introspect?: Introspect;
  /** Refuse a bearer token whose introspected scope string lacks what the endpoint needs (403). */
  checkScopes?: boolean;
  /** The accounts; the first one is who approves at /oauth/authorize. Default: [ALICE]. */
  users?: readonly XUser[];
}

export const ALICE: XUser = { id: '1001', name: 'Alice', username: 'alice', created_at: '2009-06-22T20:27:41.000Z', description: 'Posts through nori.' };

// X's error bodies: problem objects (RFC 7807-like) for auth and permission, an errors[] list for bad parameters.
const problem = (status: number, title: string, detail = title) => json(status, { title, type: 'about:blank', status, detail });
const unauthorized = () => problem(401, 'Unauthorized');
const forbidden = (detail = 'Forbidden') => problem(403, 'Forbidden', detail);
const invalid = (message: string, parameters: Record<string, string[]> = {}) =>
  json(400, { errors: [{ parameters, message }], title: 'Invalid Request', detail: 'One or more parameters to your request was invalid.', type: 'https://api.twitter.com/2/problems/invalid-request' });
const TOO_MANY = { title: 'Too Many Requests', detail: 'Too Many Requests', type: 'about:blank', status: 429 };

const USER_FIELDS = ['created_at', 'description', 'location', 'protected', 'url', 'verified'] as const;
const TWEET_FIELDS = ['author_id', 'created_at'] as const;
const READ = ['tweet.read', 'users.read'];
const WRITE = ['tweet.read', 'tweet.write', 'users.read']; // what the docs list for POST and DELETE /2/tweets

interface Call { readonly req: PeerRequest; readonly user: XUser; readonly param: string }
interface Endpoint { readonly method: string; readonly pattern: RegExp; readonly scopes: readonly string[]; readonly limit: number; readonly handle: (call: Call) => PeerResponse }

/** `?<name>=a,b` checked against the fields X knows; a PeerResponse when one is not. */
function fields<F extends string>(req: PeerRequest, name: string, known: readonly F[]): F[] | PeerResponse {
  const raw = req.query.get(name);
  const asked = raw ? raw.split(',') : [];
  const unknown = asked.find((f) => !known.includes(f as F));
  if (unknown !== undefined) return invalid(`The \`${name}\` query parameter value [${unknown}] is not one of [${known.join(',')}]`, { [name]: [raw!] });
  return asked as F[];
}
const pick = <T extends object>(o: T, keys: readonly string[]) => Object.fromEntries(keys.filter((k) => k in o).map((k) => [k, o[k as keyof T]]));

/**
 * Starts the peer on a free port of 127.0.0.1.
 * @example
 * const x = await startXApi({ consumers: { key: 'secret' }, introspect: op.introspect });
 * const { token, secret } = x.oauth1.issue('key'); // sign POST `${x.url}/2/tweets` with these
 * x.rateLimitNext(1, 30); // the next /2/ call answers 429, retry-after: 30
 */
export async function startXApi(options: XApiOptions) {
  const users = [...(options.users ?? [ALICE])];
  const first = users[0];
  if (!first) throw new Error('startXApi needs at least one user');
  const tweets: XTweet[] = [];
  const rejected: Partial<Record<OAuth1Problem, number>> = {};
  const count = (r: Refusal) => void (rejected[r.problem] = (rejected[r.problem] ?? 0) + 1);
  // X's /oauth/* endpoints predate v2 and refuse with the v1.1 error list.
  const flow = oauth1Flow({ consumers: options.consumers, user: { id: first.id, screenName: first.username }, refuse: (r) => (count(r), json(401, { errors: [{ code: 32, message: 'Could not authenticate you.' }] })) });

  let lastId = 0n;
  /** Snowflake-like: milliseconds since X's epoch, shifted; strictly increasing so ids sort as time does. */
  function nextId(): string {
    const candidate = (BigInt(Date.now()) - 1288834974657n) << 22n;
    lastId = candidate > lastId ? candidate : lastId + 1n;
    return String(lastId);
  }
  const shape = (t: XTweet, extra: readonly string[] = []) => ({ id: t.id, text: t.text, edit_history_tweet_ids: [t.id], ...pick(t, extra) });

  const endpoints: Endpoint[] = [
    { method: 'POST', pattern: /^\/2\/tweets$/, scopes: WRITE, limit: 100, handle: ({ req, user }) => {
      if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) return invalid('Requests with bodies must have content-type of application/json.');
      let body: unknown;
      try {
        body = JSON.parse(req.body.toString('utf8'));
      } catch {
        return invalid('Request body is not valid JSON.');
      }
      const text = (body as { text?: unknown } | null)?.text;
      if (text === undefined) return invalid('$.text: is missing but it is required');
      if (typeof text !== 'string') return invalid(`$.text: ${typeof text} found, string expected`);
      const length = [...text].length; // X weighs some characters double; code points are close enough here
      if (length < 1 || length > 280) return invalid(`$.text: must be between 1 and 280 characters, was ${length}`);
      if (tweets.some((t) => t.author_id === user.id && t.text === text)) return forbidden('You are not allowed to create a Tweet with duplicate content.');
      const tweet: XTweet = { id: nextId(), text, author_id: user.id, created_at: new Date().toISOString() };
      tweets.push(tweet);
      return json(201, { data: shape(tweet) });
    } },
    { method: 'DELETE', pattern: /^\/2\/tweets\/([^/]+)$/, scopes: WRITE, limit: 50, handle: ({ user, param }) => {
      if (!/^[0-9]{1,19}$/.test(param)) return invalid(`The \`id\` query parameter value [${param}] does not match ^[0-9]{1,19}$`, { id: [param] });
      const i = tweets.findIndex((t) => t.id === param);
      if (i < 0) return json(200, { data: { deleted: false } });
      if (tweets[i]!.author_id !== user.id) return forbidden('You are not allowed to delete a Tweet you did not create.');
      tweets.splice(i, 1);
      return json(200, { data: { deleted: true } });
    } },
    { method: 'GET', pattern: /^\/2\/users\/me$/, scopes: READ, limit: 75, handle: ({ req, user }) => {
      const extra = fields(req, 'user.fields', USER_FIELDS);
      if (!Array.isArray(extra)) return extra;
      return json(200, { data: { id: user.id, name: user.name, username: user.username, ...pick(user, extra) } });
    } },
    { method: 'GET', pattern: /^\/2\/users\/([^/]+)\/tweets$/, scopes: READ, limit: 900, handle: ({ req, param }) => {
      const owner = users.find((u) => u.id === param);
      if (!owner) return json(200, { errors: [{ value: param, detail: `Could not find user with id: [${param}].`, title: 'Not Found Error', resource_type: 'user', parameter: 'id', resource_id: param, type: 'https://api.twitter.com/2/problems/resource-not-found' }] });
      const raw = req.query.get('max_results') ?? '10';
      const max = Number(raw);
      if (!/^\d+$/.test(raw) || max < 5 || max > 100) return invalid(`The \`max_results\` query parameter value [${raw}] is not between 5 and 100`, { max_results: [raw] });
      const extra = fields(req, 'tweet.fields', TWEET_FIELDS);
      if (!Array.isArray(extra)) return extra;
      // The token is opaque to clients; here it carries the id the previous page ended at (exclusive).
      const token = req.query.get('pagination_token');
      const until = token === null ? undefined : Buffer.from(token, 'base64url').toString('utf8');
      if (until !== undefined && !/^\d{1,19}$/.test(until)) return invalid(`The \`pagination_token\` query parameter value [${token}] is not valid`, { pagination_token: [token!] });
      const rest = tweets.filter((t) => t.author_id === owner.id && (until === undefined || BigInt(t.id) < BigInt(until))).sort((a, b) => (BigInt(b.id) > BigInt(a.id) ? 1 : -1));
      const page = rest.slice(0, max);
      if (page.length === 0) return json(200, { meta: { result_count: 0 } });
      const oldest = page.at(-1)!.id;
      const meta = { result_count: page.length, newest_id: page[0]!.id, oldest_id: oldest, ...(rest.length > max ? { next_token: Buffer.from(oldest).toString('base64url') } : {}) };
      return json(200, { data: page.map((t) => shape(t, extra)), meta });
    } },
  ];

  /** Who is calling: OAuth 1.0a token credentials, or a bearer token the introspection says is active. */
  async function authenticate(req: PeerRequest): Promise<{ user: XUser; scopes?: Set<string> } | undefined> {
    const header = String(req.headers.authorization ?? '');
    if (header.startsWith('OAuth ')) {
      const v = flow.verifyAccess(req);
      if (!v.ok) return void count(v);
      const user = users.find((u) => u.id === v.grant.userId);
      return user && { user };
    }
    const bearer = /^Bearer ([^\s]+)$/i.exec(header)?.[1];
    if (!bearer || !options.introspect) return undefined;
    const info = await options.introspect(bearer);
    const user = info.active ? users.find((u) => u.id === info.sub || u.username === info.sub) : undefined;
    const scope = options.checkScopes ? info.scope?.trim() : undefined;
    return user && { user, ...(scope ? { scopes: new Set(scope.split(/\s+/)) } : {}) };
  }

  // One 15-minute window per endpoint and caller, as X counts user-context limits.
  const windows = new Map<string, { remaining: number; reset: number }>();
  function meter(key: string, limit: number): { spent: boolean; headers: Record<string, string> } {
    const now = Math.floor(Date.now() / 1000);
    let w = windows.get(key);
    if (!w || w.reset <= now) windows.set(key, (w = { remaining: limit, reset: now + 900 }));
    const spent = w.remaining === 0;
    if (!spent) w.remaining -= 1;
    return { spent, headers: { 'x-rate-limit-limit': String(limit), 'x-rate-limit-remaining': String(w.remaining), 'x-rate-limit-reset': String(w.reset) } };
  }

  /** POST /1.1/oauth/invalidate_token: X's v1.1 error list, as its documentation shows it. */
  function invalidateToken(req: PeerRequest): PeerResponse {
    if (req.method !== 'POST') return json(404, { errors: [{ code: 34, message: 'Sorry, that page does not exist.' }] });
    const v = flow.verifyAccess(req);
    if (!v.ok) {
      count(v);
      return v.problem === 'token_rejected' ? json(401, { errors: [{ code: 89, message: 'Invalid or expired token.' }] }) : json(401, { errors: [{ code: 32, message: 'Could not authenticate you.' }] });
    }
    v.grant.revoked = true;
    invalidated.push(v.oauth.oauth_token!);
    return json(200, { access_token: v.oauth.oauth_token });
  }
  const invalidated: string[] = [];

  async function route(req: PeerRequest): Promise<PeerResponse> {
    const step = flow.endpoints.get(req.path);
    if (step) return step(req);
    if (req.path === '/1.1/oauth/invalidate_token' || req.path === '/1.1/oauth/invalidate_token.json') return invalidateToken(req);
    const match = endpoints.map((e) => ({ e, m: e.method === req.method ? e.pattern.exec(req.path) : null })).find(({ m }) => m);
    if (!match) return problem(404, 'Not Found Error', `Unknown route ${req.method} ${req.path}`);
    const { e, m } = match;
    const caller = await authenticate(req);
    const { spent, headers } = meter(`${req.method} ${e.pattern.source} ${caller?.user.id ?? 'anonymous'}`, e.limit);
    const answer = !caller ? unauthorized()
      : caller.scopes && !e.scopes.every((s) => caller.scopes!.has(s)) ? forbidden()
      : spent ? json(429, TOO_MANY)
      : e.handle({ req, user: caller.user, param: m![1] ?? '' });
    return { ...answer, headers: { ...answer.headers, ...headers } };
  }

  const peer = await startPeer(route);
  return {
    ...peer,
    /** Every tweet still standing, oldest first. Tests may seed it; ids must be decimal strings (they are compared as numbers). */
    tweets,
    users,
    oauth1: {
      /** Mints token credentials for `userId` (default: the first user), as if the browser flow had run. */
      issue(consumerKey: string, userId = first.id): { token: string; secret: string } {
        const user = users.find((u) => u.id === userId);
        if (!(consumerKey in options.consumers) || !user) throw new Error(`unknown consumer ${consumerKey} or user ${userId}`);
        return flow.issue(consumerKey, { id: user.id, screenName: user.username });
      },
      /** Token credentials issued so far (set `revoked` to refuse one). */
      access: flow.access,
      /** Why OAuth 1.0a requests were refused, by oauth_problem. */
      rejected,
      /** Tokens invalidated at POST /1.1/oauth/invalidate_token, in order. */
      invalidated,
    },
    /** The next `times` requests under `path` get X's 429, with both retry-after and x-rate-limit-reset. */
    rateLimitNext(times = 1, retryAfterSeconds = 60, path = '/2/'): void {
      const reset = Math.floor(Date.now() / 1000) + retryAfterSeconds;
      const limit = String(endpoints.find((e) => e.pattern.test(path))?.limit ?? 900);
      const headers = { 'retry-after': String(retryAfterSeconds), 'x-rate-limit-limit': limit, 'x-rate-limit-remaining': '0', 'x-rate-limit-reset': String(reset) };
      peer.inject({ status: 429, headers, body: JSON.stringify(TOO_MANY), path }, times);
    },
  };
}

export type XApiPeer = Awaited<ReturnType<typeof startXApi>>;
