/**
 * @module test/peers/bayard/advantage-routes
 * The /api/advantage and /api/access methods of the Bayard peer: the subscriber-number search, the access
 * list and the subscription lists of the spec's "A documenter" section.
 *
 * These methods pass on what the Advantage SOAP service returns, as PHP's SoapClient decodes it: a list with
 * one item is that item, a list with several is an array, which Zend writes as key_0, key_1… So one
 * ContentAccess is `<ContentAccess><HostCode>…`, two are `<ContentAccess><key_0>…</key_0><key_1>…`, none is an
 * empty `<ContentAccessList/>` (the spec's example shows the first and the last forms).
 *
 * Undocumented shapes (the spec gives only the URLs): the subscription lists answer, like `search`, without a
 * `response` element: `<SubscriptionList>` holding `<Subscription>` items as above, empty when nothing is
 * found; an unknown SSO account answers RESPONSE_FAILURE with `<user>ERROR_USER_NOT_EXIST</user>` as the user
 * module does; a customer record that breaks the backend (the "plantage" example) answers HTTP 500 with PHP's
 * error page.
 */
import type { AdvantageCustomer, AdvantageSubscription } from './data.js';
import type { BayardState, Call, MethodDef } from './state.js';
import { PhpFatal, zendAnswer, type Struct, type Value } from './zend-xml.js';

/** SoapClient's decoding of a repeated element: nothing, the one item, or an array of them. */
const soapList = (name: string, items: readonly Struct[]): Struct => (items.length === 0 ? {} : { [name]: items.length === 1 ? items[0]! : items });

/** Names are compared as Advantage does: case, accents and surrounding spaces ignored. */
const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').trim().toUpperCase();

function customerOf(state: BayardState, number: string | undefined): AdvantageCustomer | undefined {
  const customer = number === undefined ? undefined : state.customers.get(number);
  if (customer?.broken) {
    throw new PhpFatal("Uncaught SoapFault exception: [soap:Server] Server was unable to process request. ---> Object reference not set to an instance of an object.");
  }
  return customer;
}

const active = (state: BayardState, s: AdvantageSubscription) => Date.parse(`${s.expireDate}Z`) >= state.now().getTime();

const subscriptionItem = (owner: AdvantageCustomer, s: AdvantageSubscription): Struct => ({
  SubscriptionCode: s.code,
  CustomerNumber: owner.number,
  RecipientCustomerNumber: s.giftTo ?? owner.number,
  HostCode: s.hostCode,
  PublicationCode: s.publicationCode,
  PublicationName: s.publicationName,
  StartDate: s.startDate,
  ExpireDate: s.expireDate,
  RateCode: s.rateCode,
  Gift: s.giftTo !== undefined,
});

type Pick = (state: BayardState, c: AdvantageCustomer) => readonly AdvantageSubscription[];
const subscriptionList = (state: BayardState, c: AdvantageCustomer | undefined, pick: Pick): Struct =>
  ({ SubscriptionList: c ? soapList('Subscription', pick(state, c).map((s) => subscriptionItem(c, s))) : {} });

const advantage = (args: readonly string[], handle: (call: Call) => ReturnType<MethodDef['handle']>): MethodDef => ({ api: 'ApiAdvantage', args, handle });

/** A list method by Advantage customer number. */
const byNumber = (name: string, pick: Pick) =>
  [name, advantage(['advantage_id'], ({ state, args: [n] }) => zendAnswer('ApiAdvantage', name, subscriptionList(state, customerOf(state, n), pick)))] as const;

/**
 * `search` and `search_many` both answer under `<search>` (as the spec's search_many example does). Only
 * search_many reports MultipleMatches; `search`, "obsolète… qui ne renvoie pas les MultipleMatches", answers
 * NoMatch when several customers match (the peer's reading: it finds no single customer).
 */
const search = (many: boolean) => advantage(['name', 'firstname', 'postal_code', 'country'], ({ state, args: [name, firstname, postalCode, country] }) => {
  const found = [...state.customers.values()].filter((c) =>
    fold(c.name) === fold(name!) && fold(c.firstname) === fold(firstname!) && c.postalCode === postalCode!.trim() && fold(c.country) === fold(country!));
  const one = found.length === 1 ? found[0]! : undefined;
  const status = one ? 'SingleMatch' : found.length > 1 && many ? 'MultipleMatches' : 'NoMatch';
  return zendAnswer('ApiAdvantage', 'search', { SearchResult: { SearchStatus: status, CustomerNumber: one?.number ?? '', AddressCode: one?.addressCode ?? '' } });
});

export const ADVANTAGE_METHODS = new Map<string, MethodDef>([
  ['search', search(false)],
  ['search_many', search(true)],
  ['all_subscriptions', advantage(['identifier'], ({ state, args: [id] }) => {
    const user = state.findUser(id!);
    if (!user) return zendAnswer('ApiAdvantage', 'all_subscriptions', { response: 'RESPONSE_FAILURE', user: 'ERROR_USER_NOT_EXIST' });
    // An account without ADVANTAGE__NUMBER has no subscription to list.
    return zendAnswer('ApiAdvantage', 'all_subscriptions', subscriptionList(state, customerOf(state, user.fields.get('ADVANTAGE__NUMBER')), (_s, c) => [...c.subscriptions, ...c.gifts]));
  })],
  byNumber('all_subscriptions_an', (_s, c) => [...c.subscriptions, ...c.gifts]),
  byNumber('subscription_list', (_s, c) => c.subscriptions),
  byNumber('subscription_list_active', (s, c) => c.subscriptions.filter((x) => active(s, x))),
  byNumber('subscription_gifts_list', (_s, c) => c.gifts),
  byNumber('subscription_gifts_list_active', (s, c) => c.gifts.filter((x) => active(s, x))),
]);

/**
 * access/get/:key/:email/:host — the account's subscriptions (paper), products and contents (digital, by
 * ServiceId) for that HostCode, through its ADVANTAGE__NUMBER. The spec's example has no `response` element.
 * The `<SCRIPT/>` it shows before `<get>` is not produced: Zend writes every key inside the method element, and an
 * upper-case empty SCRIPT is what a browser's XML view shows of a script an extension injected.
 */
export const ACCESS_METHODS = new Map<string, MethodDef>([
  ['get', { api: 'ApiAccess', args: ['email', 'host_code'], handle: ({ state, args: [email, host] }) => {
    const user = state.findUser(email!);
    if (!user) return zendAnswer('ApiAccess', 'get', { response: 'RESPONSE_FAILURE', user: 'ERROR_USER_NOT_EXIST' });
    const c = customerOf(state, user.fields.get('ADVANTAGE__NUMBER'));
    const subscriptions = (c?.subscriptions ?? []).filter((s) => s.hostCode === host).map((s): Struct => ({
      HostCode: s.hostCode, PublicationCode: s.publicationCode, SubscriptionCode: s.code, StartDate: s.startDate, ExpireDate: s.expireDate, RateCode: s.rateCode,
    }));
    const contents = (c?.contents ?? []).filter((a) => a.hostCode === host).map((a): Struct => ({
      HostCode: a.hostCode, StartDate: a.startDate, ExpireDate: a.expireDate, ServiceId: a.serviceId, AccessItem: a.accessItem, RateCode: a.rateCode,
    }));
    const access: Record<string, Value> = {
      SubscriptionAccessList: soapList('SubscriptionAccess', subscriptions),
      ProductAccessList: {},
      ContentAccessList: soapList('ContentAccess', contents),
    };
    return zendAnswer('ApiAccess', 'get', { CustomerAccess: access });
  } }],
]);
