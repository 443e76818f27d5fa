/**
 * @module schemas/webapi
 * WEBAPI: a remote service and how to reach it. Managed by administrators; read by every caller.
 */
import { COMMON_FIELDS } from './common.js';
import { defineElement } from './types.js';

export const AUTH_TYPES = ['oauth1', 'oauth2', 'apikey', 'consent'] as const;

export const WEBAPI = defineElement({
  name: 'WEBAPI',
  table: 'webapi',
  doc: 'A remote service that offers a public API, and how nori reaches it.',
  adminWrite: true,
  fields: {
    ...COMMON_FIELDS,
    DENOMINATION: { type: 'text', writable: 'client', required: true, unique: true, maxLength: 64, doc: 'The name WEBACCOUNT.API refers to, e.g. twitter.' },
    DESCRIPTION: { type: 'text', writable: 'client', maxLength: 1000, doc: 'What the service is, for people.' },
    AUTH_TYPE: { type: 'enum', writable: 'client', required: true, values: AUTH_TYPES, doc: 'How accounts are authorized: oauth1, oauth2, apikey or consent.' },
    CLIENT_ID: { type: 'text', writable: 'client', maxLength: 512, doc: 'The client (consumer) identifier nori was given by the service.' },
    CLIENT_SECRET: { type: 'secret', writable: 'client', maxLength: 1024, doc: 'The client (consumer) secret; encrypted at rest, never returned.' },
    BASE_URL: { type: 'url', writable: 'client', maxLength: 2048, doc: 'Base URL of the service\'s API.' },
    REQUEST_TOKEN_URL: { type: 'url', writable: 'client', maxLength: 2048, doc: 'OAuth 1.0a temporary-credentials endpoint.' },
    AUTHORIZE_URL: { type: 'url', writable: 'client', maxLength: 2048, doc: 'Where the user\'s browser is sent to grant access.' },
    TOKEN_URL: { type: 'url', writable: 'client', maxLength: 2048, doc: 'OAuth token endpoint (access token, refresh).' },
    REVOKE_URL: { type: 'url', writable: 'client', maxLength: 2048, doc: 'Token revocation endpoint (RFC 7009), if the service has one.' },
    SCOPES: { type: 'text', writable: 'client', maxLength: 1024, doc: 'Scopes asked for, separated by spaces.' },
    PLUGIN: { type: 'text', writable: 'client', maxLength: 64, doc: 'The plugin that implements CALL for this service (docs/plugins.md). Empty: the plugin named like DENOMINATION, if any.' },
    SETTINGS: { type: 'map', writable: 'client', maxLength: 8192, doc: 'Settings the plugin declares (e.g. CONTENT_URL), one child element each; an UPDATE replaces them all. Empty URL fields and settings take the plugin\'s defaults.' },
  },
});
