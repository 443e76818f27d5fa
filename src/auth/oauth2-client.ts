/**
 * @module auth/oauth2-client
 * OAuth 2.0 as nori uses it: authorization code with PKCE S256, refresh, RFC 7009 revocation. The only
 * module that imports simple-oauth2; everything else speaks TokenSet and ProviderError.
 */
import { AuthorizationCode, type ModuleOptions } from 'simple-oauth2';
import { HttpFailure, type HttpClient } from '../call/http-client.js';
import { BlockedTarget } from '../call/targets.js';
import { clip, ours, safe, scrubberFor, type Scrubber } from '../scrub.js';
import { ProviderError, sendFailure, type FlowStep, type TokenSet } from './provider-error.js';

export interface OAuth2Endpoints {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authorizeUrl: string;
  readonly tokenUrl: string;
  readonly revokeUrl: string | undefined;
  readonly scopes: readonly string[];
  /** Extra parameters of the authorization URL a provider needs (Dropbox's token_access_type=offline). */
  readonly authorizeParams?: Readonly<Record<string, string>>;
  /** Milliseconds before a provider call is abandoned. */
  readonly timeoutMs: number;
  /** nori's HTTP client: revocation sends through it, and the token requests connect under its guard. */
  readonly http: HttpClient;
}

/** simple-oauth2 for the endpoints; `connect`: the options of its connections (the guarded lookup). */
function client(ep: OAuth2Endpoints, connect: { lookup?: unknown } = {}): AuthorizationCode {
  const token = new URL(ep.tokenUrl);
  const authorize = new URL(ep.authorizeUrl);
  const options: ModuleOptions = {
    client: { id: ep.clientId, secret: ep.clientSecret },
    auth: {
      tokenHost: token.origin,
      tokenPath: token.pathname + token.search,
      authorizeHost: authorize.origin,
      authorizePath: authorize.pathname,
    },
    // json: true, not simple-oauth2's 'strict': a provider's error page (HTML) becomes a ProviderError with its status.
    // wreck hands `lookup` to http.request: every connection it opens resolves through nori's guard.
    http: { timeout: ep.timeoutMs, redirects: 0, json: true, ...connect } as ModuleOptions['http'],
  };
  try {
    return new AuthorizationCode(options);
  } catch (cause) {
    // simple-oauth2 validates its options (a client id or secret must be printable ASCII): a WEBAPI an admin set
    // wrongly is a refusal with a reason, not an unexpected error. The value itself is never repeated.
    throw new ProviderError('configuration', { error: safe`invalid_client_settings`, description: safe`CLIENT_ID and CLIENT_SECRET must be printable ASCII, without line breaks`, cause });
  }
}

function tokenSet(raw: Record<string, unknown>, previousRefresh?: string): TokenSet {
  const expiresIn = Number(raw.expires_in);
  return {
    accessToken: String(raw.access_token ?? ''),
    // A provider that does not rotate returns no refresh token on refresh: the old one stays valid.
    refreshToken: typeof raw.refresh_token === 'string' ? raw.refresh_token : previousRefresh,
    expiresAt: Number.isFinite(expiresIn) && expiresIn > 0 ? new Date(Date.now() + expiresIn * 1000) : undefined,
    scope: typeof raw.scope === 'string' ? raw.scope : undefined,
  };
}

/** What this client sent that a provider could echo: the client secret (also in its Basic form), and `values`. */
export const exchangeScrubber = (ep: OAuth2Endpoints, ...values: (string | null | undefined)[]): Scrubber =>
  scrubberFor({ values: [ep.clientSecret, ...values], basic: { id: ep.clientId, secret: ep.clientSecret } });

/**
 * simple-oauth2 (wreck) errors carry the provider's status and JSON error; keep those, scrubbed of what this
 * exchange sent (a provider may echo its request into error_description), and drop the rest.
 */
function providerError(e: unknown, step: FlowStep, scrubber: Scrubber): ProviderError {
  if (e instanceof ProviderError) return e;
  if (e instanceof HttpFailure) return sendFailure(step, e, scrubber);
  // The guarded lookup refused the address the connection was about to use (wreck keeps the error, boomified).
  if (e instanceof BlockedTarget) return new ProviderError(step, { error: safe`blocked_target`, description: scrubber.scrub(`${e.host} is a private or local address (${e.range})`), cause: e });
  const err = e as { output?: { statusCode?: number }; data?: { payload?: unknown; isResponseError?: boolean }; code?: string; message?: string };
  const status = err.output?.statusCode ?? 0;
  let payload = err.data?.payload;
  if (Buffer.isBuffer(payload)) payload = payload.toString('utf8');
  if (typeof payload === 'string') {
    try {
      payload = JSON.parse(payload);
    } catch {
      // not JSON: keep no details (it may be an HTML error page)
    }
  }
  const body = (payload && typeof payload === 'object' ? payload : {}) as { error?: unknown; error_description?: unknown };
  const timedOut = status === 504 || /timeout/i.test(err.message ?? '');
  return new ProviderError(step, {
    status: err.data?.isResponseError ? status : undefined,
    // A provider that answered without an OAuth error body is not "unreachable": say its status.
    // Scrubbed before it is cut: a cut through a secret would leave its first part behind.
    error: typeof body.error === 'string' ? clip(scrubber.scrub(body.error), 200) : timedOut ? safe`timeout` : err.data?.isResponseError ? safe`http_${status}` : err.code ? ours(err.code) /* the system's error code */ : safe`unreachable`,
    description: typeof body.error_description === 'string' ? clip(scrubber.scrub(body.error_description), 300) : undefined,
    cause: e,
  });
}

export function authorizationUrl(ep: OAuth2Endpoints, p: { redirectUri: string; state: string; codeChallenge: string }): string {
  return client(ep).authorizeURL({
    ...ep.authorizeParams,
    redirect_uri: p.redirectUri,
    scope: [...ep.scopes],
    state: p.state,
    code_challenge: p.codeChallenge,
    code_challenge_method: 'S256',
  } as Parameters<AuthorizationCode['authorizeURL']>[0]);
}

export async function exchangeCode(ep: OAuth2Endpoints, p: { code: string; redirectUri: string; codeVerifier: string }): Promise<TokenSet> {
  try {
    const token = await client(ep, ep.http.connectionOptions(ep.tokenUrl)).getToken({ code: p.code, redirect_uri: p.redirectUri, code_verifier: p.codeVerifier } as Parameters<AuthorizationCode['getToken']>[0]);
    return tokenSet(token.token as Record<string, unknown>);
  } catch (e) {
    throw providerError(e, 'token exchange', exchangeScrubber(ep, p.code, p.codeVerifier));
  }
}

export async function refreshTokens(ep: OAuth2Endpoints, refreshToken: string): Promise<TokenSet> {
  try {
    const token = await client(ep, ep.http.connectionOptions(ep.tokenUrl)).createToken({ refresh_token: refreshToken, access_token: '' }).refresh();
    return tokenSet(token.token as Record<string, unknown>, refreshToken);
  } catch (e) {
    throw providerError(e, 'refresh', exchangeScrubber(ep, refreshToken));
  }
}

/**
 * RFC 7009: revokes the refresh token (which, at most providers, also ends its access tokens) and the access
 * token, at REVOKE_URL itself (simple-oauth2 would send it to the token endpoint's host), with the client's
 * credentials in HTTP Basic (§2.1, RFC 6749 §2.3.1).
 */
export async function revokeTokens(ep: OAuth2Endpoints, tokens: { accessToken?: string | null; refreshToken?: string | null }): Promise<void> {
  if (!ep.revokeUrl) return;
  const basic = Buffer.from(`${encodeURIComponent(ep.clientId)}:${encodeURIComponent(ep.clientSecret)}`).toString('base64');
  const scrubber = exchangeScrubber(ep, tokens.accessToken, tokens.refreshToken);
  const revoke = async (token: string, hint: string) => {
    let res;
    try {
      // nori's client: its connections check the address they connect to; undici never follows a redirect.
      res = await ep.http.send({
        method: 'POST',
        url: ep.revokeUrl!,
        headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: new URLSearchParams({ token, token_type_hint: hint }).toString(),
      }, ep.timeoutMs);
    } catch (e) {
      if (e instanceof HttpFailure) throw sendFailure('revocation', e, scrubber);
      throw e;
    }
    // §2.2: 200 whatever the token was; an empty body is the usual answer.
    if (res.status >= 200 && res.status < 300) return;
    let body: { error?: unknown; error_description?: unknown } = {};
    try {
      body = JSON.parse(res.body.toString('utf8')) as typeof body;
    } catch {
      // not JSON: the status says enough
    }
    if (typeof body !== 'object' || body === null) body = {};
    throw new ProviderError('revocation', {
      status: res.status,
      error: typeof body.error === 'string' ? clip(scrubber.scrub(body.error), 200) : safe`http_${res.status}`,
      description: typeof body.error_description === 'string' ? clip(scrubber.scrub(body.error_description), 300) : undefined,
    });
  };
  if (tokens.refreshToken) await revoke(tokens.refreshToken, 'refresh_token');
  if (tokens.accessToken) await revoke(tokens.accessToken, 'access_token');
}
