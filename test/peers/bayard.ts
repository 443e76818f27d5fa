/**
 * @module test/peers/bayard
 * A small Bayard SSO user base for tests, written from shared/specs/bayard-sso-webservices.md (its examples are
 * transcribed in test/fixtures/bayard/, and test/peers/bayard.test.ts checks the peer answers each of them). It
 * behaves rather than replays: accounts are created, passwords set and checked as md5(salt . password), fields
 * read and written under each partner's permissions, children attached to parents.
 *
 * URLs are `/api/<module>/<method>/<url_key>/<arguments…>` with modules user, advantage and access. Answers
 * are Zend_Rest_Server XML (see bayard/zend-xml.ts). Beyond the spec (not documented there, chosen to be what
 * the service's framework does):
 * - an unknown url_key: HTTP 400 and `<ApiUser generator="zend" version="1.0"><lookup><response><message>
 *   ERROR_URL_KEY</message></response><status>failed</status></lookup></ApiUser>` (a Zend fault: the method threw).
 *   A missing user is HTTP 200, `<status>success</status>` and RESPONSE_FAILURE, so the two never look alike;
 *   the spec has no key-check endpoint, so a client checks a key with a lookup of an absent address.
 * - a missing argument: HTTP 400 fault "Invalid Method Call to <method>. Missing argument(s): <names>.";
 *   an unknown method: HTTP 404 fault "Unknown Method '<method>'."; an unknown module or too many segments:
 *   HTTP 404 HTML page.
 * - a field name that is not an XML name, or a broken Advantage record: HTTP 500 with PHP's error page.
 * - path segments are decoded like PHP's urldecode: '%40' is '@', '%2B' is '+', but a raw '+' is a space.
 */
import { startPeer, type Peer, type PeerRequest, type PeerResponse } from './http-peer.js';
import { ACCESS_METHODS, ADVANTAGE_METHODS } from './bayard/advantage-routes.js';
import { seedBayard, type AdvantageCustomer, type BayardPartner, type BayardSeed, type SeedChild, type SeedUser } from './bayard/data.js';
import { createBayardState, type BayardChild, type BayardUser, type MethodDef, type SentEmail } from './bayard/state.js';
import { USER_METHODS } from './bayard/user-routes.js';
import { notFoundPage, phpFatalPage, phpUrldecode, PhpFatal, postFields, zendFault, type ApiClass } from './bayard/zend-xml.js';

export { BAYARD_FIELDS, BAYARD_KEYS, seedBayard } from './bayard/data.js';
export type { AdvantageCustomer, AdvantageSubscription, BayardPartner, BayardSeed, FieldDef, SeedChild, SeedUser } from './bayard/data.js';
export type { BayardChild, BayardUser, SentEmail } from './bayard/state.js';

export interface BayardPeerOptions {
  /** The data set to start from. Default: seedBayard(), the spec's examples. */
  readonly seed?: BayardSeed;
  /** Added to the seed's. */
  readonly partners?: readonly BayardPartner[];
  readonly users?: readonly SeedUser[];
  readonly children?: readonly SeedChild[];
  readonly customers?: readonly AdvantageCustomer[];
  /** The clock that decides which subscriptions are active. */
  readonly now?: () => Date;
}

export interface BayardPeer extends Peer {
  /** By SSO id. A user with no password hash is a prospect (NO_PASSWORD). */
  readonly users: ReadonlyMap<number, BayardUser>;
  readonly children: ReadonlyMap<number, BayardChild>;
  /** By url_key. */
  readonly partners: ReadonlyMap<string, BayardPartner>;
  readonly customers: ReadonlyMap<string, AdvantageCustomer>;
  /** The e-mails forgot_password "sent", in order. */
  readonly sentEmails: readonly SentEmail[];
  /** By e-mail (any case) or, when all digits, by id. */
  findUser(identifier: string): BayardUser | undefined;
  /** Adds an account (its password hashed for every partner). */
  addUser(user: SeedUser): BayardUser;
}

const MODULES = new Map<string, { api: ApiClass; methods: ReadonlyMap<string, MethodDef> }>([
  ['user', { api: 'ApiUser', methods: USER_METHODS }],
  ['advantage', { api: 'ApiAdvantage', methods: ADVANTAGE_METHODS }],
  ['access', { api: 'ApiAccess', methods: ACCESS_METHODS }],
]);

/**
 * Starts the peer on a free port of 127.0.0.1.
 * @example
 * const bayard = await startBayardPeer();
 * const res = await fetch(`${bayard.url}/api/user/lookup/${BAYARD_KEYS.preprod}/cedric%40nilly.fr`);
 * // <ApiUser generator="zend" version="1.0"><lookup><response>RESPONSE_SUCCESS</response><user>…<id>33</id>…
 */
export async function startBayardPeer(options: BayardPeerOptions = {}): Promise<BayardPeer> {
  const seed = options.seed ?? seedBayard();
  const state = createBayardState({
    partners: [...seed.partners, ...(options.partners ?? [])],
    fields: seed.fields,
    users: [...seed.users, ...(options.users ?? [])],
    children: [...seed.children, ...(options.children ?? [])],
    customers: [...seed.customers, ...(options.customers ?? [])],
  }, options.now ?? (() => new Date()));

  async function route(req: PeerRequest): Promise<PeerResponse> {
    const [api, module = '', name = '', ...raw] = req.path.replace(/(?<!\/)\/+$/, '').split('/').slice(1);
    const mod = MODULES.get(module);
    if (api !== 'api' || !mod || !/^\w+$/.test(name)) return notFoundPage(req.path);
    const def = mod.methods.get(name);
    // Zend_Rest_Server does not know the class of an unknown method: the method name is the root.
    if (!def) return zendFault(null, name, `Unknown Method '${name}'.`, 404);
    const params = ['url_key', ...def.args];
    if (raw.length > params.length) return notFoundPage(req.path);
    const values = raw.map(phpUrldecode);
    const missing = params.filter((_p, i) => !values[i]);
    if (missing.length > 0) return zendFault(def.api, name, `Invalid Method Call to ${name}. Missing argument(s): ${missing.join(', ')}.`);
    const partner = state.partners.get(values[0]!);
    if (!partner) return zendFault(def.api, name, 'ERROR_URL_KEY');
    const form = req.method === 'POST' ? await postFields(req.headers['content-type'], req.body) : [];
    try {
      return def.handle({ state, partner, args: values.slice(1), form });
    } catch (e) {
      if (e instanceof PhpFatal) return phpFatalPage(e.message, `/var/www/bayardsso/library/Bayard/Api/${module}.php`, 212);
      throw e;
    }
  }

  const peer = await startPeer(route);
  return {
    ...peer,
    users: state.users,
    children: state.children,
    partners: state.partners,
    customers: state.customers,
    sentEmails: state.sentEmails,
    findUser: state.findUser,
    addUser: state.addUser,
  };
}
