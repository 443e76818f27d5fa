/**
 * @module schemas/webaccount
 * WEBACCOUNT: one user's access to one WEBAPI, with its tokens. Fields as in the Sushee documentation, plus
 * what the authorization flows keep.
 */
import { COMMON_FIELDS } from './common.js';
import { defineElement } from './types.js';

export const AUTHORIZATION_STATES = ['waiting', 'requested', 'authorized', 'disabled', 'revoked'] as const;
export const PUBLIC_LEVELS = ['W', 'R', '0'] as const;

export const WEBACCOUNT = defineElement({
  name: 'WEBACCOUNT',
  table: 'webaccount',
  doc: 'One user\'s access to one remote service (a WEBAPI), with its tokens.',
  adminWrite: false,
  fields: {
    ...COMMON_FIELDS,
    API: { type: 'reference', writable: 'client', required: true, maxLength: 64, target: { element: 'WEBAPI', field: 'DENOMINATION' }, doc: 'The WEBAPI this account belongs to (its DENOMINATION); must be active.' },
    DENOMINATION: { type: 'text', writable: 'client', maxLength: 255, doc: 'A text describing what this account is.' },
    LOGIN: { type: 'text', writable: 'client', maxLength: 255, doc: 'Optional login on the service; OAuth accounts rarely need it.' },
    TOKEN: { type: 'secret', writable: 'client', maxLength: 4096, doc: 'Access token (or API key); encrypted at rest, never returned.' },
    TOKEN_SECRET: { type: 'secret', writable: 'client', maxLength: 4096, doc: 'Token secret (OAuth 1.0a) or key salt; encrypted at rest, never returned.' },
    REFRESH_TOKEN: { type: 'secret', writable: 'nori', maxLength: 4096, doc: 'OAuth 2.0 refresh token; encrypted at rest, never returned.' },
    TOKEN_EXPIRES: { type: 'datetime', writable: 'nori', doc: 'When the access token expires (UTC), if the service says.' },
    GRANTED_SCOPES: { type: 'text', writable: 'nori', maxLength: 1024, doc: 'Scopes the service granted, separated by spaces.' },
    AUTHORIZATION_STATE: { type: 'enum', writable: 'nori', values: AUTHORIZATION_STATES, default: 'waiting', doc: 'waiting, requested, authorized, disabled or revoked; moved by nori.' },
    STATE_REASON: { type: 'text', writable: 'nori', maxLength: 1000, doc: 'Why the account last changed state, when it was not the plain flow (refused, expired, rejected refresh).' },
    PUBLIC: { type: 'enum', writable: 'client', values: PUBLIC_LEVELS, default: '0', doc: 'R lets everyone read the account, W also lets everyone use it (CALL), 0 keeps it to its owner and group.' },
  },
});
