/**
 * @module plugins/bayard/definition
 * Bayard's SSO user base (the "Userbase" REST webservices, ../shared/specs/bayard-sso-webservices.md) as data:
 * an apikey WEBAPI whose accounts hold a partner's url_key (TOKEN) and MD5 salt (TOKEN_SECRET), and one CALL
 * method per operation of the spec. The implementation is in index.ts; the result shapes in docs/plugins/bayard.md.
 */
import type { ParamDef, PluginDefinition } from '../../src/sdk/index.js';

const EMAIL = { type: 'email', required: true, doc: 'The account\'s e-mail address ("+" and any other character allowed: nori URL-encodes it).' } as const satisfies ParamDef;
const IDENTIFIER = { type: 'text', required: true, maxLength: 254, doc: 'The account: its e-mail address or its SSO id.' } as const satisfies ParamDef;
const PASSWORD = { type: 'text', required: true, secret: true, maxLength: 256, doc: 'The password in clear. Secret: never stored, logged or echoed.' } as const satisfies ParamDef;
const PSEUDO = { type: 'text', required: true, maxLength: 128, doc: 'The child account\'s pseudo.' } as const satisfies ParamDef;
const SECRET_CODE = { type: 'text', required: true, secret: true, maxLength: 128, doc: 'The child account\'s secret code (sent in clear in the URL, as the service wants). Secret: never logged or echoed.' } as const satisfies ParamDef;
const NUMBER = { type: 'text', required: true, pattern: '[0-9]{1,20}', doc: 'The Advantage customer number (the field ADVANTAGE__NUMBER), leading zeros kept.' } as const satisfies ParamDef;
const FIELD_LIST = {
  type: 'list', required: true, maxLength: 128,
  doc: 'Field names, comma-separated: root fields (POSTAL_CITY) or namespaced ones (CRX__PSEUDO); letters, digits and underscores.',
} as const satisfies ParamDef;
const FIELD_MAP = {
  type: 'map', maxLength: 4096,
  doc: 'Fields to write, one element per field (<FIELDS><NAME>Nilly</NAME><CRX__PSEUDO>cnilly</CRX__PSEUDO></FIELDS>); an empty value clears the field.',
} as const satisfies ParamDef;

export const definition = {
  name: 'bayard',
  description: 'Bayard SSO user base: accounts, logins, fields, child accounts and Advantage subscriptions, with a partner url_key and salt.',
  // Production; preprod is http://preprod.bayardsso.fr/api (set the WEBAPI's BASE_URL, docs/plugins/bayard.md).
  baseUrl: 'http://bayardsso.fr/api',
  authType: 'apikey',
  auth: { apikey: {} },
  methods: {
    LOOKUP: {
      doc: 'Whether an account exists (user/lookup): outcome success with user (email, id, registered FULL or NO_PASSWORD), or failure.',
      params: { IDENTIFIER },
      idempotent: true,
    },
    LOGIN: {
      doc: 'Checks an e-mail and password (user/login, with md5(salt . password) computed from the account\'s TOKEN_SECRET): outcome success or failure.',
      params: { EMAIL, PASSWORD },
      idempotent: true,
    },
    FORGOTPASSWORD: {
      doc: 'Has the service e-mail the user a link to change their password (user/forgot_password): outcome success, or failure for an unknown address.',
      params: { EMAIL },
    },
    CREATEACCOUNT: {
      doc: 'Creates an account, a prospect until SETPASSWORD (user/create), with FIELDS written at once: user (email, id), or failure with error ERROR_USER_EXISTS.',
      params: { EMAIL, FIELDS: { ...FIELD_MAP, doc: `Optional. ${FIELD_MAP.doc}` } },
    },
    SETPASSWORD: {
      doc: 'Sets or changes an account\'s password (user/set_password, POST password): outcome success, or failure (error ERROR_USER_NOT_EXIST for an unknown address).',
      params: { EMAIL, PASSWORD },
      idempotent: true,
    },
    GETFIELDS: {
      doc: 'Reads fields of an account (user/get): user, and fields by name, each with its value or its error (ERROR_EAV_FIELD_NONEXISTENT, ERROR_EAV_FIELD_PERMISSION); outcome warning when one failed.',
      params: { EMAIL, FIELDS: FIELD_LIST },
      idempotent: true,
    },
    SETFIELDS: {
      doc: 'Writes fields of an account (user/set, form-encoded POST): outcome success, or warning with the fields that failed (the others were written), or failure with error ERROR_USER_NOT_EXIST.',
      params: { EMAIL, FIELDS: { ...FIELD_MAP, required: true } },
      idempotent: true,
    },
    CREATECHILD: {
      doc: 'Creates a child account attached to a parent account (user/create_child): outcome success, or failure (pseudo taken, unknown parent).',
      params: { PSEUDO, SECRET_CODE, PARENT: { ...IDENTIFIER, doc: 'The parent account: its e-mail address or its SSO id.' } },
    },
    CHILDPSEUDOEXISTS: {
      doc: 'Whether a child pseudo is taken (user/child_pseudo_exist): exists true (outcome success) or false (outcome failure).',
      params: { PSEUDO },
      idempotent: true,
    },
    CHILDACCOUNTS: {
      doc: 'The child accounts of a parent (user/child_accounts): children, each with id, pseudo, secretcode (empty: not disclosed) and the FIELDS asked for.',
      params: { IDENTIFIER: { ...IDENTIFIER, doc: 'The parent account: its e-mail address or its SSO id.' }, FIELDS: FIELD_LIST },
      idempotent: true,
    },
    PARENTACCOUNTS: {
      doc: 'The parent accounts of a child (user/parent_accounts): parents, each with id and email.',
      params: { IDENTIFIER: { ...IDENTIFIER, maxLength: 128, doc: 'The child account: its pseudo (or its id).' } },
      idempotent: true,
    },
    CHILDLOGIN: {
      doc: 'Checks a child\'s pseudo and secret code (user/child_login): outcome success or failure.',
      params: { PSEUDO, SECRET_CODE },
      idempotent: true,
    },
    ADVANTAGESEARCH: {
      doc: 'Finds a subscriber\'s Advantage customer number (advantage/search_many, or the obsolete advantage/search): SearchStatus NoMatch, SingleMatch or MultipleMatches, CustomerNumber, AddressCode.',
      params: {
        NAME: { type: 'text', required: true, maxLength: 128, doc: 'The subscription holder\'s name (accents, spaces and case are the service\'s to compare).' },
        FIRSTNAME: { type: 'text', required: true, maxLength: 128, doc: 'The holder\'s first name.' },
        POSTAL_CODE: { type: 'text', required: true, maxLength: 16, doc: 'The holder\'s postal code.' },
        COUNTRY: { type: 'text', required: true, pattern: '[A-Za-z]{2}', doc: 'The holder\'s country, two letters (FR for France).' },
        MANY: { type: 'boolean', doc: 'true (default): search_many, which reports MultipleMatches; false: search, obsolete, which answers NoMatch when several customers match.' },
      },
      idempotent: true,
    },
    GETACCESS: {
      doc: 'An account\'s subscriptions and accesses (access/get): SubscriptionAccessList (paper), ProductAccessList and ContentAccessList (digital, by ServiceId), each a list of items.',
      params: { EMAIL, HOST_CODE: { type: 'text', maxLength: 32, doc: 'The Advantage host code. Default BAYARD.' } },
      idempotent: true,
    },
    ALLSUBSCRIPTIONS: {
      doc: 'All Advantage subscriptions of an SSO account, own and gifts (advantage/all_subscriptions): SubscriptionList, or failure with error ERROR_USER_NOT_EXIST.',
      params: { IDENTIFIER },
      idempotent: true,
    },
    ALLSUBSCRIPTIONSAN: {
      doc: 'All subscriptions of an Advantage customer number, own and gifts (advantage/all_subscriptions_an): SubscriptionList.',
      params: { NUMBER },
      idempotent: true,
    },
    SUBSCRIPTIONLIST: {
      doc: 'The own subscriptions of an Advantage customer number (advantage/subscription_list): SubscriptionList.',
      params: { NUMBER },
      idempotent: true,
    },
    SUBSCRIPTIONLISTACTIVE: {
      doc: 'The own subscriptions not yet expired (advantage/subscription_list_active): SubscriptionList.',
      params: { NUMBER },
      idempotent: true,
    },
    SUBSCRIPTIONGIFTSLIST: {
      doc: 'The subscriptions a customer pays for someone else (advantage/subscription_gifts_list): SubscriptionList.',
      params: { NUMBER },
      idempotent: true,
    },
    SUBSCRIPTIONGIFTSLISTACTIVE: {
      doc: 'The gift subscriptions not yet expired (advantage/subscription_gifts_list_active): SubscriptionList.',
      params: { NUMBER },
      idempotent: true,
    },
  },
} as const satisfies PluginDefinition;
