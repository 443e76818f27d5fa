/**
 * @module plugins/twitter
 * The X API v2 methods. nori signs every request by the WEBAPI's AUTH_TYPE (OAuth 1.0a HMAC-SHA1 over the URL
 * and its query, never over the JSON body; or the OAuth 2.0 bearer token), so the methods only shape requests
 * and read X's answers, which are returned as X names them.
 */
import { createHash } from 'node:crypto';
import { BadResponse, definePlugin, ParamError, ServiceError, type CallContext, type ResultValue, type ServiceContext, type ServiceFailure, type ServiceResponse } from '../../src/sdk/index.js';
import { definition } from './definition.js';

type Json = { readonly [key: string]: ResultValue };
interface XError { readonly title?: string; readonly detail?: string; readonly message?: string; readonly type?: string; readonly code?: number }
interface XBody<T> {
  readonly data?: T;
  readonly meta?: { readonly result_count?: number; readonly next_token?: string };
  readonly errors?: readonly XError[];
  readonly title?: string;
  readonly detail?: string;
  readonly type?: string;
}

const USER_FIELDS = 'created_at,description,location,protected,url,verified';
const ID = /^[0-9]{1,19}$/;

/**
 * X ids are 64-bit, beyond an integer parameter's exact range, so they come as text and are checked here:
 * digits only, before any request is sent and before one becomes a path segment.
 */
function tweetId(method: string, param: string, value: string): string {
  if (ID.test(value)) return value;
  throw new ParamError(param, `a post id (1 to 19 digits), not "${value.slice(0, 60)}"`);
}

/**
 * X's two error shapes, often in one body: a problem ({title, detail, type}) and a list ({errors: [{message}]}).
 * The list says which parameter was wrong where the problem's detail only says "one or more parameters".
 */
function xFailure(body: unknown): ServiceFailure | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as XBody<unknown>;
  const errors = Array.isArray(b.errors) ? b.errors : [];
  const first = errors[0];
  const error = b.title ?? first?.title ?? (first?.code !== undefined ? String(first.code) : undefined);
  const listed = errors.map((e) => e.message ?? e.detail).filter((m): m is string => typeof m === 'string');
  const message = listed.length ? listed.join('; ') : b.detail;
  if (error === undefined && message === undefined) return undefined;
  const type = b.type ?? first?.type; // a URL naming the kind of problem, unless it is about:blank
  return { error: error ?? 'error', message, data: type && type !== 'about:blank' ? type : undefined };
}

/** X refuses some lookups with 200 and only an errors list (a missing user): that is still a refusal. */
function bodyOf<T>(res: ServiceResponse, has: (b: XBody<T>) => boolean = (b) => b.data !== undefined): XBody<T> {
  const body = res.json<XBody<T> | null>();
  if (body !== null && typeof body === 'object' && has(body)) return body;
  throw new ServiceError(xFailure(body) ?? { error: 'no_data', message: 'X answered without data' }, res.status);
}

/**
 * The X user of a token never changes, and X allows GET /2/users/me only 75 times per 15 minutes per user:
 * GETFEED looks the id up once per token, not once per page. Keyed by a hash (no token is kept), bounded.
 */
const userIds = new Map<string, string>();
const USER_IDS_MAX = 1000;

async function userIdOf({ api, credentials, request }: CallContext<unknown>): Promise<string> {
  const key = credentials.token === null ? undefined : createHash('sha256').update(`${api.baseUrl}\n${credentials.token}`).digest('base64url');
  const known = key === undefined ? undefined : userIds.get(key);
  if (known !== undefined) return known;
  const id = bodyOf<Json>(await request({ url: '/2/users/me' })).data!.id;
  if (typeof id !== 'string' || !ID.test(id)) throw new ServiceError({ error: 'no_user_id', message: 'GET /2/users/me answered without a numeric id' });
  if (key !== undefined) {
    if (userIds.size >= USER_IDS_MAX) userIds.delete(userIds.keys().next().value!);
    userIds.set(key, id);
  }
  return id;
}

/** X's v1.1 refusal of a token it no longer honours (its documented answer to an invalidated one). */
const INVALID_TOKEN = 89;

/**
 * OAuth 1.0a revocation, which RFC 7009 does not cover: X's POST /1.1/oauth/invalidate_token, signed with the very
 * token credentials to invalidate (nori signs by the WEBAPI's auth type). X answers {"access_token": "<it>"}. A
 * token X already refuses as invalid (error 89: the user removed the app, or it was invalidated before) is dead
 * at X, which is what revoking wants; any other refusal is the revocation failing, and nori records it.
 */
async function invalidateToken({ request, credentials }: ServiceContext): Promise<void> {
  const res = await request({ method: 'POST', url: '/1.1/oauth/invalidate_token', accept: [401] });
  const body = res.jsonObject();
  if (res.status === 401) {
    const errors = Array.isArray(body?.errors) ? (body.errors as { code?: unknown; message?: unknown }[]) : [];
    if (errors.some((e) => e?.code === INVALID_TOKEN)) return;
    const first = errors[0];
    throw new ServiceError({ error: first?.code !== undefined ? String(first.code) : 'unauthorized', message: typeof first?.message === 'string' ? first.message : undefined }, 401);
  }
  // The documented answer names the token invalidated: anything else (a page on a wrong BASE_URL) proves nothing.
  if (body?.access_token !== credentials.token) throw new BadResponse('X did not confirm which token it invalidated');
}

export default definePlugin(
  definition,
  {
    async POSTMESSAGE({ method, params, request }) {
      const reply = params.REPLY_TO === undefined ? {} : { reply: { in_reply_to_tweet_id: tweetId(method, 'REPLY_TO', params.REPLY_TO) } };
      return bodyOf<Json>(await request({ method: 'POST', url: '/2/tweets', json: { text: params.TEXT, ...reply } })).data!;
    },
    async DELETEMESSAGE({ method, params, request }) {
      const id = tweetId(method, 'ID', params.ID);
      return bodyOf<Json>(await request({ method: 'DELETE', url: `/2/tweets/${encodeURIComponent(id)}` })).data!;
    },
    async GETPROFILE({ request }) {
      return bodyOf<Json>(await request({ url: '/2/users/me', query: { 'user.fields': USER_FIELDS } })).data!;
    },
    async GETFEED(context) {
      const { params, request } = context;
      const id = await userIdOf(context);
      const res = await request({ url: `/2/users/${id}/tweets`, query: { max_results: params.MAX_RESULTS ?? 10, pagination_token: params.PAGE_TOKEN, 'tweet.fields': 'created_at' } });
      // An empty timeline has meta and no data.
      const body = bodyOf<Json[]>(res, (b) => b.data !== undefined || b.meta !== undefined);
      return { tweets: body.data ?? [], result_count: body.meta?.result_count ?? body.data?.length ?? 0, next_token: body.meta?.next_token };
    },
  },
  {
    // Not a JSON object: nori reports the status alone.
    serviceError: (res) => xFailure(res.jsonObject()),
    // OAuth 2.0 accounts are revoked at REVOKE_URL (RFC 7009, X's /2/oauth2/revoke).
    revoke: { oauth1: invalidateToken },
  },
);
