/**
 * @module auth/refusals
 * Who refused an authorization, from the service's OAuth error code: the user (access_denied), the WEBAPI's
 * scopes (invalid_scope), the client as configured (unauthorized_client, unsupported_response_type,
 * invalid_request), or the service itself (server_error, temporarily_unavailable). One table for the callback's
 * `error=` (RFC 6749 §4.1.2.1); at the token endpoint (§5.2) only invalid_scope is told apart, and a token answer
 * that grants none of the scopes asked is one too.
 */
import { formatMessage, MESSAGES, type MessageCode } from '../errors.js';
import type { ApiSettings } from '../plugins/apis.js';

export interface Refusal {
  readonly code: MessageCode;
  /** The callback page's status. */
  readonly status: number;
  /** The sentence for the callback page; it names the service's code, never its free text. */
  readonly message: string;
}

type Api = Pick<ApiSettings, 'name' | 'scopes'> | undefined;

/** An error code shown to the user's browser: RFC 6749's charset, bounded; anything else is not repeated. */
const shown = (error: string) => (/^[\w.-]{1,64}$/.test(error) ? error : 'an unreadable error code');
const nameOf = (api: Api) => api?.name ?? 'the service';
const scopesOf = (api: Api) => (api?.scopes ?? '').split(/\s+/).filter(Boolean).join(' ') || 'none';

const scopeRefused = (api: Api, why: string): Refusal => ({
  code: 'SCOPE_REFUSED',
  status: MESSAGES.SCOPE_REFUSED.status,
  message: formatMessage('SCOPE_REFUSED', { api: nameOf(api), scopes: scopesOf(api), why }),
});
const clientRefused = (api: Api, error: string): Refusal => ({
  code: 'CLIENT_REFUSED',
  status: MESSAGES.CLIENT_REFUSED.status,
  message: formatMessage('CLIENT_REFUSED', { api: nameOf(api), error: shown(error) }),
});
const failedAt = (api: Api, error: string): Refusal => ({
  code: 'PROVIDER_ERROR',
  status: MESSAGES.PROVIDER_ERROR.status,
  message: `The service "${nameOf(api)}" failed the authorization (${shown(error)}); AUTHORIZE again later.`,
});

const CALLBACK_ERRORS: ReadonlyMap<string, (api: Api, error: string) => Refusal> = new Map<string, (api: Api, error: string) => Refusal>([
  ['access_denied', () => ({ code: 'ACCESS_DENIED', status: MESSAGES.ACCESS_DENIED.status, message: MESSAGES.ACCESS_DENIED.message })],
  ['invalid_scope', (api) => scopeRefused(api, 'invalid_scope')],
  ['unauthorized_client', clientRefused],
  ['unsupported_response_type', clientRefused],
  ['invalid_request', clientRefused],
  ['server_error', failedAt],
  ['temporarily_unavailable', failedAt],
]);

/**
 * What the callback's `error=` means. A code the RFC does not list (an extension's) says nothing about the
 * user: it is the service failing the authorization, with its code.
 * @example callbackRefusal('invalid_scope', api).code // 'SCOPE_REFUSED'
 */
export function callbackRefusal(error: string, api: Api): Refusal {
  return (CALLBACK_ERRORS.get(error) ?? failedAt)(api, error);
}

/** The token exchange's failure, when it is about scopes (§5.2 invalid_scope, or none granted); else undefined. */
export function exchangeRefusal(error: string, description: string | undefined, api: Api): Refusal | undefined {
  return error === 'invalid_scope' ? scopeRefused(api, description ?? error) : undefined;
}

/**
 * Whether a token answer grants none of the scopes asked (RFC 6749 §5.1: no `scope` means exactly those asked),
 * and if so why, in words. Asking for none, anything granted will do. RFC 6749 separates scopes with spaces;
 * LinkedIn (and others) answer them separated by commas, so both separate.
 */
export function noScopeGranted(asked: readonly string[], granted: string | undefined): string | undefined {
  if (!asked.length || granted === undefined) return undefined;
  const got = granted.split(/[\s,]+/).filter(Boolean);
  if (got.some((s) => asked.includes(s))) return undefined;
  return got.length ? `the token grants only ${got.join(' ').slice(0, 200)}` : 'the token grants no scope';
}
