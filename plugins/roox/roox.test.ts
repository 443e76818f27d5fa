/**
 * The roox plugin end to end: XML batches over nori's HTTP API against the RooX Federation WebAPI peer, with
 * oidc-provider as the RooX UIDM's OAuth 2.0 server. nori AUTHORIZEs against it like a browser would, and the
 * peer accepts exactly the provider's live tokens (introspection; the login typed is the customer id).
 * Every example of test/fixtures/roox/index.json is replayed through CALL.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Element } from '@xmldom/xmldom';
import pino from 'pino';
import { useEngine } from '../../test/helpers/engine.js';
import { Agent } from '../../test/helpers/agent.js';
import { startServer, type RunningServer } from '../../test/helpers/server.js';
import { callReplies, callResult, childElements, expectError, expectOk, only, q } from '../../test/helpers/xml.js';
import { authorizeHeadlessly, startOAuth2Provider } from '../../test/peers/oauth2-provider.js';
import { authorizeCode } from '../../test/peers/oauth2-server.js';
import { startRooxPeer, type RooxPeer, type RooxPeerOptions } from '../../test/peers/roox.js';

const PUBLIC = 'http://nori.test';
const CLIENT = { clientId: 'nori-roox', clientSecret: 'nori-roox-secret-0123456789abcdef0123', redirectUris: [`${PUBLIC}/oauth/callback`] };
const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`../../test/fixtures/roox/${name}`, import.meta.url), 'utf8'));
interface Example { name: string; request: { method: string; path: string }; response: { status: number; body: string | null }; peer: { customerId: string; path?: string; apiVersion?: `webapi-${number}.${number}`; seedMappingId?: number } }
const examples = new Map((fixture('index.json') as Example[]).map((e) => [e.name, e]));
const example = (name: string) => examples.get(name)!;
/** The document's JSON as nori's XML carries it: every scalar as text. */
const asText = (v: unknown): unknown => JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'number' ? String(x) : x)));
/** A result element read back as JSON (ITEM children are an array), so absent and empty fields differ. */
function toJson(el: Element): unknown {
  const kids = childElements(el);
  if (!kids.length) return el.textContent ?? '';
  if (kids.every((k) => k.tagName === 'ITEM')) return kids.map(toJson);
  return Object.fromEntries(kids.map((k) => [k.tagName, toJson(k)]));
}
const CONTEXT_ID = /^[A-Z0-9]{14}$/;

describe('roox plugin (RooX Federation WebAPI peer, oidc-provider as the UIDM)', function () {
  this.timeout(60_000);
  const logs: { level: number; code?: string; msg: string }[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  // Only this plugin: a half-written plugin elsewhere under plugins/ must not stop this suite.
  const plugins = { builtins: false, folders: [fileURLToPath(new URL('.', import.meta.url))] };
  const ctx = useEngine({ authorization: { publicUrl: PUBLIC }, calls: { timeoutMs: 2000, maxAttempts: 3, budgetMs: 5000 }, logger, plugins });
  let server: RunningServer;
  let op: Awaited<ReturnType<typeof startOAuth2Provider>>;
  let peer: RooxPeer | undefined;
  const keys = { admin: '', alice: '' };

  before(async () => {
    server = await startServer(ctx.engine);
    op = await startOAuth2Provider(CLIENT);
  });
  after(async () => {
    await server.close();
    await op.close();
  });
  beforeEach(async () => {
    logs.length = 0;
    keys.admin = (await ctx.engine.keys.create({ contactId: 1, groups: [], admin: true })).key;
    keys.alice = (await ctx.engine.keys.create({ contactId: 2, groups: [], admin: false })).key;
  });
  afterEach(async () => {
    await peer?.close();
    peer = undefined;
  });

  async function batch(key: string, ...commands: string[]): Promise<string> {
    const res = await fetch(`${server.url}/`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, body: q(...commands) });
    return res.text();
  }
  const call = (id: string, method: string) => batch(keys.alice, `<CALL><WEBACCOUNT ID="${id}">${method}</WEBACCOUNT></CALL>`);

  /** A peer, the roox WEBAPI pointing at it and at the provider, and Alice's account AUTHORIZEd as `login`. */
  async function account(login: string, options: RooxPeerOptions = {}, settings = ''): Promise<string> {
    peer = await startRooxPeer({ introspect: op.introspect, ...options });
    const urls = `<BASE_URL>${peer.url}</BASE_URL><AUTHORIZE_URL>${op.authorizeUrl}</AUTHORIZE_URL><TOKEN_URL>${op.tokenUrl}</TOKEN_URL><REVOKE_URL>${op.revokeUrl}</REVOKE_URL><SCOPES>openid</SCOPES>`;
    expectOk(only(await batch(keys.admin, `<CREATE><WEBAPI><INFO><DENOMINATION>roox</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><CLIENT_ID>${CLIENT.clientId}</CLIENT_ID><CLIENT_SECRET>${CLIENT.clientSecret}</CLIENT_SECRET>${urls}${settings}</INFO></WEBAPI></CREATE>`)));
    const id = expectOk(only(await batch(keys.alice, '<CREATE><WEBACCOUNT><INFO><API>roox</API></INFO></WEBACCOUNT></CREATE>'))).attrs.elementID!;
    const start = expectOk(only(await batch(keys.alice, `<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`)));
    const browser = new Agent({ [PUBLIC]: server.url });
    const done = await browser.request(await authorizeHeadlessly(start.attrs.url!, `${PUBLIC}/oauth/callback`, { login, agent: browser }));
    assert.equal(done.status, 200, done.body);
    return id;
  }
  async function token(id: string): Promise<string> {
    const c = await ctx.engine.credentials(Number(id));
    assert.ok('accessToken' in c, JSON.stringify(c));
    return c.accessToken;
  }
  async function state(id: string): Promise<string | undefined> {
    return only(await batch(keys.alice, `<GET><WEBACCOUNT ID="${id}"><RETURN><INFO><AUTHORIZATION_STATE/></INFO></RETURN></WEBACCOUNT></GET>`)).elements[0]!.fields.AUTHORIZATION_STATE;
  }
  const lastRequest = () => peer!.requests.at(-1)!;

  it("the document's customer example: GETCUSTOMER reads the Customer, with the support ids as attributes", async () => {
    const ex = example('customer');
    const id = await account(ex.peer.customerId, { nodeId: 'ocb.node-7' });
    const result = callResult(await call(id, '<GETCUSTOMER/>'));
    assert.deepEqual(toJson(result), asText(fixture(ex.response.body!)));
    assert.match(result.getAttribute('contextId')!, CONTEXT_ID);
    assert.equal(result.getAttribute('nodeId'), 'ocb.node-7');
    const sent = lastRequest();
    assert.deepEqual([sent.method, sent.path, sent.headers.authorization], ['GET', ex.peer.path, `Bearer ${await token(id)}`]);
    assert.deepEqual(callReplies(await call(id, '<GETCUSTOMER/>'))[0]!.warnings, [], 'stable: no warning');
  });

  it("the document's partnerMappings example: every field of both mappings, and absent fields stay absent", async () => {
    const ex = example('partner-mappings');
    const id = await account(ex.peer.customerId);
    const result = callResult(await call(id, '<LISTMAPPINGS/>'));
    const list = toJson(result) as Record<string, Record<string, string>>[];
    assert.deepEqual(list, asText(fixture(ex.response.body!)));
    assert.deepEqual(list.map((m) => m.id), ['839672', '834665']);
    assert.deepEqual(Object.keys(list[1]!.externalUser!), ['userId', 'firstName', 'lastName', 'fullName', 'avatarUrl'], '834665 has no middleName, no avatarSmallUrl');
    assert.equal(list[0]!.externalUser!.middleName, '', '839672 has an empty one');
    assert.deepEqual([result.getAttribute('nodeId'), CONTEXT_ID.test(result.getAttribute('contextId')!)], ['ocb.hosted', true]);
    assert.deepEqual([lastRequest().method, lastRequest().path], ['GET', '/webapi-1.0/customers/@me/partnerMappings']);
  });

  it("the document's DELETE example (webapi-1.3, mapping 1112211) through API_VERSION; a second delete is 404", async () => {
    const ex = example('delete-partner-mapping');
    const id = await account(ex.peer.customerId, { apiVersion: ex.peer.apiVersion! }, `<SETTINGS><API_VERSION>${ex.peer.apiVersion}</API_VERSION></SETTINGS>`);
    peer!.addMapping({ ...peer!.mappings(ex.peer.customerId)[0]!, id: ex.peer.seedMappingId! });
    const result = callResult(await call(id, `<DELETEMAPPING><ID>${ex.peer.seedMappingId}</ID></DELETEMAPPING>`));
    assert.deepEqual(toJson(result), { id: '1112211' });
    assert.match(result.getAttribute('contextId')!, CONTEXT_ID);
    assert.deepEqual([lastRequest().method, lastRequest().path, lastRequest().headers.authorization], ['DELETE', '/webapi-1.3/partnerMappings/1112211', `Bearer ${await token(id)}`]);
    assert.deepEqual(peer!.mappings().map((m) => m.id), [839672, 834665]);
    const again = expectError(only(await call(id, '<DELETEMAPPING><ID>1112211</ID></DELETEMAPPING>')), 'SERVICE_ERROR');
    assert.deepEqual([again.attrs.serviceStatus, again.attrs.serviceError, again.attrs.serviceMessage], ['404', '404', 'The requested object does not exist']);
    assert.equal(peer!.count('/webapi-1.3/partnerMappings/'), 2, 'a 404 is not retried');
  });

  it("the document's 400 JMS error reaches the caller intact, with contextId and nodeId", async () => {
    const ex = example('error-400-jms');
    const id = await account(ex.peer.customerId);
    peer!.failNext400();
    const reply = expectError(only(await call(id, '<LISTMAPPINGS/>')), 'SERVICE_ERROR');
    const { serviceStatus, serviceError, serviceMessage, serviceData, contextId, nodeId } = reply.attrs;
    assert.deepEqual({ serviceStatus, serviceError, serviceMessage, serviceData }, { serviceStatus: '400', serviceError: '-1001', serviceMessage: 'JMS', serviceData: 'javax.xml.ws.soap.SOAPFaultException: Could not send Message' });
    assert.deepEqual(fixture(ex.response.body!), { error: { code: Number(serviceError), message: serviceMessage, data: serviceData } });
    assert.match(contextId!, CONTEXT_ID);
    assert.equal(nodeId, 'ocb.hosted');
    assert.match(reply.text, /refused LISTMAPPINGS \(HTTP 400\): -1001 \(JMS\)/);
    assert.deepEqual([lastRequest().path, peer!.count('/webapi-1.0/')], [ex.request.path, 1]);
  });

  it('experimental and deprecated maturity: a WARNING on the result and a warn-level log line, once per CALL', async () => {
    const id = await account('9165711402');
    peer!.setMaturity('customer', 'experimental');
    peer!.setMaturity('partnerMappings', 'deprecated');
    peer!.rateLimitNext(1, 0);
    const customer = callReplies(await call(id, '<GETCUSTOMER/>'))[0]!;
    assert.deepEqual(customer.warnings.map((w) => w.code), ['API_MATURITY'], 'one warning although two answers said so');
    assert.match(customer.warnings[0]!.text, /experimental/);
    const list = callReplies(await call(id, '<LISTMAPPINGS/>'))[0]!;
    assert.equal(list.result?.tagName, 'LISTMAPPINGS');
    assert.match(list.warnings.map((w) => `${w.code}: ${w.text}`).join(), /^API_MATURITY: .*deprecated.*removed/);
    assert.deepEqual(logs.filter((l) => l.code === 'API_MATURITY').map((l) => [l.level, /experimental|deprecated/.exec(l.msg)?.[0]]), [[40, 'experimental'], [40, 'deprecated']]);
  });

  it('a 401 refreshes the token once at the UIDM and the CALL goes through with the new one', async () => {
    const id = await account('9165711402');
    const first = await token(id);
    const refreshes = op.grants.refresh_token ?? 0;
    peer!.failNext(401);
    assert.equal((toJson(callResult(await call(id, '<LISTMAPPINGS/>'))) as unknown[]).length, 2);
    assert.equal(op.grants.refresh_token, refreshes + 1);
    const fresh = await token(id);
    assert.notEqual(fresh, first);
    assert.deepEqual(peer!.requests.map((r) => r.headers.authorization), [`Bearer ${first}`, `Bearer ${fresh}`]);
  });

  it('a token revoked at the UIDM whose refresh also fails: REFRESH_REJECTED, the account waits for AUTHORIZE', async () => {
    const id = await account('9165711402');
    const access = await token(id);
    const row = await ctx.engine.database.knex('webaccount').first('refresh_token').where('id', Number(id));
    const refresh = ctx.engine.keyring.decrypt(row.refresh_token, 'webaccount.refresh_token', { element: 'WEBACCOUNT', id: Number(id) });
    // Revoking the refresh token revokes its whole grant at oidc-provider, the access token with it.
    const basic = `Basic ${Buffer.from(`${CLIENT.clientId}:${CLIENT.clientSecret}`).toString('base64')}`;
    assert.equal((await fetch(op.revokeUrl, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: refresh }) })).status, 200);
    assert.equal((await op.introspect(access)).active, false);
    const reply = expectError(only(await call(id, '<GETCUSTOMER/>')), 'REFRESH_REJECTED');
    assert.match(reply.attrs.contextId!, CONTEXT_ID, "the peer's 401 answer, for support");
    assert.equal(await state(id), 'waiting');
    expectError(only(await call(id, '<GETCUSTOMER/>')), 'NOT_AUTHORIZED');
    assert.equal(peer!.count(), 1, 'a waiting account never reaches RooX');
  });

  it('a 401 even after a successful refresh: SERVICE_UNAUTHORIZED, the account waits', async () => {
    const id = await account('9165711402');
    peer!.failNext(401, 2);
    const reply = expectError(only(await call(id, '<LISTMAPPINGS/>')), 'SERVICE_UNAUTHORIZED');
    assert.deepEqual([reply.attrs.serviceStatus, reply.attrs.nodeId], ['401', 'ocb.hosted']);
    assert.equal(await state(id), 'waiting');
  });

  it('429: a short Retry-After is waited out, a long one refused with SERVICE_RATE_LIMITED', async () => {
    const id = await account('9165711402');
    peer!.rateLimitNext(1, 1);
    expectOk(only(await call(id, '<DELETEMAPPING><ID>839672</ID></DELETEMAPPING>')));
    assert.deepEqual([peer!.count('/webapi-1.0/partnerMappings/839672'), peer!.mappings().length], [2, 1]);
    peer!.rateLimitNext(1, 30);
    const limited = expectError(only(await call(id, '<GETCUSTOMER/>')), 'SERVICE_RATE_LIMITED');
    assert.deepEqual([limited.attrs.serviceStatus, limited.attrs.retryAfter, limited.attrs.nodeId], ['429', '30', 'ocb.hosted']);
    assert.equal(peer!.count('/webapi-1.0/customers/@me'), 1);
  });

  it('403 and 500 keep their status and RooX error; a 500 is retried for these idempotent methods', async () => {
    const id = await account('9165711402');
    peer!.failNext(403);
    const denied = expectError(only(await call(id, '<LISTMAPPINGS/>')), 'SERVICE_ERROR');
    assert.deepEqual([denied.attrs.serviceStatus, denied.attrs.serviceError, denied.attrs.serviceMessage], ['403', '403', 'The user has no right to perform this request']);
    peer!.failNext(500);
    expectOk(only(await call(id, '<GETCUSTOMER/>')));
    peer!.failNext(500, 3);
    const failed = expectError(only(await call(id, '<GETCUSTOMER/>')), 'SERVICE_FAILED');
    assert.deepEqual([failed.attrs.serviceStatus, failed.attrs.serviceMessage, CONTEXT_ID.test(failed.attrs.contextId!)], ['500', 'General server error', true]);
    assert.equal(peer!.count(), 1 + 2 + 3);
  });

  it('refuses a mapping ID that is not digits before anything is sent', async () => {
    const id = await account('9165711402');
    for (const bad of ['../customers/@me', '839672/x', '12a', '١٢٣', '8%2F1']) {
      const reply = expectError(only(await call(id, `<DELETEMAPPING><ID>${bad}</ID></DELETEMAPPING>`)), 'PARAM_INVALID');
      assert.match(reply.text, /ID/);
    }
    expectError(only(await call(id, '<DELETEMAPPING/>')), 'PARAM_MISSING');
    assert.equal(peer!.count(), 0);
  });

  /**
   * A peer playing the UIDM too (no default scope: RFC 6749 §3.3), the roox WEBAPI at it with `scopes` as its SCOPES
   * (none: the plugin's default), and Alice's account through AUTHORIZE and the callback: the callback's answer.
   */
  async function viaUidm(scopes: string | undefined, uidm: { grant?: (asked: readonly string[]) => readonly string[]; deny?: string } = {}) {
    peer = await startRooxPeer({ uidm: { client: CLIENT, customerId: '9165711402', ...(uidm.grant ? { grant: uidm.grant } : {}) } });
    const urls = `<BASE_URL>${peer.url}</BASE_URL><AUTHORIZE_URL>${peer.uidm!.authorizeUrl}</AUTHORIZE_URL><TOKEN_URL>${peer.uidm!.tokenUrl}</TOKEN_URL>${scopes === undefined ? '' : `<SCOPES>${scopes}</SCOPES>`}`;
    expectOk(only(await batch(keys.admin, `<CREATE><WEBAPI><INFO><DENOMINATION>roox</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><CLIENT_ID>${CLIENT.clientId}</CLIENT_ID><CLIENT_SECRET>${CLIENT.clientSecret}</CLIENT_SECRET>${urls}</INFO></WEBAPI></CREATE>`)));
    const id = expectOk(only(await batch(keys.alice, '<CREATE><WEBACCOUNT><INFO><API>roox</API></INFO></WEBACCOUNT></CREATE>'))).attrs.elementID!;
    const startLink = expectOk(only(await batch(keys.alice, `<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`))).attrs.url!;
    const browser = new Agent({ [PUBLIC]: server.url });
    const url = new URL((await browser.request(startLink)).location!);
    if (uidm.deny) peer.uidm!.denyNext(uidm.deny);
    const back = new URL(await authorizeCode(url.toString(), browser));
    const done = await browser.request(`${PUBLIC}/oauth/callback${back.search}`);
    const row = await ctx.engine.database.knex('webaccount').first('authorization_state', 'state_reason', 'token', 'refresh_token', 'granted_scopes').where('id', Number(id));
    return { id, asked: url.searchParams.get('scope'), back, done, code: /<code id="code">([^<]*)<\/code>/.exec(done.body)?.[1], row };
  }

  it('with no SCOPES, AUTHORIZE asks for the plugin\'s default, openid, which a UIDM without a default scope grants', async () => {
    const { id, asked, done, code, row } = await viaUidm(undefined);
    assert.equal(asked, 'openid');
    assert.deepEqual([done.status, code], [200, 'AUTHORIZED']);
    assert.deepEqual([row.authorization_state, row.granted_scopes], ['authorized', 'openid']);
    assert.deepEqual(toJson(callResult(await call(id, '<GETCUSTOMER/>'))), { id: '9165711402', msisdn: '9165711402' });
  });

  it('scopes the UIDM refuses (invalid_scope) are SCOPE_REFUSED, for an admin to fix; the user\'s refusal stays ACCESS_DENIED', async () => {
    const refused = await viaUidm('openid federation.read');
    assert.equal(refused.back.searchParams.get('error'), 'invalid_scope');
    assert.deepEqual([refused.done.status, refused.code], [403, 'SCOPE_REFUSED']);
    assert.match(refused.done.body, /refused the scopes nori asked for \(openid federation\.read\): invalid_scope; an administrator must set the WEBAPI&#39;s SCOPES/);
    assert.deepEqual([refused.row.authorization_state, refused.row.state_reason, refused.row.token], ['waiting', 'the service answered invalid_scope: scope not allowed: federation.read', null]);
    await peer!.close();
    await ctx.engine.database.knex('webapi').where('denomination', 'roox').delete();
    const denied = await viaUidm(undefined, { deny: 'access_denied' });
    assert.deepEqual([denied.done.status, denied.code, denied.row.authorization_state], [403, 'ACCESS_DENIED', 'waiting']);
    assert.equal(denied.row.state_reason, 'the service answered access_denied: the user refused to authorize the app');
  });

  it('a token answer that grants none of the scopes asked is SCOPE_REFUSED too, and no token is kept', async () => {
    const other = await viaUidm('openid', { grant: () => ['profile'] });
    assert.deepEqual([other.done.status, other.code], [403, 'SCOPE_REFUSED']);
    assert.match(other.done.body, /refused the scopes nori asked for \(openid\): the token grants only profile;/);
    assert.deepEqual([other.row.authorization_state, other.row.token, other.row.refresh_token, other.row.granted_scopes], ['waiting', null, null, null]);
    assert.equal(other.row.state_reason, 'token exchange failed: invalid_scope (the token grants only profile)');
    await peer!.close();
    await ctx.engine.database.knex('webapi').where('denomination', 'roox').delete();
    const none = await viaUidm(undefined, { grant: () => [] });
    assert.deepEqual([none.code, none.row.token], ['SCOPE_REFUSED', null]);
    assert.match(none.done.body, /\(openid\): the token grants no scope;/);
  });

  it('without URLs on the WEBAPI, AUTHORIZE goes to the placeholder SSO host an admin must replace', async () => {
    expectOk(only(await batch(keys.admin, `<CREATE><WEBAPI><INFO><DENOMINATION>roox</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><CLIENT_ID>${CLIENT.clientId}</CLIENT_ID><CLIENT_SECRET>${CLIENT.clientSecret}</CLIENT_SECRET></INFO></WEBAPI></CREATE>`)));
    const id = expectOk(only(await batch(keys.alice, '<CREATE><WEBACCOUNT><INFO><API>roox</API></INFO></WEBACCOUNT></CREATE>'))).attrs.elementID!;
    const start = expectOk(only(await batch(keys.alice, `<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`)));
    const provider = (await new Agent({ [PUBLIC]: server.url }).request(start.attrs.url!)).location!;
    assert.ok(provider.startsWith('https://sso.example.invalid/sso/oauth2/authorize?'), provider);
    assert.equal(new URL(provider).searchParams.get('scope'), 'openid', 'the plugin\'s default scope');
  });
});
