/**
 * The bayard plugin when the service refuses or breaks: a Zend fault (HTTP 400 ERROR_URL_KEY), PHP's HTTP 500
 * "plantage" page, the framework's 404 page (which echoes the url_key), answers that are not the service's;
 * and parameters refused before anything is sent.
 */
import assert from 'node:assert/strict';
import { expectError, expectOk, only } from '../../test/helpers/xml.js';
import { seedBayard } from '../../test/peers/bayard.js';
import { partner, useBayard } from './harness.test-helper.js';

const preprod = partner('preprod');

describe('bayard plugin: faults', function () {
  this.timeout(30_000);
  const h = useBayard();
  /** A failed one-account CALL: its MESSAGE, checked to carry neither the url_key nor the salt. */
  const failure = async (id: number, method: string, params: Parameters<typeof h.call>[2], code: string) => {
    const xml = await h.call(id, method, params);
    for (const p of [preprod, partner('advantage')]) assert.ok(!xml.includes(p.urlKey) && !xml.includes(p.salt), xml);
    return expectError(only(xml), code);
  };

  it('a url_key the service no longer knows (its Zend fault, HTTP 400): SERVICE_UNAUTHORIZED, and the account waits for AUTHORIZE', async () => {
    const id = await h.account('preprod');
    const seed = seedBayard();
    await h.restartPeer({ seed: { ...seed, partners: seed.partners.filter((p) => p.name !== 'preprod') } });
    const m = await failure(id, 'LOOKUP', { IDENTIFIER: 'cedric@nilly.fr' }, 'SERVICE_UNAUTHORIZED');
    assert.deepEqual([m.attrs.serviceStatus, m.attrs.serviceError], ['400', 'ERROR_URL_KEY']);
    assert.match(m.attrs.serviceMessage!, /does not know the WEBACCOUNT's TOKEN as a url_key/);
    assert.match(m.text, /refused the credentials of WEBACCOUNT \d+ \(HTTP 400\); it is waiting again: AUTHORIZE it/);
    assert.equal(h.peer.count('/api/user/lookup/'), 1, 'a 4xx is not retried');
    await failure(id, 'LOOKUP', { IDENTIFIER: 'cedric@nilly.fr' }, 'NOT_AUTHORIZED');
    assert.equal(h.peer.count('/api/user/lookup/'), 1, 'a waiting account does not reach the service');
  });

  it('the "plantage" (HTTP 500, PHP\'s error page): SERVICE_FAILED with PHP\'s message, after nori\'s retries', async () => {
    const id = await h.account('advantage');
    const m = await failure(id, 'ALLSUBSCRIPTIONSAN', { NUMBER: '00004500027' }, 'SERVICE_FAILED');
    assert.deepEqual([m.attrs.serviceStatus, m.attrs.serviceError], ['500', 'PHP_FATAL_ERROR']);
    assert.equal(m.attrs.serviceMessage, 'Uncaught SoapFault exception: [soap:Server] Server was unable to process request. ---> Object reference not set to an instance of an object.');
    assert.doesNotMatch(m.attrs.serviceMessage!, /\/var\/www|<b>/, 'the message only, not the page');
    assert.match(m.text, /failed ALLSUBSCRIPTIONSAN with HTTP 500 after 3 attempt/);
    assert.equal(h.peer.count('/api/advantage/all_subscriptions_an/'), 3, 'idempotent: retried');
  });

  it('FORGOTPASSWORD is not retried after a 5xx: the e-mail may have gone', async () => {
    const id = await h.account('preprod');
    h.peer.inject({ status: 503, path: '/api/user/forgot_password/' });
    const m = await failure(id, 'FORGOTPASSWORD', { EMAIL: 'cedric@nilly.fr' }, 'SERVICE_FAILED');
    assert.match(m.text, /after 1 attempt/);
    assert.equal(h.peer.count('/api/user/forgot_password/'), 1);
  });

  it('a BASE_URL without /api: the 404 page echoes the url_key, which never reaches the caller', async () => {
    const id = await h.account('preprod');
    await h.setBaseUrl(h.peer.url);
    const m = await failure(id, 'LOOKUP', { IDENTIFIER: 'cedric@nilly.fr' }, 'SERVICE_ERROR');
    assert.deepEqual([m.attrs.serviceStatus, m.attrs.serviceError], ['404', 'PAGE_NOT_FOUND']);
    assert.match(m.attrs.serviceMessage!, /check that BASE_URL ends with \/api/);
    const page = await fetch(`${h.peer.url}${h.peer.requests.at(-1)!.path}`);
    assert.match(await page.text(), new RegExp(preprod.urlKey), 'the page did carry the key');
    // AUTHORIZE of another account fails the same way and changes nothing.
    const other = await h.createAccount(preprod.urlKey, preprod.salt);
    const refused = expectError(only(await h.post(h.alice, `<AUTHORIZE><WEBACCOUNT ID="${other}"/></AUTHORIZE>`)), 'SERVICE_ERROR');
    // nori's AUTHORIZE MESSAGE carries no service* attributes: the code is in the sentence.
    assert.match(refused.text, /refused key check \(HTTP 404\): PAGE_NOT_FOUND \(the service has no page at this URL/);
    assert.ok(!JSON.stringify(refused).includes(preprod.urlKey));
    assert.equal((await h.engine.database.knex('webaccount').first('authorization_state').where('id', other)).authorization_state, 'waiting');
  });

  it('a fault answered with HTTP 200, and answers that are not the service\'s', async () => {
    const id = await h.account('preprod');
    const xml = (body: string) => ({ status: 200, headers: { 'content-type': 'text/xml' }, body, path: '/api/user/lookup/' });
    h.peer.inject(xml(`<ApiUser generator="zend" version="1.0"><lookup><response><message>Invalid Method Call to lookup. ${preprod.urlKey}</message></response><status>failed</status></lookup></ApiUser>`));
    const fault = await failure(id, 'LOOKUP', { IDENTIFIER: 'x@nilly.fr' }, 'SERVICE_ERROR');
    assert.deepEqual([fault.attrs.serviceError, fault.attrs.serviceMessage], ['ZEND_FAULT', 'Invalid Method Call to lookup. [redacted]']);
    h.peer.inject(xml('<ApiUser generator="zend" version="1.0"><lookup><response>RESPONSE_MAYBE</response><status>success</status></lookup></ApiUser>'));
    assert.equal((await failure(id, 'LOOKUP', { IDENTIFIER: 'x@nilly.fr' }, 'SERVICE_ERROR')).attrs.serviceError, 'UNEXPECTED_ANSWER');
    h.peer.inject(xml('<html><body>maintenance</body></html>'));
    assert.equal((await failure(id, 'LOOKUP', { IDENTIFIER: 'x@nilly.fr' }, 'SERVICE_ERROR')).attrs.serviceError, 'UNEXPECTED_ANSWER');
    h.peer.inject(xml('<ApiUser><lookup>'));
    await failure(id, 'LOOKUP', { IDENTIFIER: 'x@nilly.fr' }, 'SERVICE_BAD_RESPONSE');
  });

  it('LOGIN on an account whose salt was emptied since AUTHORIZE: waiting again (UPDATE), or SALT_MISSING (cleared behind nori\'s back); nothing is sent', async () => {
    const id = await h.account('preprod');
    expectOk(only(await h.post(h.alice, `<UPDATE><WEBACCOUNT ID="${id}"><INFO><TOKEN_SECRET></TOKEN_SECRET></INFO></WEBACCOUNT></UPDATE>`)));
    const other = await h.account('advantage');
    await h.engine.database.knex('webaccount').update({ token_secret: null }).where('id', other);
    const sent = h.peer.requests.length;
    await failure(id, 'LOGIN', { EMAIL: 'cedric@nilly.fr', PASSWORD: 'montreuil-93100' }, 'NOT_AUTHORIZED');
    expectError(await h.authorize(id), 'KEY_REJECTED');
    const m = await failure(other, 'LOGIN', { EMAIL: 'cedric@nilly.fr', PASSWORD: 'montreuil-93100' }, 'SERVICE_ERROR');
    assert.equal(m.attrs.serviceError, 'SALT_MISSING');
    assert.equal(h.peer.requests.length, sent);
  });

  it('refuses parameters the service cannot take before anything is sent', async () => {
    const id = await h.account('preprod');
    const sent = h.peer.requests.length;
    const cases: [string, Parameters<typeof h.call>[2], string, RegExp][] = [
      ['GETFIELDS', { EMAIL: 'cedric@nilly.fr', FIELDS: 'POSTAL_CITY,POSTAL CODE' }, 'PARAM_INVALID', /<FIELDS> must be field names of letters, digits and underscores .*, not "POSTAL CODE"/],
      ['SETFIELDS', { EMAIL: 'cedric@nilly.fr', FIELDS: { 'CRX.PSEUDO': 'x' } }, 'PARAM_INVALID', /<FIELDS\/CRX.PSEUDO> must be field names/],
      ['SETFIELDS', { EMAIL: 'cedric@nilly.fr', FIELDS: {} }, 'PARAM_INVALID', /<FIELDS> must be at least one field/],
      ['CHILDACCOUNTS', { IDENTIFIER: 'f00@bar.com', FIELDS: ' , ,' }, 'PARAM_INVALID', /<FIELDS> must be at least one field name/],
      ['LOOKUP', { IDENTIFIER: '..' }, 'PARAM_INVALID', /<IDENTIFIER> must be something else than "\." or "\.\."/],
      ['LOGIN', { EMAIL: 'cedric@nilly.fr' }, 'PARAM_MISSING', /<LOGIN> needs <PASSWORD>/],
      ['LOGIN', { EMAIL: 'cedric', PASSWORD: 'x' }, 'PARAM_INVALID', /<EMAIL> must be an e-mail address/],
      ['ADVANTAGESEARCH', { NAME: 'Nilly', FIRSTNAME: 'Cedric', POSTAL_CODE: '93130', COUNTRY: 'FRA' }, 'PARAM_INVALID', /<COUNTRY> must be text matching/],
      ['SUBSCRIPTIONLIST', { NUMBER: '2036371O' }, 'PARAM_INVALID', /<NUMBER> must be text matching \[0-9\]\{1,20\}/],
    ];
    for (const [method, params, code, text] of cases) assert.match((await failure(id, method, params, code)).text, text, method);
    assert.equal(h.peer.requests.length, sent);
  });
});
