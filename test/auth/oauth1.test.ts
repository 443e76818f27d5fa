import assert from 'node:assert/strict';
import { authorizationHeader } from '../../src/auth/oauth1-client.js';
import type { Engine } from '../../src/engine.js';
import { ALICE, makeEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { Agent } from '../helpers/agent.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { expectError, expectOk, only, q } from '../helpers/xml.js';
import { baseString, hmacSha1, startOAuth1Provider } from '../peers/oauth1-provider.js';

describe('OAuth 1.0a against a provider peer written from RFC 5849', function () {
  this.timeout(60_000);
  let engine: Engine;
  let server: RunningServer;
  let peer: Awaited<ReturnType<typeof startOAuth1Provider>>;
  let unconfirming: Awaited<ReturnType<typeof startOAuth1Provider>>;
  const api = (p: { url: string }, secret = 'consumer-secret') =>
    `<CLIENT_ID>consumer-key</CLIENT_ID><CLIENT_SECRET>${secret}</CLIENT_SECRET><REQUEST_TOKEN_URL>${p.url}/oauth/request_token</REQUEST_TOKEN_URL><AUTHORIZE_URL>${p.url}/oauth/authorize</AUTHORIZE_URL><TOKEN_URL>${p.url}/oauth/access_token</TOKEN_URL>`;

  before(async () => {
    peer = await startOAuth1Provider({ consumers: { 'consumer-key': 'consumer-secret' } });
    unconfirming = await startOAuth1Provider({ consumers: { 'consumer-key': 'consumer-secret' }, confirmCallback: false });
    engine = await makeEngine({ authorization: { publicUrl: 'http://nori.test' } });
    server = await startServer(engine);
    await seedApi(engine, 'peer', api(peer), 'oauth1');
    await seedApi(engine, 'wrongsecret', api(peer, 'not-the-secret'), 'oauth1');
    await seedApi(engine, 'unconfirming', api(unconfirming), 'oauth1');
  });
  after(async () => {
    await server.close();
    await engine.close();
    await peer.close();
    await unconfirming.close();
  });

  /** The user's browser: nori is http://nori.test to it, answered by the test server. */
  let browser: Agent;
  beforeEach(() => {
    browser = new Agent({ 'http://nori.test': server.url });
  });

  /** AUTHORIZE, its start link, then the user's decision at the peer; returns the account and where the peer sends the browser. */
  async function atProvider(apiName: string, decision: 'approve' | 'deny'): Promise<{ id: number; callback: URL }> {
    const id = await seedAccount(engine, ALICE, apiName);
    const link = expectOk(only(await engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`), ALICE))).attrs.url!;
    const started = await browser.request(link);
    assert.equal(started.status, 303, started.body);
    assert.ok(started.location!.startsWith(`${peer.url}/oauth/authorize?oauth_token=`), started.location!);
    const page = await browser.request(`${started.location}&decision=${decision}`);
    assert.equal(page.status, 302);
    return { id, callback: new URL(page.location!) };
  }
  /** The browser arriving at nori's callback, with its binding cookie. */
  const arrive = (callback: URL) => browser.request(callback.toString());

  it('the peer signs as the published OAuth Core 1.0 example (Appendix A.5) does', () => {
    const base = baseString('GET', 'http://photos.example.net/photos', [
      ['file', 'vacation.jpg'], ['size', 'original'], ['oauth_consumer_key', 'dpf43f3p2l4k3l03'], ['oauth_token', 'nnch734d00sl2jdk'],
      ['oauth_signature_method', 'HMAC-SHA1'], ['oauth_timestamp', '1191242096'], ['oauth_nonce', 'kllo9940pd9333jh'], ['oauth_version', '1.0'],
    ]);
    assert.equal(base, 'GET&http%3A%2F%2Fphotos.example.net%2Fphotos&file%3Dvacation.jpg%26oauth_consumer_key%3Ddpf43f3p2l4k3l03%26oauth_nonce%3Dkllo9940pd9333jh%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D1191242096%26oauth_token%3Dnnch734d00sl2jdk%26oauth_version%3D1.0%26size%3Doriginal');
    assert.equal(hmacSha1(base, 'kd94hf93k423kf44', 'pfkkdhi9sl3r4s00'), 'tR3+Ty81lMeYAr/Fid0kMTYa/WM=');
  });

  it('authorizes through temporary credentials, the user, and the verifier; the stored tokens sign API calls', async () => {
    const { id, callback } = await atProvider('peer', 'approve');
    assert.equal(callback.origin + callback.pathname, 'http://nori.test/oauth/callback');
    assert.ok(callback.searchParams.get('state'), 'nori\'s state rides in the callback URL');
    const done = await arrive(callback);
    assert.equal(done.status, 200, done.body);
    const creds = await engine.credentials(id);
    assert.ok('accessToken' in creds);
    assert.equal(peer.access.get(creds.accessToken)?.secret, creds.tokenSecret);
    const apiUrl = `${peer.url}/api/statuses?x=1`;
    const form = { status: 'Hello twitter world !' };
    const header = authorizationHeader({ consumerKey: 'consumer-key', consumerSecret: 'consumer-secret' }, { method: 'POST', url: apiUrl, form }, { key: creds.accessToken, secret: creds.tokenSecret! });
    const send = () => fetch(apiUrl, { method: 'POST', headers: { authorization: header, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });
    const ok = await send();
    assert.equal(ok.status, 200);
    assert.deepEqual(((await ok.json()) as { echo: unknown }).echo, form);
    const replayed = await send();
    assert.equal(replayed.status, 401);
    assert.equal(await replayed.text(), 'oauth_problem=nonce_used');
    const exchanges = peer.stats.requests['/oauth/access_token'];
    assert.equal((await arrive(callback)).status, 409, 'a replayed callback is refused');
    assert.equal(peer.stats.requests['/oauth/access_token'], exchanges, 'and never reaches the provider');
  });

  it('a callback from a browser that did not follow the start link is refused before the provider, and left to its own browser', async () => {
    const { id, callback } = await atProvider('peer', 'approve');
    const exchanges = peer.stats.requests['/oauth/access_token'] ?? 0;
    const stranger = new Agent({ 'http://nori.test': server.url });
    const refused = await stranger.request(callback.toString());
    assert.equal(refused.status, 403);
    assert.match(refused.body, /CALLBACK_UNBOUND/);
    assert.equal(peer.stats.requests['/oauth/access_token'] ?? 0, exchanges, 'the verifier was not exchanged');
    assert.equal((await engine.database.knex('webaccount').first('authorization_state').where('id', id)).authorization_state, 'requested');
    assert.equal((await arrive(callback)).status, 200, 'its own browser still finishes it');
    assert.ok('accessToken' in (await engine.credentials(id)));
  });

  it('a wrong consumer secret fails the signature at the provider: PROVIDER_ERROR, account waiting', async () => {
    const id = await seedAccount(engine, ALICE, 'wrongsecret');
    const r = expectError(only(await engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`), ALICE)), 'PROVIDER_ERROR');
    assert.match(r.text, /HTTP status 401\): signature_invalid/);
    assert.ok(!r.text.includes('not-the-secret'));
    assert.ok((peer.stats.rejected.signature_invalid ?? 0) >= 1);
  });

  it('a provider that does not confirm the callback is refused', async () => {
    const id = await seedAccount(engine, ALICE, 'unconfirming');
    const r = expectError(only(await engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`), ALICE)), 'PROVIDER_ERROR');
    assert.match(r.text, /callback_not_confirmed/);
  });

  it('a denial, or a callback with another oauth_token, returns the account to waiting', async () => {
    const denied = await atProvider('peer', 'deny');
    assert.equal((await arrive(denied.callback)).status, 403);
    assert.equal((await engine.database.knex('webaccount').first('authorization_state').where('id', denied.id)).authorization_state, 'waiting');
    const swapped = await atProvider('peer', 'approve');
    swapped.callback.searchParams.set('oauth_token', 'someone-elses-token');
    const r = await arrive(swapped.callback);
    assert.equal(r.status, 400);
    assert.match(r.body, /CALLBACK_INVALID/);
    assert.equal((await engine.database.knex('webaccount').first('authorization_state').where('id', swapped.id)).authorization_state, 'waiting');
  });
});
