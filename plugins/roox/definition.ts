/**
 * @module plugins/roox/definition
 * RooX UIDM Federation WebAPI as data: a user's bindings (partner mappings) to social networks, read and deleted
 * on the user's OAuth 2.0 bearer token from the RooX UIDM, and the current customer. The document
 * (../shared/specs/roox-federation-webapi.txt) names no host: each RooX deployment has its own SSO host, so the
 * URLs below are placeholders on a reserved `.invalid` host that an admin must replace (docs/plugins/roox.md).
 */
import type { PluginDefinition } from '../../src/sdk/index.js';

/** A mapping id as the list returns it (839672): digits only, so it can only ever be one path segment. */
export const MAPPING_ID = '[0-9]{1,19}';

export const definition = {
  name: 'roox',
  description: "RooX UIDM Federation WebAPI: the current customer, and the user's bindings to social networks (partner mappings), listed and deleted.",
  // BASE_URL is https://{sso_host}; the version segment comes from API_VERSION, joined into every path.
  baseUrl: 'https://sso.example.invalid',
  authType: 'oauth2',
  auth: {
    oauth2: {
      // Not in the document. The AQIC… token of its examples is an OpenAM SSO token, and these are OpenAM's
      // OAuth 2.0 paths under /sso; an admin sets the deployment's real AUTHORIZE_URL and TOKEN_URL.
      authorizeUrl: 'https://sso.example.invalid/sso/oauth2/authorize',
      tokenUrl: 'https://sso.example.invalid/sso/oauth2/access_token',
      // The document names no scope, but every method acts on "the current user, determined by the token"
      // (@me): the token must identify its user, which OpenID Connect's openid is for. Without a scope a
      // server with no default one refuses the request (RFC 6749 §3.3, invalid_scope).
      scopes: 'openid',
    },
  },
  settings: {
    API_VERSION: {
      type: 'text',
      default: 'webapi-1.0',
      doc: 'The WebAPI version path segment joined into every path (webapi-1.0, webapi-1.3…), as the deployment serves it.',
    },
  },
  methods: {
    GETCUSTOMER: {
      doc: 'The current customer (GET /{API_VERSION}/customers/@me), as RooX sends it: id, balance, balanceDecimal, birthday, lastName, firstName, displayName, msisdn…',
      params: {},
      idempotent: true,
    },
    LISTMAPPINGS: {
      doc: "The current user's partner mappings (GET /{API_VERSION}/customers/@me/partnerMappings): one ITEM per mapping with id, type, customerId, partnerId, created and externalUser (userId, firstName, lastName, middleName, fullName, avatarUrl, avatarSmallUrl); a field RooX leaves out is left out.",
      params: {},
      idempotent: true,
    },
    DELETEMAPPING: {
      doc: "Deletes one of the current user's partner mappings by its id (DELETE /{API_VERSION}/partnerMappings/{ID}); returns the id.",
      params: {
        ID: {
          type: 'text',
          required: true,
          pattern: MAPPING_ID,
          doc: 'The mapping id, as LISTMAPPINGS returns it (digits only, e.g. 839672).',
        },
      },
      // Deleting twice leaves what deleting once leaves; a retry after a lost answer gets 404 (see the docs).
      idempotent: true,
    },
  },
} as const satisfies PluginDefinition;
