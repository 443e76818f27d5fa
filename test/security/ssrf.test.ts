/**
 * Server-side request forgery through URLs a caller can set. Only administrators write WEBAPI URLs (the only
 * URLs nori fetches): a user gets ADMIN_ONLY, whoever owns the row. A URL a user sends anywhere else (CALL
 * parameters, RETURN_URL, account fields, criteria) is never fetched: a peer counting requests sees none.
 * Refusing private-range targets by configuration: the address table and CALL in test/call/targets.test.ts, every
 * OAuth request at connection time and DNS rebinding of a token host below.
 */
import assert from 'node:assert/strict';
import { lookup as dnsLookup } from 'node:dns';
import { WEBACCOUNT, WEBAPI, type FieldDef } from '../../schemas/index.js';
import { exchangeVerifier, requestTemporaryCredentials } from '../../src/auth/oauth1-client.js';
import { exchangeCode, refreshTokens, revokeTokens } from '../../src/auth/oauth2-client.js';
import { ProviderError } from '../../src/auth/provider-error.js';
import { createHttpClient } from '../../src/call/http-client.js';
import type { Resolver } from '../../src/call/targets.js';
import type { Engine } from '../../src/engine.js';
import { authorizedAccount, ECHO_PLUGINS, PUBLIC_URL, seedEchoApi, startedAt, startEcho, type Echo } from '../helpers/echo.js';
import { ADMIN, ALICE, makeEngine } from '../helpers/engine.js';
import { Agent } from '../helpers/agent.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { callResult, expectError, expectOk, only, q, qa, replies, textAt } from '../helpers/xml.js';
import { authorizeCode } from '../peers/oauth2-server.js';
import { json, startPeer, type Peer } from '../peers/http-peer.js';

const URL_FIELDS = Object.entries(WEBAPI.fields).filter(([, f]) => f.type === 'url').map(([n]) => n);

describe('security: server-side request forgery through URLs a caller sets', function () {
  this.timeout(30_000);
  let engine: Engine;
  let server: RunningServer;
  let echo: Echo;
  let trap: Peer;
  let userKey: string;
  /** A batch sent over HTTP with Alice's key (a plain user), as XML or as the NQL form field. */
  const asUser = async (xml: string, form = false) => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${userKey}`, 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/xml' },
      body: form ? new URLSearchParams({ NQL: xml }).toString() : xml,
    });
    assert.equal(res.status, 200);
    return res.text();
  };
  const webapiRows = () => engine.database.knex('webapi').select('*').orderBy('id');

  before(async function () {
    this.timeout(60_000);
    trap = await startPeer(() => json(200, { trapped: true }));
    echo = await startEcho();
    engine = await makeEngine({ plugins: { builtins: false, ...ECHO_PLUGINS }, authorization: { publicUrl: PUBLIC_URL, returnUrls: [`${trap.url}/back/`] } });
    server = await startServer(engine);
    userKey = (await engine.keys.create({ contactId: ALICE.contactId, groups: [...ALICE.groups] })).key;
    await engine.database.knex.raw('TRUNCATE webaccount, webapi, nori_transitions, nori_pending_flows RESTART IDENTITY');
    await seedEchoApi(engine, echo);
  });
  after(async () => {
    await server.close();
    await engine.close();
    await Promise.all([echo.peer.close(), trap.close()]);
  });

  it('only administrators write WEBAPI URLs: a user gets ADMIN_ONLY on CREATE, UPDATE, DELETE and KILL, even on a WEBAPI they own', async () => {
    assert.deepEqual(URL_FIELDS, ['BASE_URL', 'REQUEST_TOKEN_URL', 'AUTHORIZE_URL', 'TOKEN_URL', 'REVOKE_URL']);
    assert.deepEqual(Object.entries(WEBACCOUNT.fields as Record<string, FieldDef>).filter(([, f]) => f.type === 'url'), [], 'an account holds no URL nori would fetch');
    const owned = expectOk(only(await engine.execute(q(`<CREATE><WEBAPI><INFO><DENOMINATION>owned</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><PLUGIN>echo</PLUGIN><OWNERID>${ALICE.contactId}</OWNERID><GROUPID>10</GROUPID></INFO></WEBAPI></CREATE>`), ADMIN))).attrs.elementID!;
    const before = await webapiRows();
    const evil = `${trap.url}/ssrf`;
    for (const field of [...URL_FIELDS, 'SETTINGS']) {
      const value = field === 'SETTINGS' ? `<GREETING>${evil}</GREETING>` : evil;
      const create = `<CREATE><WEBAPI><INFO><DENOMINATION>evil-${field}</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><PLUGIN>echo</PLUGIN><${field}>${value}</${field}></INFO></WEBAPI></CREATE>`;
      expectError(only(await asUser(q(create))), 'ADMIN_ONLY', '3');
      for (const id of ['1', owned, `1,${owned}`]) {
        const reply = expectError(only(await asUser(q(`<UPDATE><WEBAPI ID="${id}"><INFO><${field}>${value}</${field}></INFO></WEBAPI></UPDATE>`), field === 'BASE_URL')), 'ADMIN_ONLY', '3');
        assert.match(reply.text, /Only an administrator may update a WEBAPI/);
      }
      const atomic = replies(await asUser(qa(create, `<UPDATE><WEBAPI ID="${owned}"><INFO><${field}>${value}</${field}></INFO></WEBAPI></UPDATE>`)));
      expectError(atomic[0]!, 'ADMIN_ONLY', '3');
    }
    for (const verb of ['DELETE', 'KILL']) expectError(only(await asUser(q(`<${verb}><WEBAPI ID="${owned}"/></${verb}>`))), 'ADMIN_ONLY', '3');
    assert.deepEqual(await webapiRows(), before, 'no WEBAPI changed');
  });

  it('never fetches a URL a user sends: CALL parameters, RETURN_URLs, account fields, criteria', async () => {
    const id = await authorizedAccount(engine, ALICE);
    const site = `${trap.url}/site`;
    const read = callResult(await asUser(q(`<CALL><WEBACCOUNT ID="${id}"><READ><ID>1</ID><SITE>${site}</SITE><FIELDS><HOOK>${trap.url}/hook</HOOK></FIELDS></READ><RETURN_URL>${trap.url}/back/call</RETURN_URL></WEBACCOUNT></CALL>`)));
    assert.deepEqual([textAt(read, 'site'), textAt(read, 'fields/HOOK')], [site, `${trap.url}/hook`], 'the plugin got the URLs as data');
    expectError(only(await asUser(q(`<CALL><WEBACCOUNT ID="${id}"><READ><ID>1</ID></READ><RETURN_URL>${trap.url}/elsewhere</RETURN_URL></WEBACCOUNT></CALL>`))), 'RETURN_URL_NOT_ALLOWED', '3');
    const batch = q(
      `<CREATE><WEBACCOUNT><INFO><API>echo</API><DENOMINATION>${trap.url}/denomination</DENOMINATION><LOGIN>${trap.url}/login</LOGIN></INFO></WEBACCOUNT></CREATE>`,
      `<SEARCH><WEBAPI><INFO><BASE_URL operator="starts-with">${trap.url}/search</BASE_URL></INFO></WEBAPI></SEARCH>`,
      `<UPDATE><WEBACCOUNT ID="${id}"><INFO><DENOMINATION>${trap.url}/update</DENOMINATION></INFO></WEBACCOUNT></UPDATE>`,
    );
    for (const r of replies(await asUser(batch, true))) expectOk(r);
    // AUTHORIZE with an allowlisted return URL on the trap: the browser is sent there, nori does not go.
    const mine = expectOk(only(await asUser(q(`<CREATE><WEBACCOUNT><INFO><API>echo</API></INFO></WEBACCOUNT></CREATE>`)))).attrs.elementID!;
    const started = expectOk(only(await asUser(q(`<AUTHORIZE><WEBACCOUNT ID="${mine}"><RETURN_URL>${trap.url}/back/done</RETURN_URL></WEBACCOUNT></AUTHORIZE>`))));
    const browser = new Agent({ [PUBLIC_URL]: server.url });
    const done = await browser.request(await authorizeCode(started.attrs.url!, browser));
    assert.equal(done.status, 303);
    assert.ok(done.location!.startsWith(`${trap.url}/back/done?`), done.location!);
    assert.equal(trap.count(), 0, `nori fetched ${trap.requests.map((r) => r.url).join(', ')}`);
  });

  it('the counting peer does see what nori fetches: the WEBAPI URL an administrator set', async () => {
    const control = await startPeer(() => json(200, { reached: true }));
    try {
      await seedEchoApi(engine, echo, 'mirror', '<PLUGIN>echo</PLUGIN>');
      expectOk(only(await engine.execute(q(`<UPDATE><WEBAPI ID="${(await engine.database.knex('webapi').first('id').where('denomination', 'mirror')).id}"><INFO><BASE_URL>${control.url}</BASE_URL></INFO></WEBAPI></UPDATE>`), ADMIN)));
      const id = await authorizedAccount(engine, ALICE, 'mirror');
      assert.equal(textAt(callResult(await asUser(q(`<CALL><WEBACCOUNT ID="${id}"><READ><ID>1</ID></READ></WEBACCOUNT></CALL>`))), 'reached'), 'true');
      assert.equal(control.count('/echo'), 1);
    } finally {
      await control.close();
    }
  });
});

describe('security: every request nori sends checks the address it connects to (NORI_BLOCK_PRIVATE_TARGETS)', function () {
  this.timeout(30_000);
  let provider: Peer;
  const guarded = createHttpClient({ maxResponseBytes: 1 << 20, blockPrivateTargets: true });
  before(async () => {
    // Would answer every OAuth request; nothing may reach it.
    provider = await startPeer((req) => (req.path.endsWith('/token') ? json(200, { access_token: 'leaked', token_type: 'bearer' }) : { status: 200, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'oauth_token=t&oauth_token_secret=s&oauth_callback_confirmed=true' }));
  });
  after(async () => {
    await provider.close();
    await guarded.close();
  });

  /** Every OAuth request nori sends, at `base`, through the guarded client: each must fail before sending. */
  const everyOAuthRequest = (base: string): [string, () => Promise<unknown>][] => {
    const ep2 = { clientId: 'nori', clientSecret: 'client-secret-1', authorizeUrl: `${base}/authorize`, tokenUrl: `${base}/token`, revokeUrl: `${base}/revoke`, scopes: [], timeoutMs: 2000, http: guarded };
    const ep1 = { consumerKey: 'ck', consumerSecret: 'consumer-secret-1', requestTokenUrl: `${base}/request`, authorizeUrl: `${base}/authorize`, accessTokenUrl: `${base}/access`, timeoutMs: 2000, http: guarded };
    return [
      ['token exchange', () => exchangeCode(ep2, { code: 'c', redirectUri: `${PUBLIC_URL}/oauth/callback`, codeVerifier: 'v'.repeat(43) })],
      ['refresh', () => refreshTokens(ep2, 'refresh-1')],
      ['revocation', () => revokeTokens(ep2, { accessToken: 'access-1', refreshToken: 'refresh-1' })],
      ['request token', () => requestTemporaryCredentials(ep1, `${PUBLIC_URL}/oauth/callback`)],
      ['access token', () => exchangeVerifier(ep1, { token: 't', tokenSecret: 's', verifier: 'v' })],
    ];
  };

  it('token exchange, refresh, revocation, request and access token: a name of loopback is refused at connection, nothing is sent', async () => {
    // No check by name runs before these: only the connection's own lookup can refuse them.
    for (const [step, send] of everyOAuthRequest(provider.url.replace('127.0.0.1', 'localhost'))) {
      await assert.rejects(send(), (e: unknown) => {
        assert.ok(e instanceof ProviderError, `${step}: ${String(e)}`);
        assert.equal(e.error, 'blocked_target', step);
        assert.match(e.description ?? '', /^localhost \((127\.0\.0\.1|::1)\) is a private or local address \(loopback\)$/, step);
        return true;
      });
    }
    assert.equal(provider.count(), 0, provider.requests.map((r) => r.path).join(', '));
  });

  it('an address written in the URL, loopback in an IPv6 form, is refused before connecting', async () => {
    const port = new URL(provider.url).port;
    for (const host of ['[::ffff:7f00:1]', '[::7f00:1]', '[64:ff9b::7f00:1]', '127.0.0.1']) {
      for (const [step, send] of everyOAuthRequest(`http://${host}:${port}`)) {
        await assert.rejects(send(), (e: unknown) => e instanceof ProviderError && e.error === 'blocked_target', `${host} ${step}`);
      }
    }
    assert.equal(provider.count(), 0);
  });

  it('DNS rebinding: a token host public when AUTHORIZE checked it and loopback at the callback gets no token request', async () => {
    const echo = await startEcho();
    const port = new URL(echo.peer.url).port;
    // A rebinding DNS server in miniature: the name answers a public address until the user has gone to the
    // provider, loopback afterwards. Only `localhost` is answered so; its real answer is loopback as well, so a
    // connection that did not resolve through the guard would reach the peer and be counted.
    let phase: 'authorize' | 'callback' = 'authorize';
    const answers: string[] = [];
    const resolve: Resolver = (hostname, options, callback) => {
      if (hostname !== 'localhost') return dnsLookup(hostname, options, callback);
      const address = phase === 'authorize' ? '93.184.215.14' : '127.0.0.1';
      answers.push(`${phase} ${address}`);
      callback(null, [{ address, family: 4 }]);
    };
    const engine = await makeEngine({ plugins: { builtins: false, ...ECHO_PLUGINS }, authorization: { publicUrl: PUBLIC_URL }, calls: { blockPrivateTargets: true }, resolve });
    try {
      const u = echo.peer.url;
      expectOk(only(await engine.execute(q(`<CREATE><WEBAPI><INFO><DENOMINATION>rebound</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><PLUGIN>echo</PLUGIN><CLIENT_ID>nori</CLIENT_ID><CLIENT_SECRET>echo-secret</CLIENT_SECRET><BASE_URL>${u}</BASE_URL><AUTHORIZE_URL>${u}/authorize</AUTHORIZE_URL><TOKEN_URL>http://localhost:${port}/token</TOKEN_URL></INFO></WEBAPI></CREATE>`), ADMIN)));
      const id = expectOk(only(await engine.execute(q('<CREATE><WEBACCOUNT><INFO><API>rebound</API></INFO></WEBACCOUNT></CREATE>'), ALICE))).attrs.elementID!;
      const started = expectOk(only(await engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`), ALICE)));
      assert.deepEqual(answers, ['authorize 93.184.215.14'], 'AUTHORIZE checked the token host, and it was public then');
      const { location, browserBinding } = await startedAt(engine, started.attrs.url!);
      const back = new URL(await authorizeCode(location));
      phase = 'callback';
      const done = await engine.finishAuthorization(back.searchParams, { browserBinding });
      assert.equal(done.code, 'PROVIDER_ERROR', done.message);
      assert.match(done.message, /blocked_target/);
      assert.deepEqual(answers, ['authorize 93.184.215.14', 'callback 127.0.0.1'], 'the connection resolved the name itself');
      assert.equal(echo.peer.count('/token'), 0, 'no token request reached loopback');
      const row = await engine.database.knex('webaccount').first('authorization_state', 'state_reason').where('id', id);
      assert.equal(row.authorization_state, 'waiting');
      assert.match(row.state_reason, /^token exchange failed: blocked_target \(localhost \(127\.0\.0\.1\) is a private or local address \(loopback\)\)$/);
    } finally {
      await engine.close();
      await echo.peer.close();
    }
  });
});
