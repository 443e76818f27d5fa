/**
 * The bayard plugin reads `<status>` as the spec says: "un statut success indique que l'application SSO a
 * fonctionné correctement". Any other status (failure, Success, empty, none) means the webservice did not work,
 * whatever else the answer holds: AUTHORIZE refuses the key, CALL fails with the service's message.
 */
import assert from 'node:assert/strict';
import { expectError, expectOk, only } from '../../test/helpers/xml.js';
import { startPeer, xml, type Peer } from '../../test/peers/http-peer.js';
import { partner, useBayard } from './harness.test-helper.js';

const preprod = partner('preprod');
// The message beside the status (no <response>: read as a success today), or inside <response> as a Zend fault has it.
const SHAPES: readonly [string, (status: string) => string][] = [
  ['a message beside it', (status) => `<?xml version="1.0" encoding="UTF-8"?>\n<ApiUser generator="zend" version="1.0"><lookup><message>Invalid url_key</message>${status}</lookup></ApiUser>`],
  ['a fault-like response', (status) => `<ApiUser generator="zend" version="1.0"><lookup><response><message>Invalid url_key</message></response>${status}</lookup></ApiUser>`],
];
const STATUSES: readonly [string, string][] = [
  ['failure', '<status>failure</status>'],
  ['Success (another case)', '<status>Success</status>'],
  ['empty', '<status></status>'],
  ['error', '<status>error</status>'],
];

describe('bayard plugin: only <status>success</status> is a success', function () {
  this.timeout(30_000);
  const h = useBayard();
  let stub: Peer | undefined;
  afterEach(async () => {
    await stub?.close();
    stub = undefined;
  });
  const serve = async (body: string) => {
    stub = await startPeer(() => xml(200, body));
    await h.setBaseUrl(`${stub.url}/api`);
  };

  for (const [what, status] of STATUSES) for (const [shape, answer] of SHAPES) {
    it(`AUTHORIZE: a ${what} status with ${shape} answers KEY_REJECTED with the service's message, and the account waits`, async () => {
      await serve(answer(status));
      const id = await h.createAccount(preprod.urlKey, preprod.salt);
      const m = expectError(await h.authorize(id), 'KEY_REJECTED');
      assert.match(m.text, /Invalid url_key/);
      const row = await h.engine.database.knex('webaccount').first('authorization_state').where('id', id);
      assert.equal(row.authorization_state, 'waiting');
    });

    it(`CALL: a ${what} status with ${shape} answers SERVICE_ERROR with the service's message, not outcome success`, async () => {
      const id = await h.account('preprod');
      await serve(answer(status));
      const m = expectError(only(await h.call(id, 'LOOKUP', { IDENTIFIER: 'cedric@nilly.fr' })), 'SERVICE_ERROR');
      assert.equal(m.attrs.serviceMessage, 'Invalid url_key');
      assert.equal(m.attrs.serviceError, 'STATUS_NOT_SUCCESS');
      assert.match(m.attrs.serviceData!, /^status "/);
    });
  }

  it('an answer with no <status> at all is no answer of the webservices', async () => {
    const id = await h.account('preprod');
    await serve('<ApiUser generator="zend" version="1.0"><lookup><response>RESPONSE_SUCCESS</response></lookup></ApiUser>');
    const m = expectError(only(await h.call(id, 'LOOKUP', { IDENTIFIER: 'cedric@nilly.fr' })), 'SERVICE_ERROR');
    assert.equal(m.attrs.serviceError, 'UNEXPECTED_ANSWER');
  });

  it('success with whitespace around it is still success (pretty-printed XML)', async () => {
    const id = await h.account('preprod');
    await serve('<ApiUser generator="zend" version="1.0"><lookup>\n  <response>RESPONSE_FAILURE</response>\n  <status>\n    success\n  </status>\n</lookup></ApiUser>');
    const r = expectOk(only(await h.call(id, 'LOOKUP', { IDENTIFIER: 'nobody@nilly.fr' })));
    assert.equal(r.attrs.errorCode, undefined);
  });

  it('UPDATE of TOKEN on an authorized account sends it back to waiting: the new key is checked by AUTHORIZE before any CALL', async () => {
    const id = await h.account('preprod');
    expectOk(only(await h.post(h.alice, `<UPDATE><WEBACCOUNT ID="${id}"><INFO><TOKEN>${'0'.repeat(32)}</TOKEN></INFO></WEBACCOUNT></UPDATE>`)));
    const row = await h.engine.database.knex('webaccount').first('authorization_state', 'state_reason').where('id', id);
    assert.deepEqual(row, { authorization_state: 'waiting', state_reason: 'its TOKEN or TOKEN_SECRET changed: AUTHORIZE it to check the new key' });
    const before = h.peer.requests.length;
    expectError(only(await h.call(id, 'LOOKUP', { IDENTIFIER: 'cedric@nilly.fr' })), 'NOT_AUTHORIZED');
    assert.equal(h.peer.requests.length, before, 'the unchecked key never reaches the service');
    expectError(await h.authorize(id), 'KEY_REJECTED');
    // Back to the good key: AUTHORIZE accepts it again.
    expectOk(only(await h.post(h.alice, `<UPDATE><WEBACCOUNT ID="${id}"><INFO><TOKEN>${preprod.urlKey}</TOKEN></INFO></WEBACCOUNT></UPDATE>`)));
    expectOk(await h.authorize(id));
  });

  it('UPDATE of TOKEN_SECRET (the salt) on a disabled account sends it back to waiting too; other fields leave it be', async () => {
    const id = await h.account('preprod');
    expectOk(only(await h.post(h.alice, `<UPDATE><WEBACCOUNT ID="${id}"><INFO><LOGIN>cedric</LOGIN></INFO></WEBACCOUNT></UPDATE>`)));
    assert.equal((await h.engine.database.knex('webaccount').first('authorization_state').where('id', id)).authorization_state, 'authorized');
    expectOk(only(await h.post(h.alice, `<UPDATE><WEBACCOUNT ID="${id}"><INFO><AUTHORIZATION_STATE>disabled</AUTHORIZATION_STATE></INFO></WEBACCOUNT></UPDATE>`)));
    expectOk(only(await h.post(h.alice, `<UPDATE><WEBACCOUNT ID="${id}"><INFO><TOKEN_SECRET>${'s'.repeat(32)}</TOKEN_SECRET></INFO></WEBACCOUNT></UPDATE>`)));
    assert.equal((await h.engine.database.knex('webaccount').first('authorization_state').where('id', id)).authorization_state, 'waiting');
  });
});
