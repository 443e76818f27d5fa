import assert from 'node:assert/strict';
import { ALICE, useEngine } from '../helpers/engine.js';
import { call } from '../helpers/echo.js';
import { seedAccount } from '../helpers/seed.js';
import { json, startPeer, type Peer } from '../peers/http-peer.js';
import { callResult, expectError, expectOk, only, q, textAt } from '../helpers/xml.js';

describe('AUTHORIZE with an API key (no redirect)', function () {
  this.timeout(30_000);
  const t = useEngine({ plugins: { builtins: false, dirs: ['test/fixtures/plugins'] }, calls: { timeoutMs: 300, maxAttempts: 2, budgetMs: 2000 } });
  let peer: Peer;
  before(async () => {
    peer = await startPeer((req) => (req.path === '/keys/good-key' ? json(200, { owner: 'alice' }) : json(403, { error: 'unknown key' })));
  });
  after(async () => peer.close());
  beforeEach(async () => {
    expectOk(only(await t.engine.execute(q(`<CREATE><WEBAPI><INFO><DENOMINATION>keyed</DENOMINATION><AUTH_TYPE>apikey</AUTH_TYPE><BASE_URL>${peer.url}</BASE_URL></INFO></WEBAPI></CREATE>`), { contactId: 1, groups: [], admin: true })));
  });

  const authorize = async (id: number) => only(await t.engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`), ALICE));
  const row = (id: number) => t.engine.database.knex('webaccount').first('authorization_state', 'state_reason').where('id', id);
  const events = async (id: number) => (await t.engine.database.knex('nori_transitions').select('event').where('account_id', id).orderBy('id')).map((r) => r.event);

  it('checks a good key at the service and authorizes at once; CALL then uses it', async () => {
    const id = await seedAccount(t.engine, ALICE, 'keyed', '<TOKEN>good-key</TOKEN>');
    const r = expectOk(await authorize(id));
    assert.equal(r.attrs.url, undefined, 'no browser involved');
    assert.deepEqual(await row(id), { authorization_state: 'authorized', state_reason: null });
    assert.deepEqual(await events(id), ['request', 'grant']);
    assert.equal(textAt(callResult(await t.engine.execute(call(id, 'WHOAMI'), ALICE)), 'owner'), 'alice');
  });

  it('leaves a refused key waiting, with the service\'s reason recorded', async () => {
    const id = await seedAccount(t.engine, ALICE, 'keyed', '<TOKEN>bad-key</TOKEN>');
    assert.match(expectError(await authorize(id), 'KEY_REJECTED').text, /refused the key of WEBACCOUNT \d+ \(unknown key\); it is waiting/);
    assert.deepEqual(await row(id), { authorization_state: 'waiting', state_reason: 'the service refused the key: unknown key' });
    assert.deepEqual(await events(id), ['request', 'fail']);
  });

  it('a service failing the check answers with its status and error, and changes nothing', async () => {
    const id = await seedAccount(t.engine, ALICE, 'keyed', '<TOKEN>good-key</TOKEN>');
    peer.inject({ status: 404, body: JSON.stringify({ error: 'no_such_route', error_description: 'wrong base URL?' }) });
    const r = expectError(await authorize(id), 'SERVICE_ERROR');
    assert.deepEqual([r.attrs.serviceStatus, r.attrs.serviceError, r.attrs.serviceMessage], ['404', 'no_such_route', 'wrong base URL?']);
    assert.deepEqual(await row(id), { authorization_state: 'waiting', state_reason: null });
  });

  it('an unreachable service changes nothing', async () => {
    const id = await seedAccount(t.engine, ALICE, 'keyed', '<TOKEN>good-key</TOKEN>');
    peer.inject({ reset: true }, 2);
    expectError(await authorize(id), 'SERVICE_UNREACHABLE');
    assert.deepEqual(await row(id), { authorization_state: 'waiting', state_reason: null });
    assert.deepEqual(await events(id), []);
  });

  it('a pattern or the plugin itself refuses a parameter, before anything is sent', async () => {
    const id = await seedAccount(t.engine, ALICE, 'keyed', '<TOKEN>good-key</TOKEN>');
    expectOk(await authorize(id));
    const sent = peer.count();
    assert.match(expectError(only(await t.engine.execute(call(id, 'WHOAMI', '<ID>12a</ID>'), ALICE)), 'PARAM_INVALID').text, /text matching \[0-9\]\{1,19\}/);
    assert.match(expectError(only(await t.engine.execute(call(id, 'WHOAMI', '<ID>0</ID>'), ALICE)), 'PARAM_INVALID').text, /<ID> must be not zero/);
    assert.equal(peer.count(), sent);
  });
});
