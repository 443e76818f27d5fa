/**
 * The echo service for CALL's own tests: an OAuth 2.0 server (test/peers/oauth2-server.ts) and one /echo
 * route that checks the bearer token, on the shared peer base (request log, fault injection), plus helpers
 * that set up the WEBAPI and an authorized account through nori's real flow.
 */
import assert from 'node:assert/strict';
import type { Engine } from '../../src/engine.js';
import type { Principal } from '../../src/principal.js';
import { json, startPeer } from '../peers/http-peer.js';
import { authorizeCode, startAuthorizationServer } from '../peers/oauth2-server.js';
import { ADMIN } from './engine.js';
import { seedAccount } from './seed.js';
import { expectOk, only, q } from './xml.js';

export const ECHO_PLUGINS = { dirs: ['test/fixtures/plugins'] };
export const PUBLIC_URL = 'http://nori.test';

export async function startEcho(accessTokenTtlSeconds = 3600) {
  const oauth = startAuthorizationServer({
    clients: [{ clientId: 'nori', clientSecret: 'echo-secret', redirectUris: [`${PUBLIC_URL}/oauth/callback`] }],
    accessTokenTtlSeconds,
    rotateRefreshTokens: true,
    scopes: ['read', 'write'],
    scopeRequired: false,
    offline: () => true,
    shape: (i) => ({ access_token: i.accessToken, token_type: 'bearer', expires_in: i.expiresIn, refresh_token: i.refreshToken, scope: i.scopes.join(' ') }),
    tokenPrefix: 'echo.',
  });
  const peer = await startPeer((req) => {
    if (req.path === '/authorize') return oauth.authorize(req);
    if (req.path === '/token') return oauth.token(req);
    const check = oauth.bearer(req.headers.authorization);
    if (!check.ok) return json(401, { error: 'invalid_token', error_description: check.reason });
    if (req.path === '/echo') return json(200, { method: req.method, query: Object.fromEntries(req.query), body: req.body.toString('utf8') }, { 'x-support-id': 'S-1' });
    if (req.path === '/missing') return json(404, { error: 'not_found', error_description: 'no such thing' });
    return json(404, { error: 'no_route' });
  });
  return { peer, oauth };
}

export type Echo = Awaited<ReturnType<typeof startEcho>>;

/** The echo WEBAPI, pointing at the peer. */
export async function seedEchoApi(engine: Engine, echo: Echo, name = 'echo', extra = ''): Promise<void> {
  const u = echo.peer.url;
  expectOk(only(await engine.execute(q(`<CREATE><WEBAPI><INFO><DENOMINATION>${name}</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><CLIENT_ID>nori</CLIENT_ID><CLIENT_SECRET>echo-secret</CLIENT_SECRET><BASE_URL>${u}</BASE_URL><AUTHORIZE_URL>${u}/authorize</AUTHORIZE_URL><TOKEN_URL>${u}/token</TOKEN_URL>${extra}</INFO></WEBAPI></CREATE>`), ADMIN)));
}

/**
 * An account of `who`, authorized through AUTHORIZE, its start link, the peer's authorize step and nori's callback,
 * the last three through the engine's API as a CMS that mounts the routes itself calls them.
 */
export async function authorizedAccount(engine: Engine, who: Principal, api = 'echo', extra = ''): Promise<number> {
  const id = await seedAccount(engine, who, api, extra);
  const start = expectOk(only(await engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`), who)));
  const { location, browserBinding } = await startedAt(engine, start.attrs.url!);
  const back = new URL(await authorizeCode(location));
  const done = await engine.finishAuthorization(back.searchParams, { browserBinding });
  assert.equal(done.code, 'AUTHORIZED', done.message);
  return id;
}

/** Follows a start link through the engine's API: where the browser goes next, and the binding it must keep. */
export async function startedAt(engine: Engine, link: string): Promise<{ location: string; browserBinding: string }> {
  const started = await engine.startAuthorization(new URL(link).searchParams.get('flow') ?? '');
  assert.equal(started.code, 'AUTHORIZATION_STARTED', started.message);
  return { location: started.location!, browserBinding: started.browserBinding! };
}

export const call = (id: number | string, method: string, params = '') => q(`<CALL><WEBACCOUNT ID="${id}"><${method}>${params}</${method}></WEBACCOUNT></CALL>`);
