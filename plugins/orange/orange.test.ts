/**
 * The orange plugin and nori's consent flow end to end: XML batches over HTTP, nori's start link and the Orange
 * peer's privacy page walked as a signed-in browser (a cookie jar), nori's callback, the kept CALL collected with
 * replay. Each of the document's three choices (this request only, permanently, reject) has its tested outcome.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../../src/engine.js';
import { ADMIN, ALICE, BOB, makeEngine } from '../../test/helpers/engine.js';
import { Agent } from '../../test/helpers/agent.js';
import { startServer, type RunningServer } from '../../test/helpers/server.js';
import { callResult, expectError, expectOk, only, q, textAt } from '../../test/helpers/xml.js';
import { startPeer, xml } from '../../test/peers/http-peer.js';
import { DEFAULT_FAMILIES, startOrangePeer, type Choice, type OrangePeer } from '../../test/peers/orange.js';

const PUBLIC = 'http://nori.test';
const CMS = 'https://cms.test/';

describe('orange plugin: Personal APIs behind the privacy-consent redirect', function () {
  this.timeout(30_000);
  let engine: Engine;
  let server: RunningServer;
  let orange: OrangePeer;
  const keys = { admin: '', alice: '', bob: '' };

  before(async () => {
    engine = await makeEngine({ plugins: { builtins: false, folders: [fileURLToPath(new URL('.', import.meta.url))] }, authorization: { publicUrl: PUBLIC, returnUrls: [CMS] } });
    server = await startServer(engine);
    keys.admin = (await engine.keys.create({ contactId: ADMIN.contactId, admin: true })).key;
    keys.alice = (await engine.keys.create({ contactId: ALICE.contactId })).key;
    keys.bob = (await engine.keys.create({ contactId: BOB.contactId })).key;
  });
  after(async () => {
    await server.close();
    await engine.close();
  });
  beforeEach(async () => {
    orange = await startOrangePeer();
    expectOk(only(await post(keys.admin, `<UPDATE><WEBAPI ID="1"><INFO><BASE_URL>${orange.url}</BASE_URL></INFO></WEBAPI></UPDATE>`)));
  });
  afterEach(() => orange.close());

  async function post(key: string, ...commands: string[]): Promise<string> {
    const res = await fetch(`${server.url}/`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, body: q(...commands) });
    return res.text();
  }
  const created = async (token: string) => Number(expectOk(only(await post(keys.alice, `<CREATE><WEBACCOUNT><INFO><API>orange</API><TOKEN>${token}</TOKEN></INFO></WEBACCOUNT></CREATE>`))).attrs.elementID);
  async function authorized(user = 'u1'): Promise<number> {
    const id = await created(orange.issueToken(user));
    assert.match(expectOk(only(await post(keys.alice, `<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`))).text, /is authorized on orange/);
    return id;
  }
  const contacts = (id: number, returnUrl = `${CMS}back`) => post(keys.alice, `<CALL><WEBACCOUNT ID="${id}"><RETURN_URL>${returnUrl}</RETURN_URL><GETCONTACTS/></WEBACCOUNT></CALL>`);
  const replay = (id: number, call: string, key = keys.alice) => post(key, `<CALL><WEBACCOUNT ID="${id}" replay="${call}"/></CALL>`);
  const state = (id: number) => engine.database.knex('webaccount').first('authorization_state', 'state_reason').where('id', id);

  /** A browser: nori is http://nori.test to it, answered by the test server. */
  const newBrowser = () => new Agent({ [PUBLIC]: server.url });
  /** Follows CONSENT_REQUIRED's url, nori's start link, in `browser`: the consent page it leads to. */
  async function consentPage(browser: Agent, link: string): Promise<string> {
    assert.match(link, /^http:\/\/nori\.test\/oauth\/start\?flow=[\w-]{43}$/);
    const hop = await browser.request(link);
    assert.equal(hop.status, 303, hop.body);
    return hop.location!;
  }
  /** The user at Orange's privacy page, signed in, making a choice; returns where the page sends the browser. */
  async function choose(browser: Agent, link: string, user: string, choice: Choice): Promise<string> {
    const res = await browser.request(`${await consentPage(browser, link)}&choice=${choice}`, { headers: { cookie: orange.signIn(user) } });
    assert.equal(res.status, 302, res.body);
    return res.location!;
  }

  /** A CALL that meets the consent page, the user's choice there, and nori's callback, in one browser. */
  async function consent(id: number, choice: Choice, user = 'u1') {
    const message = expectError(only(await contacts(id)), 'CONSENT_REQUIRED', '2');
    const browser = newBrowser();
    const back = new URL(await choose(browser, message.attrs.url!, user, choice));
    assert.equal(`${back.origin}${back.pathname}`, `${PUBLIC}/oauth/callback`);
    const done = await browser.request(back.toString());
    return { message, done };
  }

  it('authorizes an account whose Orange token is good, and refuses an unknown token', async () => {
    await authorized();
    const bad = await created('not-an-orange-token');
    expectError(only(await post(keys.alice, `<AUTHORIZE><WEBACCOUNT ID="${bad}"/></AUTHORIZE>`)), 'KEY_REJECTED');
    assert.deepEqual(await state(bad), { authorization_state: 'waiting', state_reason: 'the service refused the key: Orange does not know this token' });
  });

  it('answers the privacy exception with CONSENT_REQUIRED: a start link to the service\'s URL exactly, plus urlRetour to nori\'s callback', async () => {
    const id = await authorized();
    const m = expectError(only(await contacts(id)), 'CONSENT_REQUIRED', '2');
    const prefix = `${orange.url}/urm-gui/interaction.do?familly=contact&serviceId=${orange.serviceId}&attributes=,see&urlRetour=`;
    const page = await consentPage(newBrowser(), m.attrs.url!);
    assert.ok(page.startsWith(prefix), page);
    assert.match(decodeURIComponent(page.slice(prefix.length)), /^http:\/\/nori\.test\/oauth\/callback\?state=[A-Za-z0-9_-]{43}$/);
    assert.match(m.attrs.call!, /^[A-Za-z0-9_-]{32}$/);
    assert.match(m.text, /needs the user's consent before GETCONTACTS on WEBACCOUNT \d+: send the browser to the url attribute/);
    assert.deepEqual(await state(id), { authorization_state: 'requested', state_reason: 'the service asked the user\'s consent for GETCONTACTS' });
    expectError(only(await replay(id, m.attrs.call!)), 'REPLAY_PENDING');
  });

  it('a consent callback from another browser runs nothing and leaves the flow to the browser that followed the link', async () => {
    const id = await authorized();
    const m = expectError(only(await contacts(id)), 'CONSENT_REQUIRED', '2');
    const user = newBrowser();
    const back = await choose(user, m.attrs.url!, 'u1', 'once');
    const sent = orange.requests.length;
    const stranger = await newBrowser().request(back);
    assert.equal(stranger.status, 403);
    assert.match(stranger.body, /CALLBACK_UNBOUND/);
    assert.equal(orange.requests.length, sent, 'the kept CALL was not run again for the stranger');
    assert.equal((await state(id)).authorization_state, 'requested');
    expectError(only(await replay(id, m.attrs.call!)), 'REPLAY_PENDING');
    // Nor can a second browser take the start link over.
    assert.match((await newBrowser().request(m.attrs.url!)).body, /START_USED/);
    assert.equal((await user.request(back)).location, `${CMS}back?webaccount=${id}&outcome=authorized`);
    assert.equal(callResult(await replay(id, m.attrs.call!)).tagName, 'GETCONTACTS');
  });

  it('grant for this request only: the kept CALL is collected once, and the next CALL asks again', async () => {
    const id = await authorized();
    const { message, done } = await consent(id, 'once');
    assert.equal(done.status, 303);
    assert.equal(done.location, `${CMS}back?webaccount=${id}&outcome=authorized`);
    const r = callResult(await replay(id, message.attrs.call!));
    assert.equal(r.tagName, 'GETCONTACTS');
    assert.deepEqual([textAt(r, 'contacts/contact/firstName'), textAt(r, 'contacts/contact/email')], ['Marie', 'marie.dupont@example.org']);
    expectError(only(await replay(id, message.attrs.call!)), 'REPLAY_USED');
    expectError(only(await contacts(id)), 'CONSENT_REQUIRED', '2');
  });

  it('grant permanently: authorized, and later CALLs get the data directly', async () => {
    const id = await authorized();
    const { message } = await consent(id, 'permanent');
    assert.equal((await state(id)).authorization_state, 'authorized');
    assert.equal(textAt(callResult(await replay(id, message.attrs.call!)), 'contacts/contact/lastName'), 'Dupont');
    assert.equal(textAt(callResult(await contacts(id)), 'contacts/contact/lastName'), 'Dupont');
    assert.equal(orange.consentOf('u1', 'contact'), 'permanent');
  });

  it('reject: back to waiting with the reason, and the kept CALL says CONSENT_REFUSED', async () => {
    const id = await authorized();
    const { message, done } = await consent(id, 'reject');
    assert.equal(done.location, `${CMS}back?webaccount=${id}&outcome=error&error=CONSENT_REFUSED`);
    assert.deepEqual(await state(id), { authorization_state: 'waiting', state_reason: 'the user did not consent to GETCONTACTS at the service' });
    expectError(only(await replay(id, message.attrs.call!)), 'CONSENT_REFUSED');
    expectError(only(await contacts(id)), 'NOT_AUTHORIZED');
    const events = (await engine.database.knex('nori_transitions').select('event').where('account_id', id).orderBy('id')).map((e) => e.event);
    assert.deepEqual(events, ['request', 'grant', 'consent_required', 'fail']);
  });

  it('a deleted account: its consent callback runs nothing and stores nothing, and its kept CALL is not collected', async () => {
    const id = await authorized();
    const pending = expectError(only(await contacts(id)), 'CONSENT_REQUIRED', '2');
    const browser = newBrowser();
    const back = await choose(browser, pending.attrs.url!, 'u1', 'once');
    expectOk(only(await post(keys.alice, `<DELETE><WEBACCOUNT ID="${id}"/></DELETE>`)));
    const sent = orange.requests.length;
    const done = await browser.request(back);
    assert.equal(done.location, `${CMS}back?webaccount=${id}&outcome=error&error=ACCOUNT_DELETED`);
    assert.equal(orange.requests.length, sent, 'the kept CALL was not run again');
    assert.equal((await state(id)).authorization_state, 'waiting');
    // Another account, consented to and then deleted: its kept result is not collected until it is restored.
    const other = await authorized('u2');
    const { message } = await consent(other, 'once', 'u2');
    expectOk(only(await post(keys.alice, `<DELETE><WEBACCOUNT ID="${other}"/></DELETE>`)));
    expectError(only(await replay(other, message.attrs.call!)), 'ACCOUNT_DELETED');
    expectError(only(await replay(other, message.attrs.call!, keys.bob)), 'REPLAY_UNKNOWN', '3');
    expectOk(only(await post(keys.alice, `<UPDATE><WEBACCOUNT ID="${other}"><INFO><ACTIVITY>1</ACTIVITY></INFO></WEBACCOUNT></UPDATE>`)));
    assert.equal(textAt(callResult(await replay(other, message.attrs.call!)), 'contacts/contact/lastName'), 'Dupont');
  });

  it('keeps the CALL for its caller only, for a limited time, and refuses a return URL off the allowlist', async () => {
    const id = await authorized();
    expectError(only(await contacts(id, 'https://evil.test/')), 'RETURN_URL_NOT_ALLOWED', '3');
    const { message } = await consent(id, 'permanent');
    expectError(only(await replay(id, message.attrs.call!, keys.bob)), 'REPLAY_UNKNOWN', '3');
    expectError(only(await replay(id, 'x'.repeat(32))), 'REPLAY_UNKNOWN', '3');
    await engine.database.knex('nori_pending_flows').update({ result_at: new Date(Date.now() - 3_600_000) }).whereNotNull('call_hash');
    expectError(only(await replay(id, message.attrs.call!)), 'REPLAY_EXPIRED');
  });

  it('reads the document\'s own exception (XML-encoded URL, familly, raw commas) and keeps its parameters as sent', async () => {
    const fixture = readFileSync(new URL('../../test/fixtures/orange/privacy-exception.familly.xml', import.meta.url), 'utf8');
    const service = await startPeer(() => xml(500, fixture));
    try {
      expectOk(only(await post(keys.admin, `<UPDATE><WEBAPI ID="1"><INFO><BASE_URL>${service.url}</BASE_URL></INFO></WEBAPI></UPDATE>`)));
      const id = await created('any-token');
      await engine.database.knex('webaccount').update({ authorization_state: 'authorized' }).where('id', id);
      const m = expectError(only(await contacts(id)), 'CONSENT_REQUIRED', '2');
      const sent = /<url>([^<]*)<\/url>/.exec(fixture)![1]!.trim().replace(/&amp;/g, '&');
      const page = await consentPage(newBrowser(), m.attrs.url!);
      assert.ok(page.startsWith(`${sent}&urlRetour=http%3A%2F%2Fnori.test%2Foauth%2Fcallback%3Fstate%3D`), page);
      assert.equal(service.count(), 1, 'a privacy exception is not retried, whatever its status');
    } finally {
      await service.close();
    }
  });

  it('returns the data as Orange wrote it: every repeated element in order, with its attributes, directly and after consent', async () => {
    const answer = readFileSync(new URL('../../test/fixtures/orange/repeated/personal-data.contact.xml', import.meta.url), 'utf8');
    await orange.close();
    orange = await startOrangePeer({ families: { ...DEFAULT_FAMILIES, contact: { ...DEFAULT_FAMILIES.contact!, render: () => answer } } });
    expectOk(only(await post(keys.admin, `<UPDATE><WEBAPI ID="1"><INFO><BASE_URL>${orange.url}</BASE_URL></INFO></WEBAPI></UPDATE>`)));
    const expected = '<GETCONTACTS><personalData family="contact"><contact>'
      + '<ITEM type="home"><firstName>Marie</firstName><email>marie.dupont@example.org</email><phone><ITEM kind="mobile">+33600000001</ITEM><ITEM kind="landline">+33100000002</ITEM></phone></ITEM>'
      + '<ITEM type="work"><firstName>Marie</firstName><email>m.dupont@work.example</email></ITEM>'
      + '</contact></personalData></GETCONTACTS>';
    const resultOf = (xml: string) => /<GETCONTACTS[\s>].*<\/GETCONTACTS>/s.exec(xml)?.[0] ?? xml;
    const id = await authorized();
    const { message } = await consent(id, 'permanent');
    // The kept result went through the database as JSON: attributes and lists are plain data, so they survive.
    assert.equal(resultOf(await replay(id, message.attrs.call!)), expected);
    assert.equal(resultOf(await contacts(id)), expected);
  });
});
