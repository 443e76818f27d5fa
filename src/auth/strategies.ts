/**
 * @module auth/strategies
 * One strategy per AUTH_TYPE: how a flow starts, finishes, refreshes and revokes. Dispatch is a Map lookup;
 * adding an auth type adds an entry, not a branch.
 */
import { createHash, randomBytes } from 'node:crypto';
import { exchangeCode, exchangeScrubber, authorizationUrl, refreshTokens, revokeTokens, type OAuth2Endpoints } from './oauth2-client.js';
import { exchangeVerifier, requestTemporaryCredentials, userAuthorizationUrl } from './oauth1-client.js';
import type { HttpClient } from '../call/http-client.js';
import type { ApiSettings } from '../plugins/apis.js';
import { safe } from '../scrub.js';
import { ProviderError, type TokenSet } from './provider-error.js';
import { noScopeGranted } from './refusals.js';

export type { ApiSettings };

export interface Started {
  readonly url: string;
  readonly requestToken?: string;
  /** Kept encrypted until the callback: PKCE verifier or temporary token secret. */
  readonly secret: string;
}

export interface RedirectStrategy {
  readonly redirect: true;
  /** Fields of the WEBAPI that must be set for this strategy. */
  readonly needs: readonly (keyof ApiSettings)[];
  /** `http`: nori's HTTP client, whose connections are guarded when private targets are refused. */
  start(api: ApiSettings, http: HttpClient, p: { state: string; callbackUrl: string }): Promise<Started>;
  finish(api: ApiSettings, http: HttpClient, p: { query: URLSearchParams; callbackUrl: string; secret: string }): Promise<TokenSet>;
  refresh?(api: ApiSettings, http: HttpClient, refreshToken: string): Promise<TokenSet>;
  revoke?(api: ApiSettings, http: HttpClient, tokens: { accessToken: string | null; refreshToken: string | null }): Promise<void>;
}

const s = (v: string | null) => v ?? '';

function oauth2(api: ApiSettings, http: HttpClient): OAuth2Endpoints {
  return {
    clientId: s(api.clientId),
    clientSecret: s(api.clientSecret),
    authorizeUrl: s(api.authorizeUrl),
    tokenUrl: s(api.tokenUrl),
    revokeUrl: api.revokeUrl ?? undefined,
    scopes: (api.scopes ?? '').split(/\s+/).filter(Boolean),
    authorizeParams: api.authorizeParams,
    timeoutMs: api.timeoutMs,
    http,
  };
}

const oauth1 = (api: ApiSettings, http: HttpClient) => ({
  consumerKey: s(api.clientId),
  consumerSecret: s(api.clientSecret),
  requestTokenUrl: s(api.requestTokenUrl),
  authorizeUrl: s(api.authorizeUrl),
  accessTokenUrl: s(api.tokenUrl),
  timeoutMs: api.timeoutMs,
  http,
});

const OAUTH2: RedirectStrategy = {
  redirect: true,
  needs: ['clientId', 'clientSecret', 'authorizeUrl', 'tokenUrl'],
  async start(api, http, { state, callbackUrl }) {
    // RFC 7636: 32 random bytes give a 43-character verifier; S256 only.
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    return { url: authorizationUrl(oauth2(api, http), { redirectUri: callbackUrl, state, codeChallenge: challenge }), secret: verifier };
  },
  async finish(api, http, { query, callbackUrl, secret }) {
    const code = query.get('code');
    if (!code) throw new ProviderError('callback', { error: safe`missing_code` });
    const endpoints = oauth2(api, http);
    const tokens = await exchangeCode(endpoints, { code, redirectUri: callbackUrl, codeVerifier: secret });
    // A token that can do none of what was asked is a refusal of the scopes, however politely made: not kept.
    const none = noScopeGranted(endpoints.scopes, tokens.scope);
    // The granted scopes are the provider's words: scrubbed of what this exchange sent and received, as its errors are.
    if (none) throw new ProviderError('token exchange', { error: safe`invalid_scope`, description: exchangeScrubber(endpoints, secret, tokens.accessToken, tokens.refreshToken).scrub(none) });
    return tokens;
  },
  refresh: (api, http, refreshToken) => refreshTokens(oauth2(api, http), refreshToken),
  revoke: (api, http, tokens) => revokeTokens(oauth2(api, http), tokens),
};

const OAUTH1: RedirectStrategy = {
  redirect: true,
  needs: ['clientId', 'clientSecret', 'requestTokenUrl', 'authorizeUrl', 'tokenUrl'],
  async start(api, http, { callbackUrl }) {
    const { token, tokenSecret } = await requestTemporaryCredentials(oauth1(api, http), callbackUrl);
    return { url: userAuthorizationUrl(oauth1(api, http), token), requestToken: token, secret: tokenSecret };
  },
  async finish(api, http, { query, secret }) {
    const token = query.get('oauth_token');
    const verifier = query.get('oauth_verifier');
    if (!token || !verifier) throw new ProviderError('callback', { error: safe`missing_verifier` });
    return exchangeVerifier(oauth1(api, http), { token, tokenSecret: secret, verifier });
  },
};

/** API keys: no redirect; AUTHORIZE asks the plugin to check the account's key at the service. */
export interface KeyStrategy {
  readonly redirect: false;
  readonly needs: readonly (keyof ApiSettings)[];
}

const APIKEY: KeyStrategy = { redirect: false, needs: [] };

export type Strategy = RedirectStrategy | KeyStrategy;

export const STRATEGIES: ReadonlyMap<string, Strategy> = new Map<string, Strategy>([
  ['oauth2', OAUTH2],
  ['oauth1', OAUTH1],
  ['apikey', APIKEY],
  // Consent services (Orange) authorize the account's token like a key; consent itself is asked for on CALL.
  ['consent', APIKEY],
]);
