/**
 * @module auth/oauth1-client
 * OAuth 1.0a (RFC 5849) as nori uses it: temporary credentials with a callback, the user's authorization,
 * the verifier exchange, and signing of API requests. HMAC-SHA1 only (oauth-1.0a defaults to PLAINTEXT,
 * which sends the secrets). The only module that imports oauth-1.0a.
 */
import { createHmac } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import { HttpFailure, type HttpClient } from '../call/http-client.js';
import { clip, safe, scrubberFor, type Scrubber } from '../scrub.js';
import { ProviderError, sendFailure, type FlowStep, type TokenSet } from './provider-error.js';

export interface OAuth1Endpoints {
  readonly consumerKey: string;
  readonly consumerSecret: string;
  readonly requestTokenUrl: string;
  readonly authorizeUrl: string;
  readonly accessTokenUrl: string;
  readonly timeoutMs: number;
  /** nori's HTTP client: its connections check the address they connect to. */
  readonly http: HttpClient;
}

export interface SignableRequest {
  readonly method: string;
  readonly url: string;
  /** Form-encoded body parameters, which RFC 5849 §3.4.1.3.1 signs too. */
  readonly form?: Readonly<Record<string, string>>;
}

function signer(ep: Pick<OAuth1Endpoints, 'consumerKey' | 'consumerSecret'>): OAuth {
  return new OAuth({
    consumer: { key: ep.consumerKey, secret: ep.consumerSecret },
    signature_method: 'HMAC-SHA1',
    hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64'),
  });
}

/** The Authorization header for a request; `extra` oauth_* parameters (callback, verifier) are signed and sent. */
export function authorizationHeader(
  ep: Pick<OAuth1Endpoints, 'consumerKey' | 'consumerSecret'>,
  request: SignableRequest,
  token?: { key: string; secret: string },
  extra: Readonly<Record<string, string>> = {},
): string {
  const oauth = signer(ep);
  const data = { ...request.form, ...extra };
  const signed = oauth.authorize({ url: request.url, method: request.method, data }, token);
  return oauth.toHeader({ ...signed, ...extra } as OAuth.Authorization).Authorization;
}

async function post(ep: OAuth1Endpoints, url: string, step: FlowStep, token: { key: string; secret: string } | undefined, extra: Record<string, string>): Promise<URLSearchParams> {
  // HMAC-SHA1 sends no secret, but a provider echoing its request is scrubbed of every one this step knows.
  const scrubber: Scrubber = scrubberFor({ values: [ep.consumerSecret, token?.secret, extra.oauth_verifier] });
  let res;
  try {
    // undici never follows a redirect: a 3xx is a refusal like any other status.
    res = await ep.http.send({ method: 'POST', url, headers: { authorization: authorizationHeader(ep, { method: 'POST', url }, token, extra), accept: 'application/x-www-form-urlencoded' } }, ep.timeoutMs);
  } catch (e) {
    if (e instanceof HttpFailure) throw sendFailure(step, e, scrubber);
    throw e;
  }
  const body = new URLSearchParams(res.body.toString('utf8').slice(0, 10_000));
  if (res.status < 200 || res.status >= 300) {
    const problem = body.get('oauth_problem') ?? body.get('error');
    throw new ProviderError(step, { status: res.status, error: problem !== null ? clip(scrubber.scrub(problem), 200) : safe`rejected` });
  }
  return body;
}

/** RFC 5849 §2.1: temporary credentials bound to our callback; a provider that does not confirm it is refused. */
export async function requestTemporaryCredentials(ep: OAuth1Endpoints, callbackUrl: string): Promise<{ token: string; tokenSecret: string }> {
  const body = await post(ep, ep.requestTokenUrl, 'request token', undefined, { oauth_callback: callbackUrl });
  const token = body.get('oauth_token');
  const tokenSecret = body.get('oauth_token_secret');
  if (body.get('oauth_callback_confirmed') !== 'true') throw new ProviderError('request token', { error: safe`callback_not_confirmed` });
  if (!token || tokenSecret === null) throw new ProviderError('request token', { error: safe`malformed_response` });
  return { token, tokenSecret };
}

export function userAuthorizationUrl(ep: OAuth1Endpoints, token: string): string {
  const url = new URL(ep.authorizeUrl);
  url.searchParams.set('oauth_token', token);
  return url.toString();
}

/** RFC 5849 §2.3: the verifier and temporary credentials for token credentials. */
export async function exchangeVerifier(ep: OAuth1Endpoints, p: { token: string; tokenSecret: string; verifier: string }): Promise<TokenSet> {
  const body = await post(ep, ep.accessTokenUrl, 'access token', { key: p.token, secret: p.tokenSecret }, { oauth_verifier: p.verifier });
  const token = body.get('oauth_token');
  const tokenSecret = body.get('oauth_token_secret');
  if (!token || tokenSecret === null) throw new ProviderError('access token', { error: safe`malformed_response` });
  return { accessToken: token, tokenSecret };
}
