/**
 * @module test/peers/oauth2-provider
 * A real OAuth 2.0 authorization server for tests: the certified oidc-provider, in-process on 127.0.0.1, with
 * the authorization code grant, PKCE required, rotating refresh tokens, RFC 7009 revocation and RFC 7662
 * introspection. Its built-in login and consent pages are walked by `authorizeHeadlessly`, in a cookie jar.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { Agent } from '../helpers/agent.js';

export interface OAuth2Client { clientId: string; clientSecret: string; redirectUris: string[] }

export async function startOAuth2Provider(client: OAuth2Client, accessTokenTtl = 3600) {
  const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const grants: Record<string, number> = {};
  const placeholder = 'http://127.0.0.1';
  const provider = new Provider(placeholder, {
    clients: [{ client_id: client.clientId, client_secret: client.clientSecret, redirect_uris: client.redirectUris, grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'] }],
    jwks: { keys: [{ ...jwk, use: 'sig', alg: 'RS256' } as never] },
    pkce: { required: () => true },
    features: { revocation: { enabled: true }, introspection: { enabled: true }, devInteractions: { enabled: true } },
    scopes: ['openid', 'offline_access'],
    issueRefreshToken: async (_ctx: unknown, c: { grantTypeAllowed(t: string): boolean }) => c.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: true,
    ttl: { AccessToken: accessTokenTtl, AuthorizationCode: 60, Interaction: 300, Session: 3600, Grant: 3600, RefreshToken: 86400, IdToken: 3600 },
    cookies: { keys: ['test-cookie-key'] },
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
  } as never);
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.path === '/token') {
      const grant = (ctx as unknown as { oidc?: { params?: { grant_type?: string } } }).oidc?.params?.grant_type ?? 'unknown';
      grants[grant] = (grants[grant] ?? 0) + 1;
    }
  });
  const server: Server = createServer(provider.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  // oidc-provider builds its URLs from the request's host, so the real port is used in every link.
  return {
    issuer,
    authorizeUrl: `${issuer}/auth`,
    tokenUrl: `${issuer}/token`,
    revokeUrl: `${issuer}/token/revocation`,
    grants,
    async introspect(token: string): Promise<{ active: boolean }> {
      const res = await fetch(`${issuer}/token/introspection`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ token }),
      });
      return (await res.json()) as { active: boolean };
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/**
 * Follows the provider's pages like a browser (cookies, login, consent) and returns the redirect to the client,
 * not followed. `url` may be nori's start link: give the `agent` that is to come back to nori's callback, so its
 * binding cookie is in the jar (test/helpers/agent.ts).
 */
export async function authorizeHeadlessly(url: string, redirectPrefix: string, options: { login?: string; refuseConsent?: boolean; agent?: Agent } = {}): Promise<string> {
  const login = options.login ?? 'alice';
  const agent = options.agent ?? new Agent();
  let next: { url: string; init?: { method: string; headers: Record<string, string>; body: URLSearchParams } } = { url };
  for (let hop = 0; hop < 20; hop++) {
    const res = await agent.request(next.url, next.init);
    if (res.location) {
      if (res.location.startsWith(redirectPrefix)) return res.location;
      next = { url: res.location };
      continue;
    }
    const html = res.body;
    const action = /<form[^>]*action="([^"]+)"/.exec(html)?.[1];
    const prompt = /name="prompt" value="(\w+)"/.exec(html)?.[1];
    if (!action || !prompt) throw new Error(`unexpected page (${res.status}): ${html.slice(0, 200)}`);
    if (prompt === 'consent' && options.refuseConsent) {
      // The consent page's cancel link: oidc-provider finishes the interaction with access_denied.
      next = { url: new URL(`${action.replace(/&amp;/g, '&')}/abort`, next.url).toString() };
      continue;
    }
    const body = new URLSearchParams(prompt === 'login' ? { prompt, login, password: 'any' } : { prompt });
    next = { url: new URL(action.replace(/&amp;/g, '&'), next.url).toString(), init: { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body } };
  }
  throw new Error('too many hops');
}
