/**
 * @module auth/state-machine
 * The authorization states of a WEBACCOUNT and the only events that move them, as one table.
 *
 * ```
 *            request            grant
 *  waiting ──────────▶ requested ──────▶ authorized ◀──enable── disabled
 *     ▲   ◀──fail/expire──┘    ▲            │  └──────disable─────▶
 *     └─refresh_rejected, token_rejected─────┘
 *  authorized ──consent_required (a CALL met a consent page)──▶ requested
 *  requested, authorized, disabled ──key_changed (UPDATE of an API key's TOKEN)──▶ waiting
 *  any state but revoked ──revoke──▶ revoked (terminal; tokens erased)
 * ```
 */
import type { AUTHORIZATION_STATES } from '../../schemas/webaccount.js';

export type AuthState = (typeof AUTHORIZATION_STATES)[number];

export type AuthEvent = 'request' | 'grant' | 'fail' | 'expire' | 'disable' | 'enable' | 'revoke' | 'refresh_rejected' | 'token_rejected' | 'consent_required' | 'key_changed';

interface Transition {
  readonly from: ReadonlySet<AuthState>;
  readonly to: AuthState;
}

const LIVE: ReadonlySet<AuthState> = new Set(['waiting', 'requested', 'authorized', 'disabled']);

export const TRANSITIONS: ReadonlyMap<AuthEvent, Transition> = new Map<AuthEvent, Transition>([
  // A second AUTHORIZE while one is pending starts over (the older flow is superseded).
  ['request', { from: new Set(['waiting', 'requested']), to: 'requested' }],
  ['grant', { from: new Set(['requested']), to: 'authorized' }],
  ['fail', { from: new Set(['requested']), to: 'waiting' }],
  ['expire', { from: new Set(['requested']), to: 'waiting' }],
  ['disable', { from: new Set(['authorized']), to: 'disabled' }],
  ['enable', { from: new Set(['disabled']), to: 'authorized' }],
  ['revoke', { from: LIVE, to: 'revoked' }],
  ['refresh_rejected', { from: new Set(['authorized']), to: 'waiting' }],
  // A CALL's credentials refused by the service (HTTP 401, after one refresh where there is one).
  ['token_rejected', { from: new Set(['authorized']), to: 'waiting' }],
  // A CALL the service answered with a consent page: the user must consent, then the callback grants or fails.
  ['consent_required', { from: new Set(['authorized']), to: 'requested' }],
  // UPDATE of an apikey or consent account's TOKEN or TOKEN_SECRET: the new key is unchecked until AUTHORIZE.
  ['key_changed', { from: new Set(['requested', 'authorized', 'disabled']), to: 'waiting' }],
]);

/** What a client may ask for through UPDATE AUTHORIZATION_STATE, and the event that does it. */
export const CLIENT_EVENTS: ReadonlyMap<string, AuthEvent> = new Map<string, AuthEvent>([
  ['disabled', 'disable'],
  ['authorized', 'enable'],
  ['revoked', 'revoke'],
]);

/** The state an event leads to from `from`, or undefined when the transition is illegal. */
export function nextState(from: AuthState, event: AuthEvent): AuthState | undefined {
  const t = TRANSITIONS.get(event);
  return t && t.from.has(from) ? t.to : undefined;
}
