import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Engine } from '../../src/engine.js';
import { ALICE, makeEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { Agent } from '../helpers/agent.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { expectError, expectOk, only, q } from '../helpers/xml.js';

/** A bare RFC 6749 token endpoint on loopback: answers what the test tells it, records what it got. */
function tokenEndpoint() {
  const seen: URLSearchParams[] = [];
  let answer: { status: number; body: Record<string, unknown> } = { status: 200, body: {} };
  const server: Server = createServer((req: IncomingMessage, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      seen.push(new URLSearchParams(raw));
      res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
    });
  });
  return {
    seen,
    answer: (status: number, body: Record<string, unknown>) => (answer = { status, body }),
    listen: () => new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('token lifecycle against a token endpoint on loopback', () => {
  let engine: Engine;
  let server: RunningServer;
  const provider = tokenEndpoint();
  // A revocation endpoint on another host than the token endpoint (another port is another origin).
  const revocation = tokenEndpoint();

  before(async function () {
    this.timeout(60_000);
    const base = await provider.listen();
    const revokeBase = await revocation.listen();
    engine = await makeEngine({ authorization: { publicUrl: 'http://127.0.0.1:9/', refreshSkewSeconds: 60 } });
    server = await startServer(engine);
    await seedApi(engine, 'prov', `<CLIENT_ID>c</CLIENT_ID><CLIENT_SECRET>s</CLIENT_SECRET><AUTHORIZE_URL>${base}/authorize</AUTHORIZE_URL><TOKEN_URL>${base}/token</TOKEN_URL><REVOKE_URL>${revokeBase}/oauth/revoke?v=2</REVOKE_URL>`);
    await seedApi(engine, 'down', '<CLIENT_ID>c</CLIENT_ID><CLIENT_SECRET>s</CLIENT_SECRET><REQUEST_TOKEN_URL>http://127.0.0.1:1/request</REQUEST_TOKEN_URL><AUTHORIZE_URL>http://127.0.0.1:1/authorize</AUTHORIZE_URL><TOKEN_URL>http://127.0.0.1:1/access</TOKEN_URL>', 'oauth1');
  });
  after(async () => {
    await server.close();
    await engine.close();
    await provider.close();
    await revocation.close();
  });

  /** A browser following AUTHORIZE's start link: it and the provider URL it was sent to. */
  async function started(link: string): Promise<{ browser: Agent; url: URL }> {
    const browser = new Agent({ 'http://127.0.0.1:9': server.url });
    const hop = await browser.request(link);
    assert.equal(hop.status, 303, hop.body);
    return { browser, url: new URL(hop.location!) };
  }

  /** AUTHORIZE, then the provider's redirect back with a code, answered by the token endpoint. */
  async function authorized(tokens: Record<string, unknown>): Promise<number> {
    const id = await seedAccount(engine, ALICE, 'prov');
    const { browser, url } = await started(expectOk(only(await engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`), ALICE))).attrs.url!);
    provider.answer(200, { token_type: 'Bearer', ...tokens });
    const back = await browser.request(`http://127.0.0.1:9/oauth/callback?state=${url.searchParams.get('state')}&code=the-code`);
    assert.equal(back.status, 200, back.body);
    const exchange = provider.seen.at(-1)!;
    assert.equal(exchange.get('code'), 'the-code');
    assert.equal(exchange.get('grant_type'), 'authorization_code');
    assert.match(exchange.get('code_verifier')!, /^[A-Za-z0-9_-]{43}$/);
    return id;
  }

  it('stores the tokens encrypted and hands out the access token while it is fresh', async () => {
    const id = await authorized({ access_token: 'at-1', refresh_token: 'rt-1', expires_in: 3600, scope: 'read' });
    const row = await engine.database.knex('webaccount').first('authorization_state', 'token', 'granted_scopes').where('id', id);
    assert.deepEqual([row.authorization_state, row.granted_scopes], ['authorized', 'read']);
    assert.ok(!row.token.includes('at-1'));
    const calls = provider.seen.length;
    assert.deepEqual(await engine.credentials(id), { accessToken: 'at-1', tokenSecret: null });
    assert.equal(provider.seen.length, calls, 'a fresh token needs no provider call');
  });

  it('refreshes a token the provider rejected, storing the rotated refresh token', async () => {
    const id = await authorized({ access_token: 'at-1', refresh_token: 'rt-1', expires_in: 3600 });
    provider.answer(200, { access_token: 'at-2', refresh_token: 'rt-2', expires_in: 3600 });
    assert.deepEqual(await engine.credentials(id, { rejected: 'at-1' }), { accessToken: 'at-2', tokenSecret: null });
    assert.deepEqual([provider.seen.at(-1)!.get('grant_type'), provider.seen.at(-1)!.get('refresh_token')], ['refresh_token', 'rt-1']);
    provider.answer(200, { access_token: 'at-3', expires_in: 3600 });
    await engine.credentials(id, { rejected: 'at-2' });
    assert.equal(provider.seen.at(-1)!.get('refresh_token'), 'rt-2', 'the rotated refresh token was kept');
  });

  it('a refresh rejected with invalid_grant sends the account back to waiting: REFRESH_REJECTED', async () => {
    const id = await authorized({ access_token: 'at-1', refresh_token: 'rt-1', expires_in: 1 });
    provider.answer(400, { error: 'invalid_grant', error_description: 'revoked by the user' });
    const r = await engine.credentials(id);
    assert.equal('code' in r && r.code, 'REFRESH_REJECTED');
    const row = await engine.database.knex('webaccount').first('authorization_state', 'token', 'refresh_token', 'state_reason').where('id', id);
    assert.deepEqual([row.authorization_state, row.token, row.refresh_token], ['waiting', null, null]);
    assert.match(row.state_reason, /invalid_grant/);
    const again = await engine.credentials(id);
    assert.equal('code' in again && again.code, 'NOT_AUTHORIZED', 'a waiting account never reaches the provider');
  });

  it('a failing token exchange fails the flow with PROVIDER_ERROR and the reason', async () => {
    const id = await seedAccount(engine, ALICE, 'prov');
    const { browser, url } = await started(expectOk(only(await engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`), ALICE))).attrs.url!);
    provider.answer(400, { error: 'invalid_request' });
    const back = await browser.request(`http://127.0.0.1:9/oauth/callback?state=${url.searchParams.get('state')}&code=x`);
    assert.equal(back.status, 502);
    assert.match(back.body, /PROVIDER_ERROR/);
    const row = await engine.database.knex('webaccount').first('authorization_state', 'state_reason').where('id', id);
    assert.equal(row.authorization_state, 'waiting');
    assert.match(row.state_reason, /token exchange failed with HTTP 400: invalid_request/);
  });

  it('an unreachable OAuth 1.0a provider answers AUTHORIZE with PROVIDER_ERROR and leaves the account waiting', async () => {
    const id = await seedAccount(engine, ALICE, 'down');
    const r = expectError(only(await engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`), ALICE)), 'PROVIDER_ERROR');
    assert.match(r.text, /failed at request token/);
    assert.equal((await engine.database.knex('webaccount').first('authorization_state').where('id', id)).authorization_state, 'waiting');
  });

  it('revokes at REVOKE_URL itself (RFC 7009), and records a refusal by its status when the body is no OAuth error', async () => {
    const revoke = (id: number) => engine.execute(q(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><AUTHORIZATION_STATE>revoked</AUTHORIZATION_STATE></INFO></WEBACCOUNT></UPDATE>`), ALICE);
    const reason = async (id: number) => (await engine.database.knex('webaccount').first('state_reason').where('id', id)).state_reason;
    const id = await authorized({ access_token: 'at-9', refresh_token: 'rt-9', expires_in: 3600 });
    const before = provider.seen.length;
    revocation.answer(200, {});
    expectOk(only(await revoke(id)));
    assert.deepEqual(revocation.seen.slice(-2).map((p) => [p.get('token'), p.get('token_type_hint')]), [['rt-9', 'refresh_token'], ['at-9', 'access_token']]);
    assert.equal(provider.seen.length, before, 'nothing went to the token endpoint\'s host');
    assert.equal(await reason(id), 'tokens revoked at the service');
    const other = await authorized({ access_token: 'at-10', refresh_token: 'rt-10', expires_in: 3600 });
    revocation.answer(503, {});
    expectOk(only(await revoke(other)));
    assert.equal(await reason(other), 'tokens erased; revocation at the service failed: revocation failed with HTTP 503: http_503');
  });
});
