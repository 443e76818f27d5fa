import assert from 'node:assert/strict';
import { hashState } from '../../src/auth/pending-flows.js';
import { ADMIN, ALICE, CAROL, makeEngine } from '../helpers/engine.js';
import type { Engine } from '../../src/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { Agent } from '../helpers/agent.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { expectError, expectOk, only, q } from '../helpers/xml.js';

const OAUTH2 = '<CLIENT_ID>nori-client</CLIENT_ID><CLIENT_SECRET>nori-secret</CLIENT_SECRET><AUTHORIZE_URL>https://provider.test/authorize</AUTHORIZE_URL><TOKEN_URL>https://provider.test/token</TOKEN_URL><SCOPES>read write</SCOPES>';
const RETURN = 'https://cms.test/accounts/';

describe('AUTHORIZE and the callback (no provider needed)', () => {
  let engine: Engine;
  let server: RunningServer;
  const run = async (xml: string, who = ALICE) => only(await engine.execute(q(xml), who));
  const authorize = (id: number, extra = '', who = ALICE) => run(`<AUTHORIZE><WEBACCOUNT ID="${id}">${extra}</WEBACCOUNT></AUTHORIZE>`, who);
  const state = async (id: number) => (await engine.database.knex('webaccount').first('authorization_state', 'state_reason').where('id', id)) as { authorization_state: string; state_reason: string | null };
  /** The user's browser: nori is https://nori.test to it, served by the test server. */
  let browser: Agent;
  const callback = (params: Record<string, string>) => browser.request(`https://nori.test/oauth/callback?${new URLSearchParams(params)}`);
  /** Follows AUTHORIZE's start link in the browser: the provider's URL it is sent to. */
  async function providerUrl(link: string): Promise<URL> {
    const hop = await browser.request(link);
    assert.equal(hop.status, 303, hop.body);
    return new URL(hop.location!);
  }

  before(async function () {
    this.timeout(60_000);
    engine = await makeEngine({ authorization: { publicUrl: 'https://nori.test', returnUrls: [RETURN], flowTtlSeconds: 600 } });
    server = await startServer(engine);
  });
  after(async () => {
    await server.close();
    await engine.close();
  });
  beforeEach(async () => {
    browser = new Agent({ 'https://nori.test': server.url });
    await engine.database.knex.raw('TRUNCATE webaccount, webapi, nori_api_keys, nori_transitions, nori_pending_flows RESTART IDENTITY');
    await seedApi(engine, 'prov', OAUTH2);
  });

  it('answers a start link leading to the provider URL with a fresh state, PKCE S256 and the scopes, and moves the account to requested', async () => {
    const id = await seedAccount(engine, ALICE, 'prov');
    const r = expectOk(await authorize(id, `<RETURN_URL>${RETURN}done?x=1</RETURN_URL>`));
    assert.equal(r.attrs.elementID, String(id));
    assert.match(r.attrs.url!, /^https:\/\/nori\.test\/oauth\/start\?flow=[\w-]{43}$/);
    const url = await providerUrl(r.attrs.url!);
    // Over https the binding cookie is Secure too (test/security/browser-binding.test.ts has the rest).
    assert.match(browser.cookie('nori_flow')!.header, /^nori_flow=[\w-]{43}; Path=\/oauth\/; Max-Age=600; HttpOnly; SameSite=Lax; Secure$/);
    assert.equal(url.origin + url.pathname, 'https://provider.test/authorize');
    const p = url.searchParams;
    assert.equal(p.get('response_type'), 'code');
    assert.equal(p.get('client_id'), 'nori-client');
    assert.equal(p.get('redirect_uri'), 'https://nori.test/oauth/callback');
    assert.equal(p.get('scope'), 'read write');
    assert.equal(p.get('code_challenge_method'), 'S256');
    assert.match(p.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
    assert.match(p.get('state')!, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!url.toString().includes('nori-secret'), 'the client secret never leaves');
    assert.equal((await state(id)).authorization_state, 'requested');
    const flow = await engine.database.knex('nori_pending_flows').first('*').where('account_id', id);
    assert.equal(flow.state_hash, hashState(p.get('state')!), 'only the hash of the state is stored');
    assert.ok(!JSON.stringify(flow).includes(p.get('state')!));
    const again = (await providerUrl(expectOk(await authorize(id)).attrs.url!)).searchParams;
    assert.notEqual(again.get('state'), p.get('state'), 'each AUTHORIZE has its own state');
  });

  it('refuses a return URL off the allowlist, as a security error, and leaves the account waiting', async () => {
    const id = await seedAccount(engine, ALICE, 'prov');
    for (const bad of ['https://evil.test/accounts/', 'https://cms.test/admin', 'http://cms.test/accounts/', 'https://cms.test.evil.test/accounts/', 'https://user@cms.test/accounts/', 'https://cms.test/accounts/../admin']) {
      const r = expectError(await authorize(id, `<RETURN_URL>${bad}</RETURN_URL>`), 'RETURN_URL_NOT_ALLOWED', '3');
      assert.equal(r.attrs.elementID, String(id), bad);
    }
    expectError(await authorize(id, '<RETURN_URL>javascript:alert(1)</RETURN_URL>'), 'INVALID_VALUE');
    assert.equal((await state(id)).authorization_state, 'waiting');
  });

  it("refuses AUTHORIZE on someone else's account, on a revoked account, on a disabled or incomplete WEBAPI", async () => {
    const mine = await seedAccount(engine, ALICE, 'prov', '<PUBLIC>W</PUBLIC>');
    expectError(await authorize(mine, '', CAROL), 'FORBIDDEN', '3');
    const hidden = await seedAccount(engine, ALICE, 'prov');
    expectError(await authorize(hidden, '', CAROL), 'NOT_VISIBLE', '3');
    expectOk(await run(`<UPDATE><WEBACCOUNT ID="${mine}"><INFO><AUTHORIZATION_STATE>revoked</AUTHORIZATION_STATE></INFO></WEBACCOUNT></UPDATE>`));
    expectError(await authorize(mine), 'ILLEGAL_TRANSITION');
    expectOk(await authorize(hidden, '', ADMIN));

    await seedApi(engine, 'bare', '<CLIENT_ID>x</CLIENT_ID>');
    expectError(await authorize(await seedAccount(engine, ALICE, 'bare')), 'WEBAPI_INCOMPLETE');
    // An API key (or a consent service's token) is checked by the WEBAPI's plugin: there must be a key, and a
    // plugin to check it.
    await seedApi(engine, 'consenting', '', 'consent');
    expectError(await authorize(await seedAccount(engine, ALICE, 'consenting')), 'KEY_MISSING');
    await seedApi(engine, 'keyed', '', 'apikey');
    expectError(await authorize(await seedAccount(engine, ALICE, 'keyed')), 'KEY_MISSING');
    expectError(await authorize(await seedAccount(engine, ALICE, 'keyed', '<TOKEN>k-123</TOKEN>')), 'PLUGIN_MISSING');
    const onProv = await seedAccount(engine, ALICE, 'prov');
    await engine.database.knex('webapi').update({ activity: 0 }).where('denomination', 'prov');
    expectError(await authorize(onProv), 'WEBAPI_INACTIVE');
  });

  it('a forged state, a missing state, a replayed callback: refused, the account consistent', async () => {
    const id = await seedAccount(engine, ALICE, 'prov');
    const url = await providerUrl(expectOk(await authorize(id, `<RETURN_URL>${RETURN}done</RETURN_URL>`)).attrs.url!);
    const forged = await callback({ state: 'A'.repeat(43), code: 'x' });
    assert.equal(forged.status, 400);
    assert.match(forged.body, /CALLBACK_INVALID/);
    assert.equal((await callback({ code: 'x' })).status, 400);
    const denied = await callback({ state: url.searchParams.get('state')!, error: 'access_denied', error_description: 'User said no' });
    assert.equal(denied.status, 303);
    const back = new URL(denied.location!);
    assert.equal(back.origin + back.pathname, `${RETURN}done`);
    assert.deepEqual(Object.fromEntries(back.searchParams), { webaccount: String(id), outcome: 'error', error: 'ACCESS_DENIED' });
    assert.deepEqual(await state(id), { authorization_state: 'waiting', state_reason: 'the service answered access_denied: User said no' });
    const replay = await callback({ state: url.searchParams.get('state')!, code: 'x' });
    assert.equal(replay.status, 409);
    assert.match(replay.body, /CALLBACK_REPLAYED/);
    assert.equal((await state(id)).authorization_state, 'waiting');
  });

  it('a superseded flow is refused; an expired one returns the account to waiting', async () => {
    const id = await seedAccount(engine, ALICE, 'prov');
    const first = (await providerUrl(expectOk(await authorize(id)).attrs.url!)).searchParams.get('state')!;
    const second = (await providerUrl(expectOk(await authorize(id)).attrs.url!)).searchParams.get('state')!;
    assert.equal((await callback({ state: first, code: 'x' })).status, 409);
    await engine.database.knex('nori_pending_flows').update({ expires_at: new Date(Date.now() - 1000) }).where('account_id', id).whereNull('used_at');
    const expired = await callback({ state: second, code: 'x' });
    assert.equal(expired.status, 410);
    assert.match(expired.body, /FLOW_EXPIRED/);
    assert.equal((await state(id)).authorization_state, 'waiting');
    const history = only(await engine.execute(q(`<GET><WEBACCOUNT ID="${id}"><RETURN><HISTORY/></RETURN></WEBACCOUNT></GET>`), ALICE));
    assert.deepEqual(Object.keys(history.elements[0]!.fields), ['ID']);
  });

  it('a client may disable only an authorized account, enable only a disabled one, and revoke any; each move is recorded', async () => {
    const id = await seedAccount(engine, ALICE, 'prov');
    const set = (s: string) => run(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><AUTHORIZATION_STATE>${s}</AUTHORIZATION_STATE></INFO></WEBACCOUNT></UPDATE>`);
    expectError(await set('disabled'), 'ILLEGAL_TRANSITION');
    expectError(await set('authorized'), 'ILLEGAL_TRANSITION');
    expectOk(await authorize(id));
    expectOk(await set('revoked'));
    expectError(await set('revoked'), 'ILLEGAL_TRANSITION');
    const xml = await engine.execute(q(`<GET><WEBACCOUNT ID="${id}"><RETURN><INFO><AUTHORIZATION_STATE/></INFO><HISTORY/></RETURN></WEBACCOUNT></GET>`), ALICE);
    assert.match(xml, /<AUTHORIZATION_STATE>revoked<\/AUTHORIZATION_STATE><\/INFO><HISTORY><TRANSITION from="waiting" to="requested" event="request" contactID="2" date="[^"]+"\/><TRANSITION from="requested" to="revoked" event="revoke" contactID="2" date="[^"]+"\/><\/HISTORY>/);
    assert.equal((await engine.database.knex('nori_pending_flows').whereNull('used_at').where('account_id', id)).length, 0, 'revoking ends the pending flow');
  });
});
