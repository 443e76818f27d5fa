/**
 * Answers with an element repeated where the spec shows it once (test/fixtures/bayard/repeated/): each CALL must
 * give every occurrence, in order, wherever it is (an unknown container, a list item, <user>, <fields>, beside
 * them), and keep the service's attributes. The peer replays each file verbatim.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { callResult } from '../../test/helpers/xml.js';
import { readResult, type Plain } from './fixture-expectations.test-helper.js';
import { useBayard, type Params } from './harness.test-helper.js';

const fixtures = new URL('../../test/fixtures/bayard/repeated/', import.meta.url);
const index = JSON.parse(readFileSync(new URL('index.json', fixtures), 'utf8')) as { fixtures: { file: string; call: string }[] };

const CASES: readonly { file: string; call: string; path: string; params: Params; expect: Plain }[] = [
  {
    file: 'all-subscriptions.subscriptions.xml', call: 'ALLSUBSCRIPTIONS', path: '/api/advantage/all_subscriptions/', params: { IDENTIFIER: 'famille@lamyriquois.com' },
    expect: { outcome: 'success', Subscriptions: { Subscription: [
      { SubscriptionCode: 'PAP-20363710-1', PublicationCode: 'PAP' },
      { SubscriptionCode: 'PEL-20363710-2', PublicationCode: 'PEL', Option: ['WEB', 'TABLET'] },
    ] } },
  },
  {
    file: 'subscription-list.direct-items.xml', call: 'SUBSCRIPTIONLIST', path: '/api/advantage/subscription_list/', params: { NUMBER: '20363710' },
    expect: { outcome: 'success', SubscriptionList: [
      { SubscriptionCode: 'PAP-20363710-1', PublicationCode: 'PAP' },
      { SubscriptionCode: 'PEL-20363710-2', PublicationCode: 'PEL', RateCode: ['AB01-001', 'AB01-002'] },
    ] },
  },
  {
    file: 'lookup.two-emails.xml', call: 'LOOKUP', path: '/api/user/lookup/', params: { IDENTIFIER: 'cedric@nilly.fr' },
    expect: { outcome: 'success', user: { email: ['cedric@nilly.fr', 'cedric.nilly@example.org'], id: '33', registered: 'FULL' } },
  },
  {
    file: 'get.repeated-field.xml', call: 'GETFIELDS', path: '/api/user/get/', params: { EMAIL: 'cedric@nilly.fr', FIELDS: 'PHONE,POSTAL_CODE' },
    expect: {
      outcome: 'warning', user: { email: 'cedric@nilly.fr', id: '33' },
      fields: { PHONE: [{ value: '0102030405' }, { error: 'ERROR_EAV_FIELD_PERMISSION' }], POSTAL_CODE: { value: '93100' } },
      message: ['first notice', 'second notice'],
    },
  },
  {
    file: 'search.multiple-numbers.xml', call: 'ADVANTAGESEARCH', path: '/api/advantage/search_many/', params: { NAME: 'Ly', FIRSTNAME: 'Celine', POSTAL_CODE: '77185', COUNTRY: 'FR' },
    expect: { outcome: 'success', SearchStatus: 'MultipleMatches', CustomerNumber: ['000000032893', '000000032894'], AddressCode: '' },
  },
];

describe('bayard plugin: elements the service repeats', function () {
  this.timeout(30_000);
  const h = useBayard();

  it('has a case for every fixture of the folder', () => {
    assert.deepEqual(CASES.map((c) => [c.file, c.call]), index.fixtures.map((f) => [f.file, f.call]));
  });

  for (const c of CASES) {
    it(`${c.call} reads every occurrence of ${c.file}, in order`, async () => {
      const id = await h.account('preprod');
      h.peer.inject({ status: 200, headers: { 'content-type': 'text/xml; charset=utf-8' }, body: readFileSync(new URL(c.file, fixtures), 'utf8'), path: c.path });
      const xml = await h.call(id, c.call, c.params);
      assert.deepEqual(readResult(callResult(xml)), c.expect, xml);
    });
  }

  it('keeps the attributes of an element it has no reading of', async () => {
    const id = await h.account('preprod');
    h.peer.inject({ status: 200, headers: { 'content-type': 'text/xml' }, body: readFileSync(new URL('all-subscriptions.subscriptions.xml', fixtures), 'utf8'), path: '/api/advantage/all_subscriptions/' });
    const result = callResult(await h.call(id, 'ALLSUBSCRIPTIONS', { IDENTIFIER: 'famille@lamyriquois.com' }));
    assert.equal(result.getElementsByTagName('Subscriptions')[0]!.getAttribute('count'), '2');
  });
});
