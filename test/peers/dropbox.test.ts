/**
 * The Dropbox peer verifies what it claims, proven with plain fetch as an independent client: PKCE, single-use
 * codes, offline refresh tokens, expiry and revocation in Dropbox's shapes, paginated listings, header-safe
 * Dropbox-API-Arg, and 429 with Retry-After.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { authorizeCode, pkce, startDropboxPeer, type DropboxPeer } from './dropbox.js';

const CLIENT = { clientId: 'nori-app-key', clientSecret: 'nori-app-secret', redirectUris: ['http://nori.test/oauth/callback'] };
const REDIRECT = CLIENT.redirectUris[0]!;
const basic = `Basic ${Buffer.from(`${CLIENT.clientId}:${CLIENT.clientSecret}`).toString('base64')}`;
/** Written here, not imported from the peer, so the peer is checked against an independent encoder. */
const escapeNonAscii = (value: unknown) => JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

describe('Dropbox peer', () => {
  let dbx: DropboxPeer;
  beforeEach(async () => {
    dbx = await startDropboxPeer({ clients: [CLIENT] });
  });
  afterEach(() => dbx.close());

  const authorizeUrl = (challenge: string, extra: Record<string, string> = {}) =>
    `${dbx.url}/oauth2/authorize?${new URLSearchParams({ client_id: CLIENT.clientId, redirect_uri: REDIRECT, response_type: 'code', state: 's-1', code_challenge: challenge, code_challenge_method: 'S256', ...extra })}`;
  const tokenCall = (form: Record<string, string>, headers: Record<string, string> = { authorization: basic }) =>
    fetch(`${dbx.url}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });
  async function login(offline = true): Promise<{ access_token: string; refresh_token?: string; account_id: string }> {
    const { verifier, challenge } = pkce();
    const back = new URL(await authorizeCode(authorizeUrl(challenge, offline ? { token_access_type: 'offline' } : {})));
    const res = await tokenCall({ grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: REDIRECT, code_verifier: verifier });
    assert.equal(res.status, 200);
    return (await res.json()) as { access_token: string; refresh_token?: string; account_id: string };
  }
  const rpc = (token: string, fn: string, arg?: unknown) =>
    fetch(`${dbx.url}/2/${fn}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, ...(arg === undefined ? {} : { 'content-type': 'application/json' }) }, ...(arg === undefined ? {} : { body: JSON.stringify(arg) }) });

  it('redirects with code and state, and never redirects to an unregistered redirect_uri', async () => {
    const { challenge } = pkce();
    const back = new URL(await authorizeCode(authorizeUrl(challenge)));
    assert.equal(`${back.origin}${back.pathname}`, REDIRECT);
    assert.equal(back.searchParams.get('state'), 's-1');
    assert.ok(back.searchParams.get('code'));
    const stranger = await fetch(authorizeUrl(challenge, { redirect_uri: 'http://evil.test/cb' }), { redirect: 'manual' });
    assert.equal(stranger.status, 400);
    const plain = new URL(await authorizeCode(authorizeUrl(challenge, { code_challenge_method: 'plain' })));
    assert.equal(plain.searchParams.get('error'), 'invalid_request');
    dbx.denyNext();
    const denied = new URL(await authorizeCode(authorizeUrl(challenge)));
    assert.deepEqual([denied.searchParams.get('error'), denied.searchParams.get('state')], ['access_denied', 's-1']);
  });

  it('refuses a code_verifier that does not match the challenge, and a code used twice', async () => {
    const { verifier, challenge } = pkce();
    const code = new URL(await authorizeCode(authorizeUrl(challenge, { token_access_type: 'offline' }))).searchParams.get('code')!;
    const wrong = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: pkce().verifier });
    assert.equal(wrong.status, 400);
    assert.equal(((await wrong.json()) as { error: string }).error, 'invalid_grant');
    const good = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
    const tokens = (await good.json()) as { access_token: string; token_type: string; expires_in: number; refresh_token: string; account_id: string };
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.expires_in, 14_400);
    assert.equal(tokens.account_id, dbx.account.account_id);
    const replay = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
    assert.deepEqual([replay.status, ((await replay.json()) as { error: string }).error], [400, 'invalid_grant']);
    assert.equal((await rpc(tokens.access_token, 'users/get_current_account')).status, 401, 'a replayed code revokes what it issued');
    assert.deepEqual(dbx.grants, { authorization_code: 1 });
  });

  it('issues a refresh token only for token_access_type=offline, and authenticates the client by Basic or body', async () => {
    assert.equal((await login(false)).refresh_token, undefined);
    const { refresh_token } = await login(true);
    const viaBody = await tokenCall({ grant_type: 'refresh_token', refresh_token: refresh_token!, client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret }, {});
    assert.equal(viaBody.status, 200);
    const body = (await viaBody.json()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'token_type'], 'Dropbox answers a refresh without a new refresh token');
    const again = await tokenCall({ grant_type: 'refresh_token', refresh_token: refresh_token! });
    assert.equal(again.status, 200, 'Dropbox does not rotate: the same refresh token works again');
    const badSecret = await tokenCall({ grant_type: 'refresh_token', refresh_token: refresh_token! }, { authorization: `Basic ${Buffer.from(`${CLIENT.clientId}:nope`).toString('base64')}` });
    assert.deepEqual([badSecret.status, ((await badSecret.json()) as { error: string }).error], [401, 'invalid_client']);
    assert.equal(dbx.grants.refresh_token, 2);
  });

  it('answers an expired token with 401 expired_access_token, and a refreshed one works', async () => {
    const { access_token, refresh_token } = await login();
    assert.equal((await rpc(access_token, 'users/get_current_account')).status, 200);
    dbx.expireAll();
    const expired = await rpc(access_token, 'users/get_current_account');
    assert.equal(expired.status, 401);
    assert.deepEqual(await expired.json(), { error_summary: 'expired_access_token/', error: { '.tag': 'expired_access_token' } });
    const fresh = (await (await tokenCall({ grant_type: 'refresh_token', refresh_token: refresh_token! })).json()) as { access_token: string };
    const account = await rpc(fresh.access_token, 'users/get_current_account');
    assert.equal(account.status, 200);
    assert.equal(((await account.json()) as { account_id: string }).account_id, dbx.account.account_id);
  });

  it('revokes the token and its refresh token with /2/auth/token/revoke', async () => {
    const { access_token, refresh_token } = await login();
    const revoked = await rpc(access_token, 'auth/token/revoke');
    assert.equal(revoked.status, 200);
    assert.equal(await revoked.text(), 'null');
    const after = await rpc(access_token, 'users/get_current_account');
    assert.deepEqual([after.status, ((await after.json()) as { error_summary: string }).error_summary], [401, 'invalid_access_token/']);
    const refresh = await tokenCall({ grant_type: 'refresh_token', refresh_token: refresh_token! });
    assert.deepEqual([refresh.status, ((await refresh.json()) as { error: string }).error], [400, 'invalid_grant']);
  });

  it('takes a no-argument call with an empty body or a JSON null, and refuses JSON with no body', async () => {
    const { access_token } = await login();
    assert.equal((await rpc(access_token, 'users/get_current_account', null)).status, 200);
    const empty = await fetch(`${dbx.url}/2/users/get_current_account`, { method: 'POST', headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' } });
    assert.equal(empty.status, 400);
    assert.match(await empty.text(), /^Error in call to API function "users\/get_current_account": request body: could not decode input as JSON/);
    const missing = await fetch(`${dbx.url}/2/users/get_current_account`, { method: 'POST' });
    assert.match(await missing.text(), /Must provide HTTP header "Authorization"/);
  });

  it('pages list_folder with limit so every entry comes exactly once, then reports only what changed', async () => {
    const { access_token } = await login();
    const seen: string[] = [];
    let res = (await (await rpc(access_token, 'files/list_folder', { path: '', recursive: true, limit: 2 })).json()) as { entries: { path_lower: string }[]; cursor: string; has_more: boolean };
    let pages = 1;
    seen.push(...res.entries.map((e) => e.path_lower));
    while (res.has_more) {
      res = (await (await rpc(access_token, 'files/list_folder/continue', { cursor: res.cursor })).json()) as typeof res;
      seen.push(...res.entries.map((e) => e.path_lower));
      pages++;
    }
    assert.deepEqual([...seen].sort(), [...dbx.tree.keys()].sort());
    assert.equal(new Set(seen).size, seen.length, 'no entry twice');
    assert.equal(pages, Math.ceil(seen.length / 2));
    await fetch(`${dbx.contentUrl}/2/files/upload`, { method: 'POST', headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/octet-stream', 'dropbox-api-arg': JSON.stringify({ path: '/new.txt' }) }, body: 'new' });
    const changes = (await (await rpc(access_token, 'files/list_folder/continue', { cursor: res.cursor })).json()) as typeof res;
    assert.deepEqual(changes.entries.map((e) => e.path_lower), ['/new.txt']);
    const top = (await (await rpc(access_token, 'files/list_folder', { path: '/documents' })).json()) as typeof res;
    assert.deepEqual(top.entries.map((e) => e.path_lower), ['/documents/notes.md', '/documents/report.txt']);
    const gone = await rpc(access_token, 'files/list_folder', { path: '/nowhere' });
    assert.deepEqual([gone.status, await gone.json()], [409, { error_summary: 'path/not_found/..', error: { '.tag': 'path', path: { '.tag': 'not_found' } } }]);
    const reset = await rpc(access_token, 'files/list_folder/continue', { cursor: 'AAEnot-a-cursor' });
    assert.deepEqual([reset.status, await reset.json()], [409, { error_summary: 'reset/..', error: { '.tag': 'reset' } }]);
  });

  it('stores an upload named with escaped non-ASCII under its real name, and downloads the same bytes', async () => {
    const { access_token } = await login();
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 10, 13]);
    const arg = escapeNonAscii({ path: '/Café été.txt', mode: 'add', autorename: false });
    assert.match(arg, /^[\x20-\x7e]+$/);
    const up = await fetch(`${dbx.contentUrl}/2/files/upload`, { method: 'POST', headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/octet-stream', 'dropbox-api-arg': arg }, body: bytes });
    assert.equal(up.status, 200);
    const meta = (await up.json()) as { name: string; path_display: string; size: number; content_hash: string };
    assert.deepEqual([meta.name, meta.path_display, meta.size], ['Café été.txt', '/Café été.txt', bytes.length]);
    assert.equal(meta.content_hash, createHash('sha256').update(createHash('sha256').update(bytes).digest()).digest('hex'), 'Dropbox content_hash of a one-block file');
    const down = await fetch(`${dbx.contentUrl}/2/files/download`, { method: 'POST', headers: { authorization: `Bearer ${access_token}`, 'dropbox-api-arg': escapeNonAscii({ path: '/café ÉTÉ.txt' }) } });
    assert.equal(down.status, 200);
    assert.deepEqual(Buffer.from(await down.arrayBuffer()), bytes);
    const result = down.headers.get('dropbox-api-result')!;
    assert.match(result, /^[\x20-\x7e]+$/, 'Dropbox-API-Result is ASCII');
    assert.equal((JSON.parse(result) as { name: string }).name, 'Café été.txt');
    assert.ok(dbx.requests.some((r) => r.url.startsWith(dbx.contentUrl) && r.path === '/2/files/upload'), 'the content host reached the same peer');
  });

  it('refuses a Dropbox-API-Arg header with raw non-ASCII bytes, as Dropbox does', async () => {
    const { access_token } = await login();
    // What a client that forgets to escape sends: the UTF-8 bytes of the JSON, carried as a latin1 header string.
    const raw = Buffer.from(JSON.stringify({ path: '/Café.txt' }), 'utf8').toString('latin1');
    const res = await fetch(`${dbx.contentUrl}/2/files/upload`, { method: 'POST', headers: { authorization: `Bearer ${access_token}`, 'content-type': 'application/octet-stream', 'dropbox-api-arg': raw }, body: 'x' });
    assert.equal(res.status, 400);
    assert.match(res.headers.get('content-type')!, /^text\/plain/);
    assert.equal(await res.text(), 'Error in call to API function "files/upload": HTTP header "Dropbox-API-Arg": could not decode input as JSON');
    assert.equal([...dbx.tree.keys()].some((k) => k.includes('caf')), false);
  });

  it('rateLimitNext answers 429 with Retry-After and the too_many_requests body, then recovers', async () => {
    const { access_token } = await login();
    dbx.rateLimitNext(1, 7);
    const limited = await rpc(access_token, 'users/get_current_account');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '7');
    assert.deepEqual(await limited.json(), { error_summary: 'too_many_requests/..', error: { reason: { '.tag': 'too_many_requests' }, retry_after: 7 } });
    assert.equal((await rpc(access_token, 'users/get_current_account')).status, 200);
    assert.equal(dbx.count('/2/users/get_current_account'), 2);
  });
});
