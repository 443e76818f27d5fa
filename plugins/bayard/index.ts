/**
 * @module plugins/bayard
 * Bayard's SSO user base: one CALL method per webservice of the spec, each a GET (or a form-encoded POST) of
 * `<module>/<method>/<url_key>/<arguments…>`, its XML answer read into a result whose `outcome` is the service's
 * own answer (docs/plugins/bayard.md). The url_key is the account's TOKEN; the salt, for LOGIN, its TOKEN_SECRET.
 */
import { createHash } from 'node:crypto';
import { definePlugin, ParamError, ServiceError } from '../../src/sdk/index.js';
import { definition } from './definition.js';
import { ask, checkKey, fieldList, fieldMap, serviceError, type Ask } from './service.js';

/** The spec's login hash: md5(salt32 . password_user), lowercase hex as PHP's md5() writes it. */
function saltedHash(salt: string | null, password: string): string {
  // AUTHORIZE refuses an account without its salt, but TOKEN_SECRET may have been cleared since.
  if (!salt) throw new ServiceError({ error: 'SALT_MISSING', message: 'the WEBACCOUNT has no TOKEN_SECRET (the partner\'s 32-character salt): UPDATE it' });
  return createHash('md5').update(salt + password, 'utf8').digest('hex');
}

/** The Advantage list methods all take a customer number and answer a SubscriptionList. */
const list = (method: Ask['method']) => async (c: Parameters<typeof ask>[0] & { params: { NUMBER: string } }) =>
  ask(c, { module: 'advantage', method, args: [['NUMBER', c.params.NUMBER]] });

export default definePlugin(
  definition,
  {
    LOOKUP: async (c) => ask(c, { module: 'user', method: 'lookup', args: [['IDENTIFIER', c.params.IDENTIFIER]] }),

    // The salted hash goes in the URL, never the password.
    LOGIN: async (c) => ask(c, { module: 'user', method: 'login', args: [['EMAIL', c.params.EMAIL], ['PASSWORD', saltedHash(c.credentials.tokenSecret, c.params.PASSWORD)]] }),

    FORGOTPASSWORD: async (c) => ask(c, { module: 'user', method: 'forgot_password', args: [['EMAIL', c.params.EMAIL]] }),

    // A GET as the spec's example does, unless there are fields to write at once.
    CREATEACCOUNT: async (c) => {
      const fields = fieldMap(c.params.FIELDS ?? {});
      return ask(c, { module: 'user', method: 'create', args: [['EMAIL', c.params.EMAIL]], ...(Object.keys(fields).length ? { form: fields } : {}) });
    },

    // In clear in the POST body, as the spec says ("en clair pour le moment"); the service stores it salted.
    SETPASSWORD: async (c) => ask(c, { module: 'user', method: 'set_password', args: [['EMAIL', c.params.EMAIL]], form: { password: c.params.PASSWORD } }),

    GETFIELDS: async (c) => ask(c, { module: 'user', method: 'get', args: [['EMAIL', c.params.EMAIL], ['FIELDS', fieldList(c.params.FIELDS)]] }),

    SETFIELDS: async (c) => {
      const fields = fieldMap(c.params.FIELDS);
      if (!Object.keys(fields).length) throw new ParamError('FIELDS', 'at least one field');
      return ask(c, { module: 'user', method: 'set', args: [['EMAIL', c.params.EMAIL]], form: fields });
    },

    CREATECHILD: async (c) => ask(c, { module: 'user', method: 'create_child', args: [['PSEUDO', c.params.PSEUDO], ['SECRET_CODE', c.params.SECRET_CODE], ['PARENT', c.params.PARENT]] }),

    // RESPONSE_SUCCESS means "this pseudo exists": `exists` says it without the caller knowing that.
    CHILDPSEUDOEXISTS: async (c) => {
      const { outcome, ...rest } = await ask(c, { module: 'user', method: 'child_pseudo_exist', args: [['PSEUDO', c.params.PSEUDO]] });
      return { outcome, exists: outcome === 'success', ...rest };
    },

    CHILDACCOUNTS: async (c) => ask(c, { module: 'user', method: 'child_accounts', args: [['IDENTIFIER', c.params.IDENTIFIER], ['FIELDS', fieldList(c.params.FIELDS)]], items: 'children' }),

    PARENTACCOUNTS: async (c) => ask(c, { module: 'user', method: 'parent_accounts', args: [['IDENTIFIER', c.params.IDENTIFIER]], items: 'parents' }),

    CHILDLOGIN: async (c) => ask(c, { module: 'user', method: 'child_login', args: [['PSEUDO', c.params.PSEUDO], ['SECRET_CODE', c.params.SECRET_CODE]] }),

    // search_many by default: search is "obsolète" and never reports MultipleMatches.
    ADVANTAGESEARCH: async (c) => {
      const { NAME, FIRSTNAME, POSTAL_CODE, COUNTRY, MANY = true } = c.params;
      return ask(c, { module: 'advantage', method: MANY ? 'search_many' : 'search', args: [['NAME', NAME], ['FIRSTNAME', FIRSTNAME], ['POSTAL_CODE', POSTAL_CODE], ['COUNTRY', COUNTRY]] });
    },

    GETACCESS: async (c) => ask(c, { module: 'access', method: 'get', args: [['EMAIL', c.params.EMAIL], ['HOST_CODE', c.params.HOST_CODE ?? 'BAYARD']] }),

    ALLSUBSCRIPTIONS: async (c) => ask(c, { module: 'advantage', method: 'all_subscriptions', args: [['IDENTIFIER', c.params.IDENTIFIER]] }),
    ALLSUBSCRIPTIONSAN: list('all_subscriptions_an'),
    SUBSCRIPTIONLIST: list('subscription_list'),
    SUBSCRIPTIONLISTACTIVE: list('subscription_list_active'),
    SUBSCRIPTIONGIFTSLIST: list('subscription_gifts_list'),
    SUBSCRIPTIONGIFTSLISTACTIVE: list('subscription_gifts_list_active'),
  },
  { serviceError, checkKey },
);
