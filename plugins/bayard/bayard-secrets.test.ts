/**
 * What must never leave nori in the bayard plugin: the url_key (the account's TOKEN), the salt (TOKEN_SECRET),
 * a password, its salted hash (it travels in the URL) and a child's secret code. Every response of a run that
 * uses them all, refusals and failures included, and every line nori logs (debug level), are searched for them.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { callResult, expectError, only } from '../../test/helpers/xml.js';
import { seedBayard } from '../../test/peers/bayard.js';
import { readResult } from './fixture-expectations.test-helper.js';
import { md5, partner, useBayard } from './harness.test-helper.js';

const preprod = partner('preprod');
const jeunesse = partner('jeunesse');
const PASSWORD = 'Mot de passe très secret 2012!';
const CODE = 'code-secret-de-lulu';
const UNKNOWN_KEY = 'ffffffffeeeeeeeeddddddddcccccccc';

describe('bayard plugin: secrets', function () {
  this.timeout(30_000);
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write: (chunk, _enc, done) => done(void logs.push(String(chunk))) }));
  const h = useBayard({ logger });

  it('never shows the url_key, the salt, a password, its hash or a secret code, in a response or a log line', async () => {
    logs.length = 0;
    const responses: string[] = [];
    const call = async (id: number, method: string, params: Parameters<typeof h.call>[2]) => {
      const xml = await h.call(id, method, params);
      responses.push(xml);
      return xml;
    };
    const id = await h.account('preprod');
    const kid = await h.account('jeunesse');
    const refused = await h.createAccount(UNKNOWN_KEY, preprod.salt);
    responses.push(JSON.stringify(expectError(await h.authorize(refused), 'KEY_REJECTED')));

    assert.deepEqual(readResult(callResult(await call(id, 'SETPASSWORD', { EMAIL: 'cedric@nilly.fr', PASSWORD }))), { outcome: 'success' });
    assert.deepEqual(readResult(callResult(await call(id, 'LOGIN', { EMAIL: 'cedric@nilly.fr', PASSWORD }))), { outcome: 'success' });
    assert.deepEqual(readResult(callResult(await call(id, 'LOGIN', { EMAIL: 'cedric@nilly.fr', PASSWORD: `${PASSWORD}?` }))), { outcome: 'failure' });
    assert.deepEqual(readResult(callResult(await call(kid, 'CREATECHILD', { PSEUDO: 'lulu', SECRET_CODE: CODE, PARENT: 'f00@bar.com' }))), { outcome: 'success' });
    assert.deepEqual(readResult(callResult(await call(kid, 'CHILDLOGIN', { PSEUDO: 'lulu', SECRET_CODE: CODE }))), { outcome: 'success' });
    // Failures: the service breaks on a LOGIN (its URL holds the hash), a password too long, a url_key gone.
    h.peer.inject({ status: 500, headers: { 'content-type': 'text/html' }, body: `<b>Fatal error</b>:  login failed for /api/user/login/${preprod.urlKey}/x/${md5(preprod.salt + PASSWORD)} in <b>/var/www/x.php</b>`, path: '/api/user/login/' }, 3);
    const broken = expectError(only(await call(id, 'LOGIN', { EMAIL: 'cedric@nilly.fr', PASSWORD })), 'SERVICE_FAILED');
    assert.equal(broken.attrs.serviceMessage, 'login failed for /api/user/login/[redacted]/x/[redacted]');
    expectError(only(await call(id, 'LOGIN', { EMAIL: 'cedric@nilly.fr', PASSWORD: PASSWORD.repeat(10) })), 'PARAM_INVALID');
    expectError(only(await call(kid, 'CHILDLOGIN', { PSEUDO: 'lulu', SECRET_CODE: CODE.repeat(10) })), 'PARAM_INVALID');
    await h.restartPeer({ seed: { ...seedBayard(), partners: [jeunesse] } });
    expectError(only(await call(id, 'LOGIN', { EMAIL: 'cedric@nilly.fr', PASSWORD })), 'SERVICE_UNAUTHORIZED');

    // The peer did receive them: the checks below look for what was really sent.
    const sent = h.peer.requests.map((r) => r.path).join(' ');
    assert.ok(sent.includes(preprod.urlKey) && sent.includes(md5(preprod.salt + PASSWORD)));
    const secrets = { 'the url_key': preprod.urlKey, 'the other url_key': jeunesse.urlKey, 'the refused url_key': UNKNOWN_KEY, 'the salt': preprod.salt, 'the other salt': jeunesse.salt, 'the password': PASSWORD, 'the hash': md5(preprod.salt + PASSWORD), 'the code': CODE };
    assert.ok(logs.some((l) => /"method":"LOGIN"/.test(l) && /service request/.test(l)), 'nori logged the LOGIN requests');
    for (const [what, value] of Object.entries(secrets)) {
      for (const r of responses) assert.ok(!r.includes(value), `${what} in a response: ${r}`);
      for (const l of logs) assert.ok(!l.includes(value), `${what} in a log line: ${l}`);
    }
  });
});
