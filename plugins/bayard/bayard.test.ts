/**
 * The bayard plugin end to end, XML over nori's HTTP server against the Bayard peer (test/peers/bayard.ts):
 * AUTHORIZE checks the url_key at the service, LOGIN sends md5(salt . password), path segments reach the
 * service intact, and field errors come back field by field. The spec's examples themselves are driven by
 * bayard-fixtures.test.ts; faults, secrets and the Advantage methods by the other bayard-*.test.ts files.
 */
import assert from 'node:assert/strict';
import { callResult, expectError, expectOk, only, textAt } from '../../test/helpers/xml.js';
import { BAYARD_KEYS } from '../../test/peers/bayard.js';
import { readResult } from './fixture-expectations.test-helper.js';
import { md5, partner, PROBE_PATH, useBayard } from './harness.test-helper.js';

const preprod = partner('preprod');

describe('bayard plugin', function () {
  this.timeout(30_000);
  const h = useBayard();
  const state = (id: number) => h.engine.database.knex('webaccount').first('authorization_state', 'state_reason').where('id', id);
  const result = async (id: number, method: string, params: Parameters<typeof h.call>[2] = {}) => readResult(callResult(await h.call(id, method, params)));

  describe('AUTHORIZE', () => {
    it('checks a good url_key with a lookup of an address that cannot exist, and authorizes at once', async () => {
      const id = await h.createAccount(preprod.urlKey, preprod.salt);
      const done = expectOk(await h.authorize(id));
      assert.equal(done.attrs.url, undefined, 'no browser involved');
      assert.deepEqual(await state(id), { authorization_state: 'authorized', state_reason: null });
      assert.deepEqual(h.peer.requests.map((r) => [r.method, r.path]), [['GET', `/api/user/lookup/${preprod.urlKey}${PROBE_PATH}`]]);
      assert.deepEqual(await result(id, 'LOOKUP', { IDENTIFIER: 'cedric@nilly.fr' }), { outcome: 'success', user: { email: 'cedric@nilly.fr', id: '33', registered: 'FULL' } });
    });

    it('leaves an unknown url_key waiting with the service\'s reason (ERROR_URL_KEY), and never echoes the key', async () => {
      const unknown = '0123456789abcdef0123456789abcdef';
      const id = await h.createAccount(unknown, preprod.salt);
      const refused = expectError(await h.authorize(id), 'KEY_REJECTED');
      assert.match(refused.text, /refused the key of WEBACCOUNT \d+ \(ERROR_URL_KEY: the service does not know the WEBACCOUNT's TOKEN as a url_key, or not from this IP address\); it is waiting/);
      assert.ok(!JSON.stringify(refused).includes(unknown));
      const row = await state(id);
      assert.equal(row.authorization_state, 'waiting');
      assert.match(row.state_reason, /^the service refused the key: ERROR_URL_KEY/);
      expectError(only(await h.call(id, 'LOOKUP', { IDENTIFIER: 'cedric@nilly.fr' })), 'NOT_AUTHORIZED');
    });

    it('refuses an account whose TOKEN_SECRET is not a 32-character salt, without asking the service', async () => {
      const id = await h.createAccount(preprod.urlKey, 'too-short');
      assert.match(expectError(await h.authorize(id), 'KEY_REJECTED').text, /TOKEN_SECRET must be the partner's 32-character salt/);
      assert.equal(h.peer.requests.length, 0);
      assert.equal((await state(id)).authorization_state, 'waiting');
    });

    it('works the same on a second WEBAPI (bayard-preprod, PLUGIN bayard) with its own BASE_URL', async () => {
      await h.createApi('bayard-preprod');
      const id = await h.account('jeunesse', 'bayard-preprod');
      assert.deepEqual(await result(id, 'CHILDLOGIN', { PSEUDO: 'caro', SECRET_CODE: 'caro' }), { outcome: 'success' });
      assert.equal(h.peer.requests.at(-1)!.path, `/api/user/child_login/${BAYARD_KEYS.jeunesse}/caro/caro`);
    });
  });

  describe('LOGIN and SETPASSWORD', () => {
    it('sends md5(salt . password) computed from the account\'s TOKEN_SECRET; the peer checks it', async () => {
      const id = await h.account('preprod');
      assert.deepEqual(await result(id, 'LOGIN', { EMAIL: 'cedric@nilly.fr', PASSWORD: 'montreuil-93100' }), { outcome: 'success' });
      assert.equal(h.peer.requests.at(-1)!.path, `/api/user/login/${preprod.urlKey}/cedric%40nilly.fr/${md5(`${preprod.salt}montreuil-93100`)}`);
      // A refusal is an answer to branch on, not an error.
      assert.deepEqual(await result(id, 'LOGIN', { EMAIL: 'cedric@nilly.fr', PASSWORD: 'Montreuil-93100' }), { outcome: 'failure' });
      assert.deepEqual(await result(id, 'LOGIN', { EMAIL: 'nobody@nilly.fr', PASSWORD: 'montreuil-93100' }), { outcome: 'failure' });
    });

    it('sets a password with spaces and accents in a form POST; it then logs in through every partner\'s salt', async () => {
      const id = await h.account('preprod');
      const password = ' Été 2012 & <moi>+ ';
      assert.deepEqual(await result(id, 'SETPASSWORD', { EMAIL: 'cedric2@nilly.fr', PASSWORD: password }), { outcome: 'success' });
      const sent = h.peer.requests.at(-1)!;
      assert.deepEqual([sent.method, sent.headers['content-type'], new URLSearchParams(sent.body.toString()).get('password')], ['POST', 'application/x-www-form-urlencoded', password]);
      assert.equal(textAt(callResult(await h.call(id, 'LOOKUP', { IDENTIFIER: '11' })), 'user/registered'), 'FULL');
      for (const name of ['preprod', 'jeunesse']) {
        const other = await h.account(name);
        assert.deepEqual(await result(other, 'LOGIN', { EMAIL: 'cedric2@nilly.fr', PASSWORD: password }), { outcome: 'success' }, name);
      }
      assert.deepEqual(await result(id, 'SETPASSWORD', { EMAIL: 'nobody@nilly.fr', PASSWORD: 'x' }), { outcome: 'failure', error: 'ERROR_USER_NOT_EXIST' });
    });
  });

  describe('path segments', () => {
    it('encodes e-mails with "+" and "@": the service finds them, and a created one keeps its "+"', async () => {
      const id = await h.account('preprod');
      assert.deepEqual(await result(id, 'LOOKUP', { IDENTIFIER: 'cedric+bayard@nilly.fr' }), { outcome: 'success', user: { email: 'cedric+bayard@nilly.fr', id: '35', registered: 'FULL' } });
      assert.equal(h.peer.requests.at(-1)!.path, `/api/user/lookup/${preprod.urlKey}/cedric%2Bbayard%40nilly.fr`);
      const created = await result(id, 'CREATEACCOUNT', { EMAIL: 'a+b@nilly.fr' }) as { user: { email: string } };
      assert.equal(created.user.email, 'a+b@nilly.fr');
      assert.equal(h.peer.findUser('a+b@nilly.fr')?.email, 'a+b@nilly.fr');
    });

    it('encodes names with accents and spaces for the Advantage search', async () => {
      await h.restartPeer({ customers: [{ number: '000000050005', addressCode: 'ADR2', name: 'De La Tour', firstname: 'Jean Noël', postalCode: '75011', country: 'FR', subscriptions: [], gifts: [], contents: [] }] });
      const id = await h.account('preprod');
      const found = await result(id, 'ADVANTAGESEARCH', { NAME: 'de la Tour', FIRSTNAME: 'Jean Noël', POSTAL_CODE: '75011', COUNTRY: 'fr' });
      assert.deepEqual(found, { outcome: 'success', SearchStatus: 'SingleMatch', CustomerNumber: '000000050005', AddressCode: 'ADR2' });
      assert.equal(h.peer.requests.at(-1)!.path, `/api/advantage/search_many/${preprod.urlKey}/de%20la%20Tour/Jean%20No%C3%ABl/75011/fr`);
    });
  });

  describe('fields', () => {
    it('CREATEACCOUNT posts its FIELDS at once, form-encoded; GETFIELDS reads them back (namespaced names too)', async () => {
      const id = await h.account('preprod');
      const fields = { FIRSTNAME: 'Zoé & <Léa>', CRX__PSEUDO: 'zoe', POSTAL_CODE: '75011' };
      const created = await result(id, 'CREATEACCOUNT', { EMAIL: 'zoe@nilly.fr', FIELDS: fields }) as { outcome: string; user: { id: string } };
      assert.equal(created.outcome, 'success');
      const sent = h.peer.requests.at(-1)!;
      assert.deepEqual([sent.method, sent.headers['content-type'], Object.fromEntries(new URLSearchParams(sent.body.toString()))], ['POST', 'application/x-www-form-urlencoded', fields]);
      const read = await result(id, 'GETFIELDS', { EMAIL: 'zoe@nilly.fr', FIELDS: 'FIRSTNAME, CRX__PSEUDO,,POSTAL_CODE' });
      assert.equal(h.peer.requests.at(-1)!.path, `/api/user/get/${preprod.urlKey}/zoe%40nilly.fr/FIRSTNAME,CRX__PSEUDO,POSTAL_CODE`, 'commas as the spec writes them');
      assert.deepEqual(read, {
        outcome: 'success',
        user: { email: 'zoe@nilly.fr', id: created.user.id },
        fields: { FIRSTNAME: { value: 'Zoé & <Léa>' }, CRX__PSEUDO: { value: 'zoe' }, POSTAL_CODE: { value: '75011' } },
      });
    });

    it('SETFIELDS reports each field that failed on its own, and the others are written', async () => {
      const id = await h.account('preprod');
      const set = await result(id, 'SETFIELDS', { EMAIL: 'cedric@nilly.fr', FIELDS: { POSTAL_CITY: 'Paris', BAD_FIELD: 'x', BJ__PSEUDO: 'x', FAILS_VALIDATION: 'MyValue', POSTAL_CODE: '75 011' } });
      assert.deepEqual(set, {
        outcome: 'warning',
        fields: {
          BAD_FIELD: { error: 'ERROR_EAV_FIELD_NONEXISTENT' },
          BJ__PSEUDO: { error: 'ERROR_EAV_FIELD_PERMISSION' },
          FAILS_VALIDATION: { error: 'validation_error', value: 'MyValue', description: 'The value must be \'good\'; The value must be \'bad\'' },
          POSTAL_CODE: { error: 'validation_error', value: '75 011', description: 'The value must be 5 digits' },
        },
      });
      const read = await result(id, 'GETFIELDS', { EMAIL: 'cedric@nilly.fr', FIELDS: 'POSTAL_CITY,POSTAL_CODE,NAMESPACE__PERMS_TEST' });
      assert.deepEqual(read, {
        outcome: 'warning',
        user: { email: 'cedric@nilly.fr', id: '33' },
        fields: { POSTAL_CITY: { value: 'Paris' }, POSTAL_CODE: { value: '93100' }, NAMESPACE__PERMS_TEST: { error: 'ERROR_EAV_FIELD_PERMISSION' } },
      });
      assert.deepEqual(await result(id, 'SETFIELDS', { EMAIL: 'nobody@nilly.fr', FIELDS: { NAME: 'x' } }), { outcome: 'failure', error: 'ERROR_USER_NOT_EXIST' });
    });
  });
});
