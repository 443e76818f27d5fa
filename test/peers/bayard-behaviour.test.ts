/**
 * The Bayard peer behaves rather than replays: passwords, fields, children, searches and subscription lists
 * change and answer as the spec describes. Hashes are computed here with node:crypto from the seed's salts and
 * clear passwords, never by the peer.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { BAYARD_KEYS, seedBayard, startBayardPeer, type BayardPeer } from './bayard.js';
import { at, namesOf, parseTree, textAt, type XmlNode } from './bayard/xml-tree.js';

const { preprod, jeunesse, advantage } = BAYARD_KEYS;
const seed = seedBayard();
const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
const saltOf = (key: string) => seed.partners.find((p) => p.urlKey === key)!.salt;
const passwordOf = (email: string) => seed.users.find((u) => u.email === email)!.password!;
const form = (fields: Record<string, string>): RequestInit => ({ method: 'POST', body: new URLSearchParams(fields) });

describe('Bayard peer: behaviour', () => {
  let peer: BayardPeer;
  beforeEach(async () => { peer = await startBayardPeer({ now: () => new Date('2020-01-01T00:00:00Z') }); });
  afterEach(() => peer.close());

  /** GETs or POSTs a path and returns the method element of the XML answer. */
  async function call(path: string, init?: RequestInit, status = 200): Promise<XmlNode> {
    const res = await fetch(`${peer.url}${path}`, init);
    const body = await res.text();
    assert.equal(res.status, status, body);
    assert.equal(res.headers.get('content-type'), 'text/xml; charset=utf-8');
    const root = parseTree(body);
    assert.deepEqual(root.attrs, { generator: 'zend', version: '1.0' });
    return root.children.length === 1 ? root.children[0]! : root; // the method element, or the root of a fault without class
  }
  const response = (m: XmlNode) => textAt(m, 'response');

  it('logs in with md5(salt . password) only: a wrong hash, a prospect and an unknown address fail alike', async () => {
    const good = md5(saltOf(preprod) + passwordOf('cedric@nilly.fr'));
    assert.equal(response(await call(`/api/user/login/${preprod}/cedric%40nilly.fr/${good}`)), 'RESPONSE_SUCCESS');
    assert.equal(response(await call(`/api/user/login/${preprod}/33/${good}`)), 'RESPONSE_SUCCESS', 'by SSO id too');
    assert.equal(response(await call(`/api/user/login/${preprod}/cedric%40nilly.fr/${md5(passwordOf('cedric@nilly.fr'))}`)), 'RESPONSE_FAILURE', 'unsalted');
    assert.equal(response(await call(`/api/user/login/${jeunesse}/cedric%40nilly.fr/${good}`)), 'RESPONSE_FAILURE', "another partner's salt");
    assert.equal(response(await call(`/api/user/login/${preprod}/cedric%40nilly.fr/${good.toUpperCase()}`)), 'RESPONSE_FAILURE', 'compared exactly');
    assert.equal(response(await call(`/api/user/login/${preprod}/cedric2%40nilly.fr/${md5(saltOf(preprod))}`)), 'RESPONSE_FAILURE', 'a prospect');
    assert.equal(response(await call(`/api/user/login/${preprod}/nobody%40nilly.fr/${good}`)), 'RESPONSE_FAILURE');
  });

  it('creates a prospect that set_password turns FULL, and the password then logs in through every partner', async () => {
    const created = await call(`/api/user/create/${preprod}/new%40nilly.fr`, form({ FIRSTNAME: 'Zoé', POSTAL_CODE: '75011' }));
    assert.equal(response(created), 'RESPONSE_SUCCESS');
    const id = textAt(created, 'user/id');
    assert.equal(textAt(await call(`/api/user/lookup/${preprod}/${id}`), 'user/registered'), 'NO_PASSWORD');
    assert.equal(textAt(await call(`/api/user/get/${preprod}/${id}/FIRSTNAME,POSTAL_CODE`), 'fields/FIRSTNAME'), 'Zoé', 'POSTed fields are written at creation');
    assert.equal(response(await call(`/api/user/set_password/${preprod}/new%40nilly.fr`, form({ password: 'Été 2012!' }))), 'RESPONSE_SUCCESS');
    assert.equal(textAt(await call(`/api/user/lookup/${preprod}/new%40nilly.fr`), 'user/registered'), 'FULL');
    for (const key of [preprod, jeunesse, advantage]) {
      assert.equal(response(await call(`/api/user/login/${key}/new%40nilly.fr/${md5(`${saltOf(key)}Été 2012!`)}`)), 'RESPONSE_SUCCESS', key);
    }
    assert.equal(textAt(await call(`/api/user/create/${preprod}/NEW%40nilly.fr`), 'user'), 'ERROR_USER_EXISTS', 'e-mails compare in any case');
  });

  it('round-trips UTF-8 values through set and get, form-encoded or multipart as PHP curl sends', async () => {
    assert.equal(response(await call(`/api/user/set/${preprod}/cedric%40nilly.fr`, form({ FIRSTNAME: 'Cédric Œ 日本 & <x>', CRX__PSEUDO: 'cnilly' }))), 'RESPONSE_SUCCESS');
    const multipart = new FormData();
    multipart.append('NAME', 'Nîlly');
    assert.equal(response(await call(`/api/user/set/${preprod}/cedric%40nilly.fr`, { method: 'POST', body: multipart })), 'RESPONSE_SUCCESS');
    const got = await call(`/api/user/get/${preprod}/cedric%40nilly.fr/FIRSTNAME,%20NAME%20,CRX__PSEUDO`);
    assert.equal(response(got), 'RESPONSE_SUCCESS');
    assert.deepEqual(namesOf(at(got, 'fields')), ['FIRSTNAME', 'NAME', 'CRX__PSEUDO']);
    assert.equal(textAt(got, 'fields/FIRSTNAME'), 'Cédric Œ 日本 & <x>');
    assert.equal(textAt(got, 'fields/NAME'), 'Nîlly');
  });

  it('writes the valid fields of a set even when others fail, and reports only the failures', async () => {
    const set = await call(`/api/user/set/${preprod}/cedric%40nilly.fr`, form({ POSTAL_CITY: 'Paris', POSTAL_CODE: '75 011', BJ__PSEUDO: 'x' }));
    assert.equal(response(set), 'RESPONSE_WARNING');
    assert.deepEqual(namesOf(at(set, 'fields')), ['POSTAL_CODE', 'BJ__PSEUDO']);
    assert.equal(textAt(set, 'fields/POSTAL_CODE/validation_error/value'), '75 011');
    assert.equal(textAt(set, 'fields/POSTAL_CODE/validation_error/description'), 'The value must be 5 digits');
    assert.equal(textAt(set, 'fields/BJ__PSEUDO'), 'ERROR_EAV_FIELD_PERMISSION', 'the preprod key may not write BJ__');
    const got = await call(`/api/user/get/${preprod}/cedric%40nilly.fr/POSTAL_CITY,POSTAL_CODE`);
    assert.equal(textAt(got, 'fields/POSTAL_CITY'), 'Paris');
    assert.equal(textAt(got, 'fields/POSTAL_CODE'), '93100');
    assert.equal(textAt(await call(`/api/user/get/${jeunesse}/cedric%40nilly.fr/CRX__PSEUDO`), 'fields/CRX__PSEUDO'), 'ERROR_EAV_FIELD_PERMISSION', 'permissions are per partner');
  });

  it('decodes each path segment as PHP does: %2B is a plus, a raw plus a space', async () => {
    assert.equal(textAt(await call(`/api/user/lookup/${preprod}/cedric%2Bbayard%40nilly.fr`), 'user/id'), '35');
    assert.equal(response(await call(`/api/user/lookup/${preprod}/cedric+bayard@nilly.fr`)), 'RESPONSE_FAILURE');
    assert.equal(textAt(await call(`/api/user/create/${preprod}/a%2Bb%40nilly.fr`), 'user/email'), 'a+b@nilly.fr');
    assert.equal(textAt(await call(`/api/user/lookup/${preprod}/a%2Bb%40nilly.fr`), 'user/email'), 'a+b@nilly.fr');
    assert.equal(textAt(await call(`/api/advantage/search_many/${preprod}/%20nilly/C%C3%A9dric/93130/fr`), 'SearchResult/CustomerNumber'), '000000032893', 'accents, case and spaces ignored');
  });

  it('refuses an unknown url_key with a Zend fault, unlike an absent user', async () => {
    const refused = await call('/api/user/lookup/00000000000000000000000000000000/nobody%40nilly.fr', undefined, 400);
    assert.equal(refused.name, 'lookup');
    assert.equal(textAt(refused, 'status'), 'failed');
    assert.equal(textAt(refused, 'response/message'), 'ERROR_URL_KEY');
    const absent = await call(`/api/user/lookup/${preprod}/nobody%40nilly.fr`);
    assert.deepEqual([response(absent), textAt(absent, 'status')], ['RESPONSE_FAILURE', 'success']);
    assert.equal(textAt(await call(`/api/advantage/search/${preprod.replace('5', '6')}/a/b/1/FR`, undefined, 400), 'response/message'), 'ERROR_URL_KEY');
    assert.equal(peer.count('/api/user/lookup/'), 2);
  });

  it('answers missing arguments and unknown methods as Zend faults, and a bad field name with a PHP crash', async () => {
    assert.match(textAt(await call(`/api/user/get/${preprod}/cedric%40nilly.fr`, undefined, 400), 'response/message'), /Missing argument\(s\): fields/);
    const unknown = await call(`/api/user/delete/${preprod}/cedric%40nilly.fr`, undefined, 404);
    assert.equal(unknown.name, 'delete');
    const crash = await fetch(`${peer.url}/api/user/get/${preprod}/cedric%40nilly.fr/POSTAL%20CODE`);
    assert.equal(crash.status, 500);
    assert.match(await crash.text(), /Fatal error/);
  });

  it('sends a password e-mail only to a known account', async () => {
    assert.equal(response(await call(`/api/user/forgot_password/${preprod}/cedric2%40nilly.fr`)), 'RESPONSE_SUCCESS');
    assert.equal(response(await call(`/api/user/forgot_password/${preprod}/nobody%40nilly.fr`)), 'RESPONSE_FAILURE');
    assert.deepEqual(peer.sentEmails.map((m) => [m.to, m.userId, m.partner]), [['cedric2@nilly.fr', 11, 'preprod']]);
  });

  it('attaches a child that then exists, logs in with its code and names its parent', async () => {
    assert.equal(response(await call(`/api/user/child_pseudo_exist/${jeunesse}/lulu`)), 'RESPONSE_FAILURE');
    assert.equal(response(await call(`/api/user/create_child/${jeunesse}/lulu/s3cret/61`)), 'RESPONSE_SUCCESS');
    assert.equal(response(await call(`/api/user/create_child/${jeunesse}/LULU/other/61`)), 'RESPONSE_FAILURE', 'pseudo taken');
    assert.equal(response(await call(`/api/user/create_child/${jeunesse}/zaza/s3cret/nobody%40bar.com`)), 'RESPONSE_FAILURE', 'unknown parent');
    assert.equal(response(await call(`/api/user/child_pseudo_exist/${jeunesse}/lulu`)), 'RESPONSE_SUCCESS');
    assert.equal(response(await call(`/api/user/child_login/${jeunesse}/lulu/s3cret`)), 'RESPONSE_SUCCESS');
    assert.equal(response(await call(`/api/user/child_login/${jeunesse}/lulu/S3CRET`)), 'RESPONSE_FAILURE');
    assert.equal(textAt(await call(`/api/user/parent_accounts/${jeunesse}/lulu`), 'key_0/email'), 'f00@bar.com');
    const kids = await call(`/api/user/child_accounts/${jeunesse}/f00%40bar.com/BJ__PSEUDO`);
    assert.deepEqual(namesOf(kids), ['key_0', 'key_1', 'key_2', 'response', 'status']);
    assert.equal(textAt(kids, 'key_2/pseudo'), 'lulu');
    assert.equal(Number(textAt(kids, 'key_2/id')), 1621650, 'child ids step by 10');
  });

  it('reports MultipleMatches from search_many only; search, obsolete, finds no single customer', async () => {
    assert.equal(textAt(await call(`/api/advantage/search_many/${preprod}/Ly/Celine/77185/FR`), 'SearchResult/SearchStatus'), 'MultipleMatches');
    assert.equal(textAt(await call(`/api/advantage/search/${preprod}/Ly/Celine/77185/FR`), 'SearchResult/SearchStatus'), 'NoMatch');
    assert.equal(textAt(await call(`/api/advantage/search/${preprod}/Nilly/Cedric/93130/FR`), 'SearchResult/SearchStatus'), 'SingleMatch');
  });

  it('lists subscriptions, active ones by the clock, nothing for an unknown number, and crashes on a broken record', async () => {
    const all = await call(`/api/advantage/all_subscriptions/${advantage}/famille%40lamyriquois.com`);
    assert.deepEqual(namesOf(at(all, 'SubscriptionList/Subscription')), ['key_0', 'key_1', 'key_2', 'key_3']);
    const active = await call(`/api/advantage/subscription_list_active/${advantage}/20363710`);
    assert.equal(textAt(active, 'SubscriptionList/Subscription/PublicationCode'), 'PEL', 'one item is written without key_0');
    assert.equal(textAt(await call(`/api/advantage/subscription_gifts_list_active/${advantage}/20363710`), 'SubscriptionList/Subscription/RecipientCustomerNumber'), '20363711');
    assert.deepEqual(namesOf(at(await call(`/api/advantage/subscription_gifts_list/${advantage}/20363710`), 'SubscriptionList/Subscription')), ['key_0', 'key_1']);
    assert.deepEqual(namesOf(at(await call(`/api/advantage/all_subscriptions_an/${advantage}/20363710999`), 'SubscriptionList')), []);
    assert.equal(textAt(await call(`/api/advantage/all_subscriptions/${advantage}/XXX%40lamyriquois.com`), 'user'), 'ERROR_USER_NOT_EXIST');
    const crash = await fetch(`${peer.url}/api/advantage/all_subscriptions_an/${advantage}/00004500027`);
    assert.equal(crash.status, 500);
    assert.match(crash.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(await crash.text(), /<b>Fatal error<\/b>: {2}Uncaught SoapFault exception/);
  });

  it('writes several items of an access list as key_N, as SoapClient and Zend do', async () => {
    const access = at(await call(`/api/access/get/${preprod}/famille%40lamyriquois.com/BAYARD`), 'CustomerAccess');
    assert.deepEqual(namesOf(access), ['SubscriptionAccessList', 'ProductAccessList', 'ContentAccessList']);
    assert.deepEqual(namesOf(at(access, 'ContentAccessList/ContentAccess')), ['key_0', 'key_1']);
    assert.equal(textAt(access, 'ContentAccessList/ContentAccess/key_0/ServiceId'), 'CROIRE COM');
    const other = at(await call(`/api/access/get/${preprod}/famille%40lamyriquois.com/OTHER`), 'CustomerAccess');
    assert.deepEqual(other.children.map((c) => c.children.length), [0, 0, 0]);
  });
});
