/**
 * @module test/peers/bayard/data
 * The Bayard SSO peer's model and its default data set, taken from the examples of the spec
 * (shared/specs/bayard-sso-webservices.md, transcribed in test/fixtures/bayard/): partners (url_key, salt, field
 * permissions), the field catalogue (EAV keys, `NS__FIELD` for a namespace), users, children, Advantage customers.
 */

/** A partner site or application: its url_key, its MD5 salt and which fields it may read and write. */
export interface BayardPartner {
  readonly name: string;
  /** 32 hexadecimal characters, passed in every URL. */
  readonly urlKey: string;
  /** 32 characters; login sends md5(salt . password). */
  readonly salt: string;
  /** Field patterns: `*` every root field (no `__`), `NS__*` every field of namespace NS, or an exact name. */
  readonly read: readonly string[];
  readonly write: readonly string[];
}

/** One check of a field's value; `set` reports the messages of the failed ones joined by "; ". */
export interface FieldRule { readonly message: string; readonly test: (value: string) => boolean }
export interface FieldDef { readonly name: string; readonly rules?: readonly FieldRule[] }

export interface SeedUser {
  readonly id: number;
  readonly email: string;
  /** In clear, for tests to compute md5(salt . password) themselves; the peer keeps only the hashes. Absent: NO_PASSWORD. */
  readonly password?: string;
  readonly fields?: Readonly<Record<string, string>>;
}
export interface SeedChild {
  readonly id: number;
  readonly pseudo: string;
  readonly secretCode: string;
  /** Parents' e-mails. */
  readonly parents: readonly string[];
  readonly fields?: Readonly<Record<string, string>>;
}

/** A paper subscription (own, or paid for someone else when `giftTo` is set). Dates as Advantage writes them. */
export interface AdvantageSubscription {
  readonly code: string;
  readonly hostCode: string;
  readonly publicationCode: string;
  readonly publicationName: string;
  readonly startDate: string;
  readonly expireDate: string;
  readonly rateCode: string;
  readonly giftTo?: string;
}
export interface AdvantageContentAccess {
  readonly hostCode: string;
  readonly startDate: string;
  readonly expireDate: string;
  readonly serviceId: string;
  readonly accessItem: string;
  readonly rateCode: string;
}
export interface AdvantageCustomer {
  readonly number: string;
  readonly addressCode: string;
  readonly name: string;
  readonly firstname: string;
  readonly postalCode: string;
  readonly country: string;
  readonly subscriptions: readonly AdvantageSubscription[];
  readonly gifts: readonly AdvantageSubscription[];
  readonly contents: readonly AdvantageContentAccess[];
  /** A record that makes the Advantage backend crash (the spec's "plantage" example): HTTP 500 and a PHP error page. */
  readonly broken?: boolean;
}

export interface BayardSeed {
  readonly partners: readonly BayardPartner[];
  readonly fields: readonly FieldDef[];
  readonly users: readonly SeedUser[];
  readonly children: readonly SeedChild[];
  readonly customers: readonly AdvantageCustomer[];
}

/** The three url_keys of the spec. */
export const BAYARD_KEYS = {
  /** The key of most examples (user module, search, access). */
  preprod: '58867ff8e5c617b7eec5117d9d860591',
  /** The key of the child_accounts and child_login examples. */
  jeunesse: '5f9747407e58b5497a79ff10cf56bf99',
  /** The key of the "A documenter" Advantage examples. */
  advantage: '0954a890ff38e12bc92b7045d9d66c7b',
} as const;

const mustEqual = (expected: string): FieldRule => ({ message: `The value must be '${expected}'`, test: (v) => v === expected });

/** The field catalogue. LACROIX_PSEUDO and CRX_PSEUDO (one underscore, so root fields) are the names the spec's examples use. */
export const BAYARD_FIELDS: readonly FieldDef[] = [
  { name: 'NAME' },
  { name: 'FIRSTNAME' },
  { name: 'CIVILITY', rules: [{ message: "The value must be one of 'M', 'MME', 'MLLE'", test: (v) => ['M', 'MME', 'MLLE'].includes(v) }] },
  { name: 'BIRTHDATE', rules: [{ message: 'The value must be a date (YYYY-MM-DD)', test: (v) => /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)) }] },
  { name: 'POSTAL_CITY' },
  { name: 'POSTAL_CODE', rules: [{ message: 'The value must be 5 digits', test: (v) => /^\d{5}$/.test(v) }] },
  { name: 'LACROIX_PSEUDO' },
  { name: 'CRX_PSEUDO' },
  // Always fails, with the two messages of the spec's example: a value cannot be both 'good' and 'bad'.
  { name: 'FAILS_VALIDATION', rules: [mustEqual('good'), mustEqual('bad')] },
  { name: 'ADVANTAGE__NUMBER', rules: [{ message: 'The value must be digits', test: (v) => /^\d+$/.test(v) }] },
  { name: 'CRX__PSEUDO' },
  { name: 'LACROIX__PSEUDO' },
  { name: 'BJ__PSEUDO' },
  { name: 'NAMESPACE__PERMS_TEST' },
];

/** Whether `field` matches one of the partner's patterns. */
export function allowed(patterns: readonly string[], field: string): boolean {
  const sep = field.indexOf('__');
  return patterns.some((p) => p === field || (p === '*' && sep < 0) || (p.endsWith('__*') && sep > 0 && field.slice(0, sep + 2) === p.slice(0, -1)));
}

/** A paper subscription on host BAYARD, dates written as Advantage does (2012-03-09T00:00:00). */
const subscription = (code: string, publicationCode: string, publicationName: string, startDate: string, expireDate: string, giftTo?: string): AdvantageSubscription =>
  ({ code, hostCode: 'BAYARD', publicationCode, publicationName, startDate: `${startDate}T00:00:00`, expireDate: `${expireDate}T00:00:00`, rateCode: 'AB01-001', ...(giftTo ? { giftTo } : {}) });

/**
 * A fresh copy of the default data set: the spec's examples, plus what they imply (cedric@nilly.net exists since
 * creating it fails; a child caro000 exists since child_pseudo_exist/caro000 answers success; a child "caro" whose
 * secret code is "caro"; famille@lamyriquois.com holds Advantage customer 20363710).
 */
export function seedBayard(): BayardSeed {
  return {
    partners: [
      { name: 'preprod', urlKey: BAYARD_KEYS.preprod, salt: 'Zq8Lr2Vt6Xw0Yb4Nc7Md1Kf5Hg9Js3Pe', read: ['*', 'CRX__*', 'LACROIX__*', 'BJ__*', 'ADVANTAGE__*'], write: ['*', 'CRX__*', 'LACROIX__*', 'ADVANTAGE__*'] },
      { name: 'jeunesse', urlKey: BAYARD_KEYS.jeunesse, salt: 'Bj7Eu3Ni9Ss1Ee5Bb2Aa8Yy4Rr6Dd0Wx', read: ['*', 'BJ__*'], write: ['*', 'BJ__*'] },
      { name: 'advantage', urlKey: BAYARD_KEYS.advantage, salt: 'Ad4Vv8Aa2Nn6Tt0Aa3Gg7Ee1Ss5Ww9Qm', read: ['*', 'ADVANTAGE__*'], write: ['ADVANTAGE__*'] },
    ],
    fields: BAYARD_FIELDS,
    users: [
      { id: 11, email: 'cedric2@nilly.fr' },
      { id: 33, email: 'cedric@nilly.fr', password: 'montreuil-93100', fields: { NAME: 'Nilly', FIRSTNAME: 'Cédric', POSTAL_CITY: 'montreuil', POSTAL_CODE: '93100', ADVANTAGE__NUMBER: '000000032893', NAMESPACE__PERMS_TEST: 'hidden' } },
      { id: 34, email: 'cedric@nilly.net', password: 'nilly-net' },
      { id: 35, email: 'cedric+bayard@nilly.fr', password: 'plus-sign' },
      { id: 60, email: 'alan.wagner@smile.fr', password: 'wagner-60' },
      { id: 61, email: 'f00@bar.com', password: 'f00-bar' },
      { id: 62, email: 'lotal@smile.fr', password: 'lotal-62' },
      { id: 70, email: 'famille@lamyriquois.com', password: 'myriquois', fields: { NAME: 'Lamyriquois', ADVANTAGE__NUMBER: '20363710' } },
    ],
    children: [
      { id: 1621600, pseudo: 'carol0', secretCode: 'carol0-code', parents: ['f00@bar.com'] },
      { id: 1621610, pseudo: 'caro3', secretCode: 'caro3-code', parents: ['f00@bar.com'] },
      { id: 1621620, pseudo: 'caro2', secretCode: 'caro2-code', parents: ['alan.wagner@smile.fr'] },
      { id: 1621630, pseudo: 'caro000', secretCode: 'caro000-code', parents: ['alan.wagner@smile.fr'] },
      { id: 1621640, pseudo: 'caro', secretCode: 'caro', parents: ['lotal@smile.fr'] },
    ],
    customers: [
      {
        number: '000000032893', addressCode: 'ADR1', name: 'NILLY', firstname: 'CEDRIC', postalCode: '93130', country: 'FR',
        subscriptions: [subscription('LCX-0032893-1', 'LCX', 'La Croix', '2012-01-01', '2012-12-31')],
        gifts: [],
        contents: [{ hostCode: 'BAYARD', startDate: '2012-03-09T00:00:00', expireDate: '2012-05-08T00:00:00', serviceId: 'LA CROIX COM', accessItem: 'ACCES', rateCode: 'OF01-001' }],
      },
      { number: '000000040001', addressCode: 'ADR1', name: 'LY', firstname: 'CELINE', postalCode: '77185', country: 'FR', subscriptions: [], gifts: [], contents: [] },
      { number: '000000040002', addressCode: 'ADR1', name: 'LY', firstname: 'CÉLINE', postalCode: '77185', country: 'FR', subscriptions: [], gifts: [], contents: [] },
      {
        number: '20363710', addressCode: 'ADR1', name: 'LAMYRIQUOIS', firstname: 'ANNE', postalCode: '35000', country: 'FR',
        subscriptions: [subscription('PAP-20363710-1', 'PAP', "Pomme d'Api", '2010-01-01', '2011-01-01'), subscription('PEL-20363710-2', 'PEL', 'Pèlerin', '2012-01-01', '2099-12-31')],
        gifts: [subscription('AST-20363710-3', 'AST', 'Astrapi', '2012-09-01', '2099-08-31', '20363711'), subscription('JAL-20363710-4', 'JAL', "J'aime lire", '2009-09-01', '2010-08-31', '20363712')],
        contents: [
          { hostCode: 'BAYARD', startDate: '2012-01-01T00:00:00', expireDate: '2099-12-31T00:00:00', serviceId: 'CROIRE COM', accessItem: 'ACCES', rateCode: 'OF02-001' },
          { hostCode: 'BAYARD', startDate: '2012-01-01T00:00:00', expireDate: '2099-12-31T00:00:00', serviceId: 'LA CROIX COM', accessItem: 'ACCES', rateCode: 'OF01-002' },
        ],
      },
      { number: '00004500027', addressCode: 'ADR1', name: 'PLANTAGE', firstname: 'TEST', postalCode: '75000', country: 'FR', subscriptions: [], gifts: [], contents: [], broken: true },
    ],
  };
}
