/**
 * The LinkedIn plugin end to end: XML batches over nori's HTTP API, AUTHORIZE through the LinkedIn peer's
 * OAuth 2.0 server and nori's real callback, then CALLs the peer answers as LinkedIn documents it.
 */
import assert from 'node:assert/strict';
import { useEngine } from '../../test/helpers/engine.js';
import { Agent } from '../../test/helpers/agent.js';
import { startServer, type RunningServer } from '../../test/helpers/server.js';
import { callResult, expectError, expectOk, only, q, textAt } from '../../test/helpers/xml.js';
import { authorizeCode, startLinkedInPeer, type LinkedInPeer } from '../../test/peers/linkedin.js';
import { definition } from './definition.js';

const CLIENT = { clientId: '86nori', clientSecret: 'nori-linkedin-secret', redirectUris: ['http://nori.test/oauth/callback'] };
const VERSION = definition.settings.API_VERSION.default;
const xmlText = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** Reads little text back: a backslash makes the next character literal. */
const unlittle = (s: string) => s.replace(/\\([\s\S])/g, '$1');
const THROTTLE = JSON.stringify({ status: 429, serviceErrorCode: 101, code: 'TOO_MANY_REQUESTS', message: 'Resource level throttle APPLICATION DAY limit for calls to this resource is reached.' });

describe('linkedin plugin (against the LinkedIn peer)', () => {
  const ctx = useEngine({ authorization: { publicUrl: 'http://nori.test' }, calls: { budgetMs: 2000 } });
  let server: RunningServer;
  let li: LinkedInPeer;
  const keys = { admin: '', alice: '', carol: '' };

  before(async () => {
    server = await startServer(ctx.engine);
  });
  after(() => server.close());
  beforeEach(async () => {
    // Only the plugin's default version is live, so a test also proves which version nori sends.
    li = await startLinkedInPeer({ clients: [CLIENT], activeVersions: [VERSION] });
    keys.admin = (await ctx.engine.keys.create({ contactId: 1, groups: [], admin: true })).key;
    keys.alice = (await ctx.engine.keys.create({ contactId: 2, groups: [], admin: false })).key;
    keys.carol = (await ctx.engine.keys.create({ contactId: 4, groups: [20], admin: false })).key;
  });
  afterEach(() => li.close());

  async function batch(key: string, ...commands: string[]): Promise<string> {
    const res = await fetch(`${server.url}/`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, body: q(...commands) });
    return res.text();
  }
  const call = (key: string, id: string, method: string) => batch(key, `<CALL><WEBACCOUNT ID="${id}">${method}</WEBACCOUNT></CALL>`);
  const post = (id: string, text: string, extra = '') => call(keys.alice, id, `<POSTMESSAGE><TEXT>${xmlText(text)}</TEXT>${extra}</POSTMESSAGE>`);

  /** The admin's WEBAPI pointing at the peer, Alice's account on it, authorized the real way; its ID. */
  async function authorizedAccount(apiExtra = ''): Promise<string> {
    const urls = `<BASE_URL>${li.url}</BASE_URL><AUTHORIZE_URL>${li.url}/oauth/v2/authorization</AUTHORIZE_URL><TOKEN_URL>${li.url}/oauth/v2/accessToken</TOKEN_URL>`;
    expectOk(only(await batch(keys.admin, `<CREATE><WEBAPI><INFO><DENOMINATION>linkedin</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><CLIENT_ID>${CLIENT.clientId}</CLIENT_ID><CLIENT_SECRET>${CLIENT.clientSecret}</CLIENT_SECRET>${urls}${apiExtra}</INFO></WEBAPI></CREATE>`)));
    const id = expectOk(only(await batch(keys.alice, '<CREATE><WEBACCOUNT><INFO><API>linkedin</API></INFO></WEBACCOUNT></CREATE>'))).attrs.elementID!;
    const start = expectOk(only(await batch(keys.alice, `<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`)));
    const browser = new Agent({ 'http://nori.test': server.url });
    const done = await browser.request(await authorizeCode(start.attrs.url!, browser));
    assert.equal(done.status, 200, done.body);
    return id;
  }
  async function accountState(id: string) {
    const reply = only(await batch(keys.alice, `<GET><WEBACCOUNT ID="${id}"><RETURN><INFO><AUTHORIZATION_STATE/><STATE_REASON/></INFO></RETURN></WEBACCOUNT></GET>`));
    return reply.elements[0]!.fields;
  }

  it('authorizes through LinkedIn, reads the profile and posts as the member, text escaped as little text', async () => {
    const id = await authorizedAccount();
    assert.equal(li.grants.authorization_code, 1);
    const profile = callResult(await call(keys.alice, id, '<GETPROFILE/>'));
    assert.deepEqual(
      ['sub', 'name', 'given_name', 'family_name', 'picture', 'email', 'email_verified', 'locale/country'].map((p) => textAt(profile, p)),
      [li.member.sub, 'Ada Lovelace', 'Ada', 'Lovelace', li.member.picture, 'ada@example.org', 'true', 'GB'],
    );

    const text = String.raw`Café (déjà vu) [v2] {x} <b> @ada | ~ _i_ *b* #nori \ fin: naïve & ok`;
    const posted = callResult(await post(id, text));
    const stored = li.posts[0]!;
    const author = `urn:li:person:${li.member.sub}`;
    assert.deepEqual([textAt(posted, 'id'), textAt(posted, 'author'), textAt(posted, 'visibility')], [stored.id, author, 'PUBLIC']);
    assert.deepEqual(stored.body, {
      author,
      commentary: String.raw`Café \(déjà vu\) \[v2\] \{x\} \<b\> \@ada \| \~ \_i\_ \*b\* \#nori \\ fin: naïve & ok`,
      visibility: 'PUBLIC',
      distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
      lifecycleState: 'PUBLISHED',
      isReshareDisabledByAuthor: false,
    });
    assert.equal(unlittle(stored.body.commentary as string), text);
    const sent = li.requests.find((r) => r.method === 'POST' && r.path === '/rest/posts')!;
    assert.deepEqual([sent.headers['linkedin-version'], sent.headers['x-restli-protocol-version']], [VERSION, '2.0.0']);
    assert.match(sent.headers.authorization ?? '', /^Bearer AQV/);
    assert.equal(li.count('/v2/userinfo'), 2, 'GETPROFILE, then POSTMESSAGE reading its author');

    expectOk(only(await post(id, 'For my network', '<VISIBILITY>CONNECTIONS</VISIBILITY>')));
    assert.equal(li.posts[1]!.body.visibility, 'CONNECTIONS');
  });

  it('refreshes an expired token once, then answers', async () => {
    const id = await authorizedAccount();
    li.expireAll();
    assert.equal(textAt(callResult(await call(keys.alice, id, '<GETPROFILE/>')), 'sub'), li.member.sub);
    callResult(await call(keys.alice, id, '<GETPROFILE/>'));
    assert.equal(li.grants.refresh_token, 1, 'refreshed once, and the fresh token was kept');
    assert.equal(li.count('/v2/userinfo'), 3, 'the refused request, its retry, and the next CALL');
  });

  it('a member who revoked the app: the refresh is refused and the account waits for AUTHORIZE again', async () => {
    const id = await authorizedAccount();
    const creds = await ctx.engine.credentials(Number(id));
    assert.ok('accessToken' in creds);
    li.revoke(creds.accessToken);
    expectError(only(await post(id, 'Never posted')), 'REFRESH_REJECTED');
    assert.deepEqual([li.count('/rest/posts'), li.refusals.invalid_grant], [0, 1]);
    const state = await accountState(id);
    assert.equal(state.AUTHORIZATION_STATE, 'waiting');
    assert.match(state.STATE_REASON!, /invalid_grant/);
    expectError(only(await call(keys.alice, id, '<GETPROFILE/>')), 'NOT_AUTHORIZED');
    assert.equal(li.count('/v2/userinfo'), 1, 'a waiting account never reaches LinkedIn');
  });

  it('429 on a post: not retried when Retry-After exceeds the budget, retried when it is short', async () => {
    const id = await authorizedAccount();
    li.inject({ status: 429, headers: { 'retry-after': '30' }, body: THROTTLE, path: '/rest/posts' });
    const limited = expectError(only(await post(id, 'Later')), 'SERVICE_RATE_LIMITED');
    assert.deepEqual([limited.attrs.serviceStatus, limited.attrs.retryAfter], ['429', '30']);
    assert.deepEqual([li.count('/rest/posts'), li.posts.length], [1, 0]);

    li.inject({ status: 429, headers: { 'retry-after': '1' }, body: THROTTLE, path: '/rest/posts' });
    expectOk(only(await post(id, 'Now')));
    assert.deepEqual([li.count('/rest/posts'), li.posts.length], [3, 1]);
  });

  it('a 5xx is retried for GETPROFILE, never for a post that may have happened', async () => {
    const id = await authorizedAccount();
    const failure = { status: 500, body: JSON.stringify({ status: 500, serviceErrorCode: 0, message: 'Internal Server Error' }) };
    li.inject({ ...failure, path: '/v2/userinfo' });
    expectOk(only(await call(keys.alice, id, '<GETPROFILE/>')));
    assert.equal(li.count('/v2/userinfo'), 2);
    li.inject({ ...failure, path: '/rest/posts' });
    const reply = expectError(only(await post(id, 'Maybe')), 'SERVICE_FAILED');
    assert.deepEqual([reply.attrs.serviceStatus, reply.attrs.serviceMessage, li.count('/rest/posts')], ['500', 'Internal Server Error', 1]);
  });

  it('a retired API_VERSION answers a MESSAGE telling an admin to update the setting', async () => {
    const id = await authorizedAccount('<SETTINGS><API_VERSION>202001</API_VERSION></SETTINGS>');
    const reply = expectError(only(await post(id, 'Hello')), 'SERVICE_ERROR');
    assert.deepEqual([reply.attrs.serviceStatus, reply.attrs.serviceError], ['426', 'NONEXISTENT_VERSION']);
    assert.match(reply.text, /Requested version 202001 is not active; an admin must set the WEBAPI's API_VERSION setting/);
    assert.match(reply.attrs.serviceMessage!, /API_VERSION/);
    assert.equal(li.requests.find((r) => r.path === '/rest/posts')!.headers['linkedin-version'], '202001');
    assert.equal(li.posts.length, 0);
  });

  it("LinkedIn's refusal reaches the caller with its code, serviceErrorCode and message", async () => {
    const id = await authorizedAccount('<SCOPES>openid profile email</SCOPES>');
    const reply = expectError(only(await post(id, 'Hello')), 'SERVICE_ERROR');
    assert.deepEqual([reply.attrs.serviceStatus, reply.attrs.serviceError, reply.attrs.serviceData], ['403', 'ACCESS_DENIED', '100']);
    assert.equal(reply.attrs.serviceMessage, `Not enough permissions to access: partnerApiPostsExternal.CREATE.${VERSION}`);
    assert.match(reply.text, /HTTP 403\): ACCESS_DENIED \(Not enough permissions/);
  });

  it('refuses a TEXT over 3000 characters before anything reaches LinkedIn, and takes 3000', async () => {
    const id = await authorizedAccount();
    const before = li.count();
    const reply = expectError(only(await post(id, 'é'.repeat(3001))), 'PARAM_INVALID');
    assert.match(reply.text, /TEXT.*at most 3000 characters/);
    assert.equal(li.count(), before);
    expectOk(only(await post(id, 'é'.repeat(3000))));
    assert.equal(li.posts[0]!.body.commentary, 'é'.repeat(3000));
  });

  it("another user's private account is NOT_VISIBLE; PUBLIC W lets anyone CALL it", async () => {
    const id = await authorizedAccount();
    expectError(only(await call(keys.carol, id, '<GETPROFILE/>')), 'NOT_VISIBLE', '3');
    assert.equal(li.count('/v2/userinfo'), 0);
    expectOk(only(await batch(keys.alice, `<UPDATE><WEBACCOUNT ID="${id}"><INFO><PUBLIC>W</PUBLIC></INFO></WEBACCOUNT></UPDATE>`)));
    assert.equal(textAt(callResult(await call(keys.carol, id, '<GETPROFILE/>')), 'sub'), li.member.sub);
  });
});
