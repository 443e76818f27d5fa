/**
 * @module test/peers/echoing-provider
 * A provider that writes its request back into its errors, as debugging endpoints and careless gateways do:
 * every header (the bearer token, the Basic client credentials), the query and the body (client secret, code,
 * PKCE verifier, refresh token) go into `error_description` and `message`, as JSON, percent-encoded and
 * base64. It is an OAuth 2.0 server (test/peers/oauth2-server.ts) and an API behind it; `echo` says which of
 * its endpoints answer with the echo instead of their work. `sent()` lists every secret nori sent it, read off
 * the requests themselves, for a test to look for in what nori answered, stored and logged.
 */
import { json, startPeer, type Peer, type PeerRequest, type PeerResponse } from './http-peer.js';
import { startAuthorizationServer } from './oauth2-server.js';

export type EchoingEndpoint = 'token' | 'refresh' | 'revoke' | 'api' | 'api-ok';

export const ECHOING_CLIENT = { clientId: 'nori-app', clientSecret: 'echo-client-secret-5f3a9c' };

/** The request as a provider would quote it: one string with every header, the query and the body. */
export function quote(req: PeerRequest): string {
  // The body first: nori keeps the first few hundred characters of a description, and the secrets should be in them.
  return JSON.stringify({ body: req.body.toString('utf8'), query: Object.fromEntries(req.query), headers: req.headers, method: req.method, path: req.path });
}

/** The same quote in the forms a provider may use: as it is, percent-encoded, base64. */
function echoOf(req: PeerRequest): Record<string, string> {
  const q = quote(req);
  return { error_description: `request was ${q}`, message: `you sent ${encodeURIComponent(q)}`, detail: Buffer.from(q).toString('base64') };
}

export interface EchoingProvider {
  readonly peer: Peer;
  /** Which endpoints echo now; the others do their work. */
  readonly echo: Set<EchoingEndpoint>;
  /** Every secret nori sent: tokens from Authorization headers, Basic credentials decoded, and form fields. */
  sent(): string[];
}

export async function startEchoingProvider(redirectUri: string): Promise<EchoingProvider> {
  const oauth = startAuthorizationServer({
    clients: [{ ...ECHOING_CLIENT, redirectUris: [redirectUri] }],
    accessTokenTtlSeconds: 3600,
    rotateRefreshTokens: true,
    scopes: ['read', 'write'],
    scopeRequired: false,
    offline: () => true,
    shape: (i) => ({ access_token: i.accessToken, token_type: 'bearer', expires_in: i.expiresIn, refresh_token: i.refreshToken, scope: i.scopes.join(' ') }),
    tokenPrefix: 'echoing.',
  });
  const echo = new Set<EchoingEndpoint>();
  const refusal = (req: PeerRequest, error: string, status = 400): PeerResponse => json(status, { error, ...echoOf(req) });
  const peer = await startPeer((req) => {
    if (req.path === '/authorize') return oauth.authorize(req);
    if (req.path === '/token') {
      const grant = new URLSearchParams(req.body.toString('utf8')).get('grant_type');
      // A refresh refused as invalid_grant records its reason on the account; the exchange's error code echoes too.
      if (grant === 'refresh_token' && echo.has('refresh')) return refusal(req, 'invalid_grant');
      if (grant === 'authorization_code' && echo.has('token')) return refusal(req, `invalid_request ${req.headers.authorization ?? ''}`);
      return oauth.token(req);
    }
    if (req.path === '/revoke') return echo.has('revoke') ? refusal(req, 'unsupported_token_type') : json(200, {});
    const check = oauth.bearer(req.headers.authorization);
    if (!check.ok) return json(401, { error: 'invalid_token', error_description: check.reason });
    if (echo.has('api-ok')) return json(200, { echoed: quote(req), headers: req.headers });
    // The API's own shape: an error object whose data quotes the Authorization header (nori's serviceData).
    if (echo.has('api')) return json(400, { ...echoOf(req), error: { code: 'bad_request', message: `you sent ${quote(req)}`, data: `authorization=${req.headers.authorization ?? ''}` } });
    return json(200, { ok: true });
  });
  const sent = (): string[] => {
    const out = new Set<string>();
    for (const req of peer.requests) {
      if (req.path === '/authorize') continue;
      const authorization = req.headers.authorization ?? '';
      const [scheme, value = ''] = authorization.split(' ', 2);
      if (scheme === 'Bearer') out.add(value);
      if (scheme === 'Basic') {
        out.add(value);
        const decoded = Buffer.from(value, 'base64').toString('utf8');
        for (const part of decoded.split(':')) out.add(decodeURIComponent(part));
      }
      const form = new URLSearchParams(req.body.toString('utf8'));
      for (const field of ['client_secret', 'code', 'code_verifier', 'refresh_token', 'token']) {
        const v = form.get(field);
        if (v) out.add(v);
      }
    }
    out.delete(ECHOING_CLIENT.clientId);
    return [...out].filter((s) => s.length >= 6);
  };
  return { peer, echo, sent };
}
