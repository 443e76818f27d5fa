/**
 * The bayard plugin's child accounts and Advantage methods beyond the spec's examples: the subscription lists
 * the spec leaves "à documenter" (the peer's shape), lists of one, several or no items read alike, and child
 * accounts created, found, logged in and listed with their fields.
 */
import assert from 'node:assert/strict';
import { callResult } from '../../test/helpers/xml.js';
import { readResult } from './fixture-expectations.test-helper.js';
import { useBayard } from './harness.test-helper.js';

const sub = (code: string, publicationCode: string, publicationName: string, start: string, expire: string, recipient = '20363710') => ({
  SubscriptionCode: code, CustomerNumber: '20363710', RecipientCustomerNumber: recipient, HostCode: 'BAYARD', PublicationCode: publicationCode,
  PublicationName: publicationName, StartDate: `${start}T00:00:00`, ExpireDate: `${expire}T00:00:00`, RateCode: 'AB01-001', Gift: recipient === '20363710' ? '0' : '1',
});
const PAP = sub('PAP-20363710-1', 'PAP', 'Pomme d\'Api', '2010-01-01', '2011-01-01');
const PEL = sub('PEL-20363710-2', 'PEL', 'Pèlerin', '2012-01-01', '2099-12-31');
const AST = sub('AST-20363710-3', 'AST', 'Astrapi', '2012-09-01', '2099-08-31', '20363711');
const JAL = sub('JAL-20363710-4', 'JAL', 'J\'aime lire', '2009-09-01', '2010-08-31', '20363712');

describe('bayard plugin: children and Advantage', function () {
  this.timeout(30_000);
  const h = useBayard({ peer: () => ({ now: () => new Date('2020-01-01T00:00:00Z') }) });
  const result = async (id: number, method: string, params: Parameters<typeof h.call>[2] = {}) => readResult(callResult(await h.call(id, method, params)));

  it('lists subscriptions by SSO account or by customer number: all, own, gifts, active ones by the service\'s clock', async () => {
    const id = await h.account('advantage');
    const all = { outcome: 'success', SubscriptionList: [PAP, PEL, AST, JAL] };
    assert.deepEqual(await result(id, 'ALLSUBSCRIPTIONS', { IDENTIFIER: 'famille@lamyriquois.com' }), all);
    assert.deepEqual(await result(id, 'ALLSUBSCRIPTIONS', { IDENTIFIER: '70' }), all, 'by SSO id');
    assert.deepEqual(await result(id, 'ALLSUBSCRIPTIONSAN', { NUMBER: '20363710' }), all);
    assert.deepEqual(await result(id, 'SUBSCRIPTIONLIST', { NUMBER: '20363710' }), { outcome: 'success', SubscriptionList: [PAP, PEL] });
    // One item comes from the service without key_0; it is still a list of one.
    assert.deepEqual(await result(id, 'SUBSCRIPTIONLISTACTIVE', { NUMBER: '20363710' }), { outcome: 'success', SubscriptionList: [PEL] });
    assert.deepEqual(await result(id, 'SUBSCRIPTIONGIFTSLIST', { NUMBER: '20363710' }), { outcome: 'success', SubscriptionList: [AST, JAL] });
    assert.deepEqual(await result(id, 'SUBSCRIPTIONGIFTSLISTACTIVE', { NUMBER: '20363710' }), { outcome: 'success', SubscriptionList: [AST] });
    assert.deepEqual(h.peer.requests.slice(-2).map((r) => r.path), ['/api/advantage/subscription_gifts_list/0954a890ff38e12bc92b7045d9d66c7b/20363710', '/api/advantage/subscription_gifts_list_active/0954a890ff38e12bc92b7045d9d66c7b/20363710']);
    // Nothing found is an empty list; an unknown SSO account is the service's failure, with its code.
    assert.deepEqual(await result(id, 'ALLSUBSCRIPTIONSAN', { NUMBER: '20363710999' }), { outcome: 'success', SubscriptionList: '' });
    assert.deepEqual(await result(id, 'ALLSUBSCRIPTIONS', { IDENTIFIER: 'XXX@lamyriquois.com' }), { outcome: 'failure', error: 'ERROR_USER_NOT_EXIST' });
  });

  it('GETACCESS reads each access list as items, however many; HOST_CODE defaults to BAYARD', async () => {
    const id = await h.account('preprod');
    const access = await result(id, 'GETACCESS', { EMAIL: 'famille@lamyriquois.com' }) as Record<string, unknown>;
    assert.equal(h.peer.requests.at(-1)!.path, '/api/access/get/58867ff8e5c617b7eec5117d9d860591/famille%40lamyriquois.com/BAYARD');
    assert.deepEqual(Object.keys(access), ['outcome', 'SubscriptionAccessList', 'ProductAccessList', 'ContentAccessList']);
    assert.deepEqual((access.SubscriptionAccessList as { PublicationCode: string }[]).map((s) => s.PublicationCode), ['PAP', 'PEL']);
    assert.equal(access.ProductAccessList, '');
    assert.deepEqual(access.ContentAccessList, [
      { HostCode: 'BAYARD', StartDate: '2012-01-01T00:00:00', ExpireDate: '2099-12-31T00:00:00', ServiceId: 'CROIRE COM', AccessItem: 'ACCES', RateCode: 'OF02-001' },
      { HostCode: 'BAYARD', StartDate: '2012-01-01T00:00:00', ExpireDate: '2099-12-31T00:00:00', ServiceId: 'LA CROIX COM', AccessItem: 'ACCES', RateCode: 'OF01-002' },
    ]);
    assert.deepEqual(await result(id, 'GETACCESS', { EMAIL: 'famille@lamyriquois.com', HOST_CODE: 'OTHER' }), { outcome: 'success', SubscriptionAccessList: '', ProductAccessList: '', ContentAccessList: '' });
    assert.deepEqual(await result(id, 'GETACCESS', { EMAIL: 'nobody@nilly.fr' }), { outcome: 'failure', error: 'ERROR_USER_NOT_EXIST' });
  });

  it('ADVANTAGESEARCH: search_many reports MultipleMatches; MANY false calls the obsolete search, which cannot', async () => {
    const id = await h.account('preprod');
    const ly = { NAME: 'Ly', FIRSTNAME: 'Celine', POSTAL_CODE: '77185', COUNTRY: 'FR' };
    assert.deepEqual(await result(id, 'ADVANTAGESEARCH', ly), { outcome: 'success', SearchStatus: 'MultipleMatches', CustomerNumber: '', AddressCode: '' });
    assert.deepEqual(await result(id, 'ADVANTAGESEARCH', { ...ly, MANY: 'false' }), { outcome: 'success', SearchStatus: 'NoMatch', CustomerNumber: '', AddressCode: '' });
    assert.match(h.peer.requests.at(-1)!.path, /^\/api\/advantage\/search\//);
  });

  it('creates a child, which then exists, logs in with its code, and is listed with its fields by its parent', async () => {
    const id = await h.account('jeunesse');
    assert.deepEqual(await result(id, 'CHILDPSEUDOEXISTS', { PSEUDO: 'lulu' }), { outcome: 'failure', exists: 'false' });
    assert.deepEqual(await result(id, 'CREATECHILD', { PSEUDO: 'lulu', SECRET_CODE: 's3cret code', PARENT: 'f00@bar.com' }), { outcome: 'success' });
    assert.equal(h.peer.requests.at(-1)!.path, '/api/user/create_child/5f9747407e58b5497a79ff10cf56bf99/lulu/s3cret%20code/f00%40bar.com');
    assert.deepEqual(await result(id, 'CREATECHILD', { PSEUDO: 'LULU', SECRET_CODE: 'x', PARENT: '61' }), { outcome: 'failure' }, 'pseudo taken');
    assert.deepEqual(await result(id, 'CHILDPSEUDOEXISTS', { PSEUDO: 'lulu' }), { outcome: 'success', exists: 'true' });
    assert.deepEqual(await result(id, 'CHILDLOGIN', { PSEUDO: 'lulu', SECRET_CODE: 's3cret code' }), { outcome: 'success' });
    assert.deepEqual(await result(id, 'CHILDLOGIN', { PSEUDO: 'lulu', SECRET_CODE: 'S3CRET code' }), { outcome: 'failure' });
    assert.deepEqual(await result(id, 'PARENTACCOUNTS', { IDENTIFIER: 'lulu' }), { outcome: 'success', parents: [{ id: '61', email: 'f00@bar.com' }] });
    const kids = await result(id, 'CHILDACCOUNTS', { IDENTIFIER: 'f00@bar.com', FIELDS: 'BJ__PSEUDO,CRX__PSEUDO' }) as { outcome: string; children: { pseudo: string; fields: unknown }[] };
    assert.equal(kids.outcome, 'warning', 'the jeunesse key may not read CRX__');
    assert.deepEqual(kids.children.map((c) => c.pseudo), ['carol0', 'caro3', 'lulu']);
    assert.deepEqual(kids.children[2], { id: '1621650', pseudo: 'lulu', secretcode: '', fields: { BJ__PSEUDO: { value: '' }, CRX__PSEUDO: { error: 'ERROR_EAV_FIELD_PERMISSION' } } });
  });
});
