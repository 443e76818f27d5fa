import assert from 'node:assert/strict';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import OAuth from 'oauth-1.0a';
import { authorizeHeadlessly, startOAuth2Provider } from './oauth2-provider.js';
import { startXApi, type XApiPeer, type XUser } from './x-api.js';

// Signed by oauth-1.0a, a client independent of both the peer and nori.
const consumer = { key: 'x-consumer', secret: 'x-consumer-secret' };
const client = () => new OAuth({ consumer, signature_method: 'HMAC-SHA1', hash_function: (base, key) => createHmac('sha1', key).update(base).digest('base64') });
const sign = (method: string, url: string, token?: OAuth.Token, data?: Record<string, string>, c = client()) =>
  c.toHeader(c.authorize({ method, url, ...(data ? { data } : {}) }, token)).Authorization;
const BOB: XUser = { id: '1002', name: 'Bob', username: 'bob' };
const PROBLEM_401 = { title: 'Unauthorized', type: 'about:blank', status: 401, detail: 'Unauthorized' };

describe('X API v2 peer', function () {
  this.timeout(30_000);
  let x: XApiPeer;
  let alice: OAuth.Token;
  beforeEach(async () => {
    x = await startXApi({ consumers: { [consumer.key]: consumer.secret }, users: [{ id: '1001', name: 'Alice', username: 'alice', created_at: '2009-06-22T20:27:41.000Z', description: 'hi' }, BOB] });
    const issued = x.oauth1.issue(consumer.key);
    alice = { key: issued.token, secret: issued.secret };
  });
  afterEach(() => x.close());

  const tweet = (text: unknown, authorization: string, url = `${x.url}/2/tweets`) =>
    fetch(url, { method: 'POST', headers: { authorization, 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
  const get = (path: string, token = alice) => fetch(`${x.url}${path}`, { headers: { authorization: sign('GET', `${x.url}${path}`, token) } });

  it('creates a tweet signed with OAuth 1.0a user context; the JSON body is not part of the signature', async () => {
    const res = await tweet('Hello from nori', sign('POST', `${x.url}/2/tweets`, alice));
    assert.equal(res.status, 201);
    const { data } = (await res.json()) as { data: { id: string; text: string; edit_history_tweet_ids: string[] } };
    assert.match(data.id, /^\d{15,19}$/);
    assert.deepEqual(data, { id: data.id, text: 'Hello from nori', edit_history_tweet_ids: [data.id] });
    assert.deepEqual(x.tweets.map((t) => [t.id, t.author_id]), [[data.id, '1001']]);
    for (const h of ['x-rate-limit-limit', 'x-rate-limit-remaining', 'x-rate-limit-reset']) assert.match(res.headers.get(h) ?? '', /^\d+$/, h);
    const bodySigned = await tweet('Hello again', sign('POST', `${x.url}/2/tweets`, alice, { text: 'Hello again' }));
    assert.equal(bodySigned.status, 401, 'a client that signs the JSON fields as form parameters is refused');
    assert.deepEqual(x.oauth1.rejected, { signature_invalid: 1 });
  });

  it('refuses a tampered signature, a reused nonce, a stale timestamp, an unknown token, and no credentials', async () => {
    const url = `${x.url}/2/tweets`;
    const signedForOtherQuery = sign('POST', `${url}?x=1`, alice);
    const good = sign('POST', url, alice);
    const stale = client();
    stale.getTimeStamp = () => Math.floor(Date.now() / 1000) - 3600;
    const cases: [string, string, string | undefined][] = [
      ['tampered signature', good.replace(/oauth_signature="([^"]{4})/, 'oauth_signature="AAAA'), 'signature_invalid'],
      ['query not the one signed', signedForOtherQuery, 'signature_invalid'],
      ['stale timestamp', sign('POST', url, alice, undefined, stale), 'timestamp_refused'],
      ['unknown token', sign('POST', url, { key: '1001-unknown', secret: alice.secret }), 'token_rejected'],
      ['wrong token secret', sign('POST', url, { key: alice.key, secret: 'not-it' }), 'signature_invalid'],
      ['no credentials', '', undefined],
    ];
    assert.equal((await tweet('first use of a nonce', good)).status, 201);
    cases.push(['reused nonce', good, 'nonce_used']);
    for (const [name, authorization, problem] of cases) {
      const before = problem ? (x.oauth1.rejected[problem as 'nonce_used'] ?? 0) : 0;
      const res = await tweet(`attempt: ${name}`, authorization);
      assert.equal(res.status, 401, name);
      assert.deepEqual(await res.json(), PROBLEM_401, name);
      if (problem) assert.equal(x.oauth1.rejected[problem as 'nonce_used'], before + 1, `${name} is refused as ${problem}`);
    }
    assert.equal(x.tweets.length, 1, 'no refused call created anything');
  });

  it('runs the three-legged flow: request_token, authorize, single-use access_token', async () => {
    const callback = 'http://plugin.test/callback?s=1';
    const rt = await fetch(`${x.url}/oauth/request_token`, { method: 'POST', headers: { authorization: sign('POST', `${x.url}/oauth/request_token`, undefined, { oauth_callback: callback }) } });
    assert.equal(rt.status, 200);
    const temp = new URLSearchParams(await rt.text());
    assert.equal(temp.get('oauth_callback_confirmed'), 'true');
    const page = await fetch(`${x.url}/oauth/authorize?oauth_token=${temp.get('oauth_token')}`);
    assert.match(await page.text(), /Approve.*Deny/s);
    const approved = await fetch(`${x.url}/oauth/authorize?oauth_token=${temp.get('oauth_token')}&decision=approve`, { redirect: 'manual' });
    assert.equal(approved.status, 302);
    const back = new URL(approved.headers.get('location')!);
    assert.equal(`${back.origin}${back.pathname}`, 'http://plugin.test/callback');
    assert.equal(back.searchParams.get('s'), '1');
    assert.equal(back.searchParams.get('oauth_token'), temp.get('oauth_token'));
    const tempToken = { key: temp.get('oauth_token')!, secret: temp.get('oauth_token_secret')! };
    const exchange = () => fetch(`${x.url}/oauth/access_token`, { method: 'POST', headers: { authorization: sign('POST', `${x.url}/oauth/access_token`, tempToken, { oauth_verifier: back.searchParams.get('oauth_verifier')! }) } });
    const at = await exchange();
    assert.equal(at.status, 200);
    const creds = new URLSearchParams(await at.text());
    assert.deepEqual([creds.get('user_id'), creds.get('screen_name')], ['1001', 'alice']);
    assert.equal((await exchange()).status, 401, 'the verifier and temporary credentials are single-use');
    const me = await get('/2/users/me?user.fields=created_at,description', { key: creds.get('oauth_token')!, secret: creds.get('oauth_token_secret')! });
    assert.deepEqual(await me.json(), { data: { id: '1001', name: 'Alice', username: 'alice', created_at: '2009-06-22T20:27:41.000Z', description: 'hi' } });

    const rt2 = new URLSearchParams(await (await fetch(`${x.url}/oauth/request_token`, { method: 'POST', headers: { authorization: sign('POST', `${x.url}/oauth/request_token`, undefined, { oauth_callback: callback }) } })).text());
    const denied = await fetch(`${x.url}/oauth/authorize?oauth_token=${rt2.get('oauth_token')}&decision=deny`, { redirect: 'manual' });
    assert.equal(new URL(denied.headers.get('location')!).searchParams.get('denied'), rt2.get('oauth_token'));
    const unsigned = await fetch(`${x.url}/oauth/request_token`, { method: 'POST', headers: { authorization: sign('POST', `${x.url}/oauth/request_token`) } });
    assert.equal(unsigned.status, 401, 'a request_token call without oauth_callback is refused');
  });

  it('invalidates an OAuth 1.0a token signed with it, as X documents POST /1.1/oauth/invalidate_token', async () => {
    const invalidate = (token: OAuth.Token, path = '/1.1/oauth/invalidate_token') => fetch(`${x.url}${path}`, { method: 'POST', headers: { authorization: sign('POST', `${x.url}${path}`, token) } });
    const forged = await invalidate({ key: alice.key, secret: 'not-its-secret' });
    assert.equal(forged.status, 401);
    assert.deepEqual(await forged.json(), { errors: [{ code: 32, message: 'Could not authenticate you.' }] });
    assert.equal((await get('/2/users/me')).status, 200, 'a refused invalidation invalidates nothing');
    const done = await invalidate(alice);
    assert.equal(done.status, 200);
    assert.deepEqual(await done.json(), { access_token: alice.key });
    assert.deepEqual(x.oauth1.invalidated, [alice.key]);
    assert.equal(x.oauth1.access.get(alice.key)!.revoked, true);
    assert.equal((await get('/2/users/me')).status, 401, 'the token is dead');
    const again = await invalidate(alice);
    assert.equal(again.status, 401);
    assert.deepEqual(await again.json(), { errors: [{ code: 89, message: 'Invalid or expired token.' }] });
    // X's example calls the .json spelling; a GET is no invalidation.
    const bob = x.oauth1.issue(consumer.key, '1002');
    assert.equal((await fetch(`${x.url}/1.1/oauth/invalidate_token`, { headers: { authorization: sign('GET', `${x.url}/1.1/oauth/invalidate_token`, { key: bob.token, secret: bob.secret }) } })).status, 404);
    assert.equal((await invalidate({ key: bob.token, secret: bob.secret }, '/1.1/oauth/invalidate_token.json')).status, 200);
    assert.equal(x.oauth1.access.get(bob.token)!.revoked, true);
  });

  it('accepts a bearer token from oidc-provider while it is active, and refuses it once revoked', async () => {
    const op = await startOAuth2Provider({ clientId: 'plugin', clientSecret: 'plugin-secret-0123456789abcdef0123', redirectUris: ['http://plugin.test/cb'] });
    const peer = await startXApi({ consumers: {}, introspect: op.introspect });
    try {
      const verifier = randomBytes(32).toString('base64url');
      const auth = new URL(op.authorizeUrl);
      const q = { response_type: 'code', client_id: 'plugin', redirect_uri: 'http://plugin.test/cb', scope: 'openid', state: 's', code_challenge: createHash('sha256').update(verifier).digest('base64url'), code_challenge_method: 'S256' };
      for (const [k, v] of Object.entries(q)) auth.searchParams.set(k, v);
      const code = new URL(await authorizeHeadlessly(auth.toString(), 'http://plugin.test/cb')).searchParams.get('code')!;
      const basic = `Basic ${Buffer.from('plugin:plugin-secret-0123456789abcdef0123').toString('base64')}`;
      const post = (url: string, body: Record<string, string>) => fetch(url, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
      const { access_token } = (await (await post(op.tokenUrl, { grant_type: 'authorization_code', code, redirect_uri: 'http://plugin.test/cb', code_verifier: verifier })).json()) as { access_token: string };
      const bearer = { authorization: `Bearer ${access_token}`, 'content-type': 'application/json' };
      const ok = await fetch(`${peer.url}/2/tweets`, { method: 'POST', headers: bearer, body: '{"text":"via OAuth 2.0"}' });
      assert.equal(ok.status, 201, 'sub "alice" names the user by username');
      assert.equal(peer.tweets[0]?.author_id, '1001');
      assert.equal((await post(op.revokeUrl, { token: access_token })).status, 200);
      const refused = await fetch(`${peer.url}/2/users/me`, { headers: bearer });
      assert.equal(refused.status, 401);
      assert.deepEqual(await refused.json(), PROBLEM_401);
    } finally {
      await peer.close();
      await op.close();
    }
  });

  it('checks scopes only when asked and the introspection lists them', async () => {
    const scopes: Record<string, string | undefined> = { reader: 'tweet.read users.read', writer: 'tweet.read tweet.write users.read', unscoped: undefined };
    const peer = await startXApi({ consumers: {}, checkScopes: true, introspect: async (t) => ({ active: t in scopes, sub: '1001', ...(scopes[t] ? { scope: scopes[t] } : {}) }) });
    try {
      const post = (token: string, text: string) => fetch(`${peer.url}/2/tweets`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ text }) });
      const denied = await post('reader', 'a');
      assert.equal(denied.status, 403);
      assert.deepEqual(await denied.json(), { title: 'Forbidden', type: 'about:blank', status: 403, detail: 'Forbidden' });
      assert.equal((await post('writer', 'b')).status, 201);
      assert.equal((await post('unscoped', 'c')).status, 201);
      assert.equal((await fetch(`${peer.url}/2/users/me`, { headers: { authorization: 'Bearer reader' } })).status, 200);
    } finally {
      await peer.close();
    }
  });

  it('validates the body, refuses duplicates, and deletes only the caller\'s own tweets', async () => {
    const auth = () => sign('POST', `${x.url}/2/tweets`, alice);
    const invalid = { title: 'Invalid Request', detail: 'One or more parameters to your request was invalid.', type: 'https://api.twitter.com/2/problems/invalid-request' };
    for (const text of [undefined, 42, '', 'x'.repeat(281)]) {
      const res = await tweet(text, auth());
      assert.equal(res.status, 400, String(text));
      const { errors, ...rest } = (await res.json()) as { errors: { message: string }[] };
      assert.deepEqual(rest, invalid);
      assert.match(errors[0]!.message, /text/);
    }
    const form = await fetch(`${x.url}/2/tweets`, { method: 'POST', headers: { authorization: auth(), 'content-type': 'text/plain' }, body: '{"text":"hi"}' });
    assert.equal(form.status, 400);
    assert.equal((await tweet('é'.repeat(280), auth())).status, 201, '280 characters, not bytes');
    const dup = await tweet('é'.repeat(280), auth());
    assert.equal(dup.status, 403);
    assert.deepEqual(await dup.json(), { detail: 'You are not allowed to create a Tweet with duplicate content.', type: 'about:blank', title: 'Forbidden', status: 403 });

    const bob = x.oauth1.issue(consumer.key, '1002');
    const bobs = (await (await tweet('Bob here', sign('POST', `${x.url}/2/tweets`, { key: bob.token, secret: bob.secret }))).json()) as { data: { id: string } };
    const del = (id: string) => fetch(`${x.url}/2/tweets/${id}`, { method: 'DELETE', headers: { authorization: sign('DELETE', `${x.url}/2/tweets/${id}`, alice) } });
    assert.equal((await del(bobs.data.id)).status, 403);
    const mine = x.tweets[0]!.id;
    const gone = await del(mine);
    assert.deepEqual([gone.status, await gone.json()], [200, { data: { deleted: true } }]);
    assert.deepEqual(await (await del(mine)).json(), { data: { deleted: false } });
    assert.deepEqual(x.tweets.map((t) => t.author_id), ['1002']);
  });

  it('pages a timeline newest first, every tweet exactly once, next_token only while more remain', async () => {
    for (let i = 0; i < 23; i++) assert.equal((await tweet(`tweet ${i}`, sign('POST', `${x.url}/2/tweets`, alice))).status, 201);
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await get(`/2/users/1001/tweets?max_results=5${token ? `&pagination_token=${token}` : ''}`);
      const body = (await res.json()) as { data: { id: string; text: string }[]; meta: { result_count: number; newest_id: string; oldest_id: string; next_token?: string } };
      assert.equal(body.meta.result_count, body.data.length);
      assert.deepEqual([body.meta.newest_id, body.meta.oldest_id], [body.data[0]!.id, body.data.at(-1)!.id]);
      seen.push(...body.data.map((t) => t.text));
      token = body.meta.next_token;
      pages += 1;
    } while (token);
    assert.equal(pages, 5);
    assert.deepEqual(seen, Array.from({ length: 23 }, (_, i) => `tweet ${22 - i}`));
    assert.deepEqual(await (await get('/2/users/1002/tweets')).json(), { meta: { result_count: 0 } });
    for (const n of ['4', '101', 'ten']) assert.equal((await get(`/2/users/1001/tweets?max_results=${n}`)).status, 400, n);
  });

  it('answers 429 on demand with retry-after and x-rate-limit-reset, then serves again', async () => {
    x.rateLimitNext(1, 7);
    const limited = await get('/2/users/me');
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('retry-after'), '7');
    assert.ok(Math.abs(Number(limited.headers.get('x-rate-limit-reset')) - (Date.now() / 1000 + 7)) < 3);
    assert.equal(limited.headers.get('x-rate-limit-remaining'), '0');
    assert.deepEqual(await limited.json(), { title: 'Too Many Requests', detail: 'Too Many Requests', type: 'about:blank', status: 429 });
    const remaining = async () => Number((await get('/2/users/me')).headers.get('x-rate-limit-remaining'));
    const first = await remaining();
    assert.equal(await remaining(), first - 1, 'the window counts down per call');
    assert.equal(x.count('/2/users/me'), 3);
  });
});
