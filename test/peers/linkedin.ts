/**
 * @module test/peers/linkedin
 * A LinkedIn peer written from LinkedIn's (Microsoft Learn) documentation: the OAuth 2.0 authorization code
 * flow (/oauth/v2/authorization, /oauth/v2/accessToken; 60-day access tokens, 365-day refresh tokens whose TTL a
 * refresh does not reset), OpenID Connect userinfo (/v2/userinfo) and the versioned Posts API (/rest/posts with
 * the LinkedIn-Version and X-Restli-Protocol-Version: 2.0.0 headers; 201 with an empty body and the new post's
 * URN in x-restli-id). Errors take LinkedIn's shape: {status, serviceErrorCode, message} (and `code` where
 * LinkedIn sends one), 422 for a body that fails the schema, 426 NONEXISTENT_VERSION for an inactive version.
 * www.linkedin.com and api.linkedin.com are one base URL here: their paths do not overlap.
 */
import { json, startPeer, type PeerRequest, type PeerResponse } from './http-peer.js';
import { authorizeCode, pkce, startAuthorizationServer, type AccessToken, type OAuthClient } from './oauth2-server.js';

export { authorizeCode, pkce };

export interface LinkedInPeerOptions {
  clients: OAuthClient[];
  /** Default 5184000 (LinkedIn's documented 60 days). */
  accessTokenTtlSeconds?: number;
  /** LinkedIn keeps the refresh token across refreshes; turn on to test a client against rotation. */
  rotateRefreshTokens?: boolean;
  /** LinkedIn issues refresh tokens only to approved partners; false plays an app without them. Default true. */
  refreshTokens?: boolean;
  /** Versions LinkedIn still serves; any other well-formed version gets 426 NONEXISTENT_VERSION. Default: all. */
  activeVersions?: string[];
  member?: Partial<Member>;
}

export interface Member { sub: string; name: string; given_name: string; family_name: string; picture: string; email: string; email_verified: boolean; locale: { country: string; language: string } }
export interface StoredPost { readonly id: string; readonly version: string; readonly body: Readonly<Record<string, unknown>> }

const SCOPES = ['openid', 'profile', 'email', 'w_member_social'];
/** YYYYMM, or YYYYMM.RR for a revision (LinkedIn versioning guide). */
const VERSION = /^20\d{2}(0[1-9]|1[0-2])(\.\d{2})?$/;
const fail = (status: number, message: string, extra: Record<string, unknown> = {}) => json(status, { status, message, ...extra });

export async function startLinkedInPeer(options: LinkedInPeerOptions) {
  const member: Member = {
    sub: 'yQ3pL8w2Zk', name: 'Ada Lovelace', given_name: 'Ada', family_name: 'Lovelace', picture: 'https://media.licdn.com/dms/image/peer/ada.jpg',
    email: 'ada@example.org', email_verified: true, locale: { country: 'GB', language: 'en' }, ...options.member,
  };
  const auth = startAuthorizationServer({
    clients: options.clients,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 5_184_000,
    refreshTokenTtlSeconds: 31_536_000,
    rotateRefreshTokens: options.rotateRefreshTokens ?? false,
    scopes: SCOPES,
    scopeRequired: true,
    offline: () => options.refreshTokens ?? true,
    tokenPrefix: 'AQV',
    // LinkedIn answers the granted scopes comma-separated, and refresh_token_expires_in counting down.
    shape: (t) => ({
      access_token: t.accessToken, expires_in: t.expiresIn, token_type: 'bearer', scope: t.scopes.join(','),
      ...(t.refreshToken ? { refresh_token: t.refreshToken, refresh_token_expires_in: t.refreshExpiresIn } : {}),
    }),
  });
  const posts: StoredPost[] = [];
  let nextShare = 7_180_000_000_000_000_000n;

  /** 401s as the error-handling guide lists them: empty, invalid, expired and revoked tokens. */
  function authenticate(req: PeerRequest): AccessToken | PeerResponse {
    const check = auth.bearer(req.headers.authorization);
    if (check.ok) return check.token;
    const [code, message] = {
      missing: [401, 'Empty oauth2_access_token'],
      malformed: [401, 'Unknown authentication scheme'],
      invalid: [65600, 'Invalid access token'],
      expired: [65602, 'The token used in the request has expired'],
      revoked: [65601, 'The token used in the request has been revoked by the user'],
    }[check.reason] as [number, string];
    return json(401, { serviceErrorCode: code, message, status: 401 });
  }
  const denied = (what: string) => fail(403, `Not enough permissions to access: ${what}`, { serviceErrorCode: 100, code: 'ACCESS_DENIED' });

  function userinfo(token: AccessToken): PeerResponse {
    if (!token.scopes.includes('openid')) return denied('userinfo.GET.NO_VERSION');
    const profile = token.scopes.includes('profile') ? { name: member.name, given_name: member.given_name, family_name: member.family_name, picture: member.picture, locale: member.locale } : {};
    const email = token.scopes.includes('email') ? { email: member.email, email_verified: member.email_verified } : {};
    return json(200, { sub: member.sub, ...profile, ...email });
  }

  /** Required fields and allowed values of a text post (Posts API schema), checked like LinkedIn's 422s. */
  function schemaError(body: Record<string, unknown>): string | undefined {
    const distribution = body.distribution as Record<string, unknown> | undefined;
    const checks: [string, unknown, readonly unknown[] | 'string' | 'array'][] = [
      ['/author', body.author, 'string'],
      ['/commentary', body.commentary ?? '', 'string'],
      ['/visibility', body.visibility, ['PUBLIC', 'CONNECTIONS', 'LOGGED_IN', 'CONTAINER']],
      ['/distribution/feedDistribution', distribution?.feedDistribution, ['MAIN_FEED', 'NONE']],
      ['/distribution/targetEntities', distribution?.targetEntities ?? [], 'array'],
      ['/distribution/thirdPartyDistributionChannels', distribution?.thirdPartyDistributionChannels ?? [], 'array'],
      ['/lifecycleState', body.lifecycleState, ['PUBLISHED', 'DRAFT']],
      ['/isReshareDisabledByAuthor', body.isReshareDisabledByAuthor ?? false, [true, false]],
    ];
    for (const [field, value, allowed] of checks) {
      if (value === undefined) return `ERROR :: ${field} :: field is required but not found and has no default value\n`;
      const ok = allowed === 'string' ? typeof value === 'string' : allowed === 'array' ? Array.isArray(value) : allowed.includes(value);
      if (!ok) return `ERROR :: ${field} :: ${JSON.stringify(value)} is not a valid value\n`;
    }
    return undefined;
  }

  function createPost(req: PeerRequest, token: AccessToken): PeerResponse {
    const version = req.headers['linkedin-version'];
    if (typeof version !== 'string' || version === '') return fail(400, 'A version must be present. Please specify a version by adding the LinkedIn-Version header.', { code: 'VERSION_MISSING' });
    if (!VERSION.test(version)) return fail(400, `Invalid version ${version}: expected YYYYMM`, { code: 'INVALID_VERSION' });
    if (options.activeVersions && !options.activeVersions.includes(version)) return fail(426, `Requested version ${version} is not active`, { code: 'NONEXISTENT_VERSION' });
    if (req.headers['x-restli-protocol-version'] !== '2.0.0') return fail(400, 'This API requires the header X-Restli-Protocol-Version: 2.0.0');
    if (!token.scopes.includes('w_member_social')) return denied(`partnerApiPostsExternal.CREATE.${version}`);
    if (!req.headers['content-type']?.startsWith('application/json')) return fail(415, 'Unsupported Media Type: expected application/json');
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(req.body.toString('utf8')) as Record<string, unknown>;
    } catch {
      return fail(400, 'Unable to parse the request body as JSON');
    }
    const invalid = schemaError(body ?? {});
    if (invalid) return fail(422, invalid, { code: 'UNPROCESSABLE_ENTITY' });
    // A member token may post only as that member (organization posts need w_organization_social and a page role).
    if (body.author !== `urn:li:person:${member.sub}`) return fail(403, 'Unpermitted fields present in REQUEST_BODY: Data Processing Exception while processing fields [/author]', { serviceErrorCode: 100, code: 'ACCESS_DENIED' });
    const id = `urn:li:share:${nextShare++}`;
    posts.push({ id, version, body });
    return { status: 201, headers: { 'x-restli-id': id }, body: '' };
  }

  const peer = await startPeer((req) => {
    if (req.path === '/oauth/v2/authorization' && req.method === 'GET') return auth.authorize(req);
    if (req.path === '/oauth/v2/accessToken') return auth.token(req);
    const route = ({ 'GET /v2/userinfo': userinfo, 'POST /rest/posts': (t: AccessToken) => createPost(req, t) } as Record<string, (t: AccessToken) => PeerResponse>)[`${req.method} ${req.path}`];
    if (!route) return fail(404, 'No virtual resource found', { serviceErrorCode: 0, code: 'RESOURCE_NOT_FOUND' });
    const token = authenticate(req);
    return 'status' in token ? token : route(token);
  });

  return {
    ...peer,
    grants: auth.grants,
    refusals: auth.refusals,
    tokens: auth.tokens,
    member,
    /** Every post created, in order. */
    posts: posts as readonly StoredPost[],
    denyNext: auth.denyNext,
    expire: auth.expire,
    expireAll: () => auth.expire(),
    /** The member revokes the app from their settings: the token's family answers 65601 from now on. */
    revoke: auth.revoke,
    /** The next `times` requests get LinkedIn's throttle 429 (daily quotas: Retry-After only when `seconds` is given). */
    rateLimitNext(times = 1, seconds?: number) {
      const body = JSON.stringify({ status: 429, serviceErrorCode: 101, code: 'TOO_MANY_REQUESTS', message: 'Resource level throttle APPLICATION DAY limit for calls to this resource is reached.' });
      peer.inject({ status: 429, headers: seconds === undefined ? {} : { 'retry-after': String(seconds) }, body }, times);
    },
  };
}

export type LinkedInPeer = Awaited<ReturnType<typeof startLinkedInPeer>>;
