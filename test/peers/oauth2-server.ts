/**
 * @module test/peers/oauth2-server
 * One small OAuth 2.0 authorization server that the provider peers mount on their own paths: the authorization
 * code grant with PKCE S256 required (RFC 7636), exact redirect_uri matching, single-use codes (a replayed code
 * also kills what it issued, RFC 6749 §4.1.2), client authentication by HTTP Basic or form body (§2.3.1, never
 * both), refresh with optional rotation (a rotated-away token replayed kills its family, RFC 9700 §4.14.2), and
 * revocation of a whole token family. Providers differ in the JSON they wrap tokens in and in who gets a refresh
 * token, so those are options; everything else is written once here.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Agent } from '../helpers/agent.js';
import { json, text, type PeerRequest, type PeerResponse } from './http-peer.js';

export interface OAuthClient { clientId: string; clientSecret: string; redirectUris: string[] }

/** What the token endpoint issued, for the provider to shape into its own JSON. */
export interface Issued {
  readonly grantType: 'authorization_code' | 'refresh_token';
  readonly accessToken: string;
  readonly expiresIn: number;
  readonly refreshToken?: string;
  /** Seconds the refresh token has left (undefined: it never expires). */
  readonly refreshExpiresIn?: number;
  readonly scopes: readonly string[];
}

export interface AuthorizationServerOptions {
  clients: readonly OAuthClient[];
  accessTokenTtlSeconds: number;
  rotateRefreshTokens: boolean;
  /** Undefined: refresh tokens never expire (Dropbox). Not reset by a refresh (LinkedIn's documented TTL). */
  refreshTokenTtlSeconds?: number;
  /** The scopes the app may ask for; all of them are granted when the request names none. */
  scopes: readonly string[];
  scopeRequired: boolean;
  /** Whether this authorization yields a refresh token (Dropbox: only with token_access_type=offline). */
  offline(query: URLSearchParams): boolean;
  shape(issued: Issued): Record<string, unknown>;
  tokenPrefix: string;
}

interface Family { clientId: string; scopes: string[]; alive: boolean; refreshToken?: string; refreshExpiresAt: number }
interface Code { clientId: string; redirectUri: string; challenge: string; scopes: string[]; offline: boolean; expiresAt: number; issued?: Family }
export interface AccessToken { readonly token: string; readonly scopes: readonly string[]; expiresAt: number; readonly family: Family }
export type BearerCheck = { ok: true; token: AccessToken } | { ok: false; reason: 'missing' | 'malformed' | 'invalid' | 'expired' | 'revoked' };

const random = (bytes = 24) => randomBytes(bytes).toString('base64url');
export const s256 = (verifier: string) => createHash('sha256').update(verifier).digest('base64url');
/** Constant-time equality on strings of any length (hashing first makes the lengths equal). */
const same = (a: string, b: string) => timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
const formDecode = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
/** RFC 7636 §4.1: 43 to 128 characters of the unreserved set. */
const VERIFIER = /^[A-Za-z0-9\-._~]{43,128}$/;
const CODE_TTL_MS = 10 * 60_000;

/** A fresh PKCE pair, for tests that play the client. */
export function pkce(): { verifier: string; challenge: string } {
  const verifier = random(32);
  return { verifier, challenge: s256(verifier) };
}

/**
 * Walks the authorize step (the peers auto-approve) and returns the redirect with code and state, not followed.
 * Given nori's start link, `agent` follows it first: it is the browser that must then come back to the callback.
 */
export async function authorizeCode(authorizeUrl: string, agent = new Agent()): Promise<string> {
  let hop = await agent.request(authorizeUrl);
  if (hop.status === 303 && new URL(authorizeUrl).pathname.endsWith('/oauth/start') && hop.location) hop = await agent.request(hop.location);
  if (hop.status !== 302 || !hop.location) throw new Error(`authorize answered ${hop.status}: ${hop.body}`);
  return hop.location;
}

export function startAuthorizationServer(options: AuthorizationServerOptions) {
  const codes = new Map<string, Code>();
  const tokens = new Map<string, AccessToken>();
  const refreshTokens = new Map<string, Family>();
  /** Refresh tokens rotated away, still pointing at their family so a replay can be detected. */
  const retired = new Map<string, Family>();
  const grants: Record<string, number> = {};
  const refusals: Record<string, number> = {};
  let denial: string | undefined;

  const refuse = (error: string, description: string, status = 400, headers: Record<string, string> = {}): PeerResponse => {
    refusals[error] = (refusals[error] ?? 0) + 1;
    return json(status, { error, error_description: description }, { 'cache-control': 'no-store', ...headers });
  };
  const kill = (family: Family | undefined) => {
    if (family) family.alive = false;
  };

  function issue(family: Family, grantType: Issued['grantType'], scopes: string[]): PeerResponse {
    const accessToken = `${options.tokenPrefix}${random(32)}`;
    tokens.set(accessToken, { token: accessToken, scopes, expiresAt: Date.now() + options.accessTokenTtlSeconds * 1000, family });
    grants[grantType] = (grants[grantType] ?? 0) + 1;
    const refreshExpiresIn = family.refreshToken && Number.isFinite(family.refreshExpiresAt) ? Math.floor((family.refreshExpiresAt - Date.now()) / 1000) : undefined;
    const issued: Issued = { grantType, accessToken, expiresIn: options.accessTokenTtlSeconds, scopes, ...(family.refreshToken ? { refreshToken: family.refreshToken } : {}), ...(refreshExpiresIn !== undefined ? { refreshExpiresIn } : {}) };
    return json(200, options.shape(issued), { 'cache-control': 'no-store', pragma: 'no-cache' });
  }

  function authenticate(req: PeerRequest, form: URLSearchParams): OAuthClient | PeerResponse {
    const header = req.headers.authorization;
    let id = form.get('client_id');
    let secret = form.get('client_secret');
    if (header?.startsWith('Basic ')) {
      if (secret !== null) return refuse('invalid_request', 'use one client authentication method, not two');
      const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      [id, secret] = [formDecode(decoded.slice(0, colon)), formDecode(decoded.slice(colon + 1))];
    }
    const client = options.clients.find((c) => c.clientId === id);
    if (!client || secret === null || !same(secret, client.clientSecret)) {
      return refuse('invalid_client', 'client authentication failed', 401, header?.startsWith('Basic ') ? { 'www-authenticate': 'Basic realm="peer"' } : {});
    }
    return client;
  }

  function codeGrant(client: OAuthClient, form: URLSearchParams): PeerResponse {
    const key = form.get('code') ?? '';
    const code = codes.get(key);
    if (!code || code.expiresAt < Date.now() || code.clientId !== client.clientId) return refuse('invalid_grant', 'code does not exist, has expired or belongs to another client');
    if (code.issued) {
      kill(code.issued);
      return refuse('invalid_grant', 'code has already been used');
    }
    if (form.get('redirect_uri') !== code.redirectUri) return refuse('invalid_grant', 'redirect_uri does not match the one authorized');
    const verifier = form.get('code_verifier');
    if (verifier === null || !VERIFIER.test(verifier)) return refuse('invalid_request', 'code_verifier is missing or malformed');
    if (!same(s256(verifier), code.challenge)) return refuse('invalid_grant', 'code_verifier does not match the code_challenge');
    const family: Family = { clientId: client.clientId, scopes: code.scopes, alive: true, refreshExpiresAt: Date.now() + (options.refreshTokenTtlSeconds ?? Infinity) * 1000 };
    if (code.offline) refreshTokens.set((family.refreshToken = random(32)), family);
    code.issued = family;
    return issue(family, 'authorization_code', code.scopes);
  }

  function refreshGrant(client: OAuthClient, form: URLSearchParams): PeerResponse {
    const presented = form.get('refresh_token') ?? '';
    const replayed = retired.get(presented);
    if (replayed) {
      kill(replayed);
      return refuse('invalid_grant', 'refresh token was already rotated; its family is revoked');
    }
    const family = refreshTokens.get(presented);
    if (!family || !family.alive || family.refreshExpiresAt < Date.now() || family.clientId !== client.clientId) return refuse('invalid_grant', 'refresh token is invalid, expired or revoked');
    const asked = form.get('scope')?.split(' ').filter(Boolean) ?? family.scopes;
    if (asked.some((s) => !family.scopes.includes(s))) return refuse('invalid_scope', 'scope exceeds the original grant');
    if (options.rotateRefreshTokens) {
      refreshTokens.delete(presented);
      retired.set(presented, family);
      refreshTokens.set((family.refreshToken = random(32)), family);
    }
    return issue(family, 'refresh_token', asked);
  }

  const grantTypes = new Map([['authorization_code', codeGrant], ['refresh_token', refreshGrant]]);

  return {
    grants,
    /** Token endpoint refusals by RFC 6749 error code. */
    refusals,
    tokens: tokens as ReadonlyMap<string, AccessToken>,

    authorize(req: PeerRequest): PeerResponse {
      const q = req.query;
      const client = options.clients.find((c) => c.clientId === q.get('client_id'));
      // §4.1.2.1: never redirect to an unverified redirect_uri; the user sees an error page instead.
      if (!client) return text(400, 'Invalid client_id');
      const redirectUri = q.get('redirect_uri') ?? '';
      if (!client.redirectUris.includes(redirectUri)) return text(400, 'Invalid redirect_uri: it must exactly match a registered one');
      const back = (params: Record<string, string>): PeerResponse => {
        const url = new URL(redirectUri);
        for (const [k, v] of Object.entries(params)) url.searchParams.set(k, v);
        if (q.has('state')) url.searchParams.set('state', q.get('state')!);
        return { status: 302, headers: { location: url.toString() } };
      };
      const scopes = q.get('scope')?.split(' ').filter(Boolean) ?? (options.scopeRequired ? [] : [...options.scopes]);
      if (q.get('response_type') !== 'code') return back({ error: 'unsupported_response_type', error_description: 'response_type must be code' });
      if (!q.get('state')) return back({ error: 'invalid_request', error_description: 'state is required' });
      if (!/^[A-Za-z0-9_-]{43}$/.test(q.get('code_challenge') ?? '')) return back({ error: 'invalid_request', error_description: 'code_challenge is required (PKCE)' });
      if (q.get('code_challenge_method') !== 'S256') return back({ error: 'invalid_request', error_description: 'code_challenge_method must be S256' });
      // RFC 6749 §3.3: without a default scope, a request that names none fails "indicating an invalid scope".
      if (scopes.length === 0) return back({ error: 'invalid_scope', error_description: 'scope is required' });
      const unknown = scopes.filter((s) => !options.scopes.includes(s));
      if (unknown.length) return back({ error: 'invalid_scope', error_description: `scope not allowed: ${unknown.join(' ')}` });
      if (denial !== undefined) {
        const error = denial;
        denial = undefined;
        return back({ error, error_description: 'the user refused to authorize the app' });
      }
      const code = random(24);
      codes.set(code, { clientId: client.clientId, redirectUri, challenge: q.get('code_challenge')!, scopes, offline: options.offline(q), expiresAt: Date.now() + CODE_TTL_MS });
      return back({ code });
    },

    token(req: PeerRequest): PeerResponse {
      if (req.method !== 'POST') return text(405, 'POST only');
      if (!req.headers['content-type']?.startsWith('application/x-www-form-urlencoded')) return refuse('invalid_request', 'the body must be application/x-www-form-urlencoded');
      const form = new URLSearchParams(req.body.toString('utf8'));
      const client = authenticate(req, form);
      if ('status' in client) return client;
      const grant = grantTypes.get(form.get('grant_type') ?? '');
      return grant ? grant(client, form) : refuse('unsupported_grant_type', `grant_type ${form.get('grant_type')} is not supported`);
    },

    /** Checks an Authorization header: the live token, or why it is refused. */
    bearer(header: string | undefined): BearerCheck {
      if (!header) return { ok: false, reason: 'missing' };
      const m = /^Bearer +(\S+)$/i.exec(header);
      if (!m) return { ok: false, reason: 'malformed' };
      const token = tokens.get(m[1]!);
      if (!token) return { ok: false, reason: 'invalid' };
      if (!token.family.alive) return { ok: false, reason: 'revoked' };
      return token.expiresAt <= Date.now() ? { ok: false, reason: 'expired' } : { ok: true, token };
    },

    /** Kills the token's family: every access token and the refresh token issued with it. */
    revoke(accessToken: string): boolean {
      const token = tokens.get(accessToken);
      kill(token?.family);
      return token !== undefined;
    },
    /** The next authorization is refused with this error (default access_denied, RFC 6749 §4.1.2.1). */
    denyNext(error = 'access_denied') {
      denial = error;
    },
    /** Makes one access token, or every one issued so far, expired now; refresh tokens stay valid. */
    expire(accessToken?: string) {
      for (const t of accessToken ? [tokens.get(accessToken)] : tokens.values()) if (t) t.expiresAt = Date.now() - 1;
    },
  };
}

export type AuthorizationServer = ReturnType<typeof startAuthorizationServer>;
