/**
 * @module auth/transitions
 * Moves an account through the state machine inside the caller's transaction: locks the row, checks the
 * transition against the table, writes the new state (erasing tokens where the state says so) and records
 * the transition. The only writer of AUTHORIZATION_STATE.
 */
import type { Knex } from 'knex';
import { failure, type Failure } from '../errors.js';
import { endOpenFlows } from './pending-flows.js';
import type { Scrubbed } from '../scrub.js';
import { nextState, TRANSITIONS, type AuthEvent, type AuthState } from './state-machine.js';

export interface TransitionRecord {
  readonly from: AuthState;
  readonly to: AuthState;
  readonly event: AuthEvent;
  readonly contactId: number | null;
  readonly at: Date;
  readonly reason: string | null;
}

/** Token columns erased when an account leaves the states where its tokens mean something. */
const ERASE_TOKENS: ReadonlySet<AuthEvent> = new Set(['revoke', 'refresh_rejected', 'token_rejected']);
const TOKEN_COLUMNS = { token: null, token_secret: null, refresh_token: null, token_expires: null, granted_scopes: null };

/** What the event does besides changing the state, for the caller's transaction. */
export interface ApplyOptions {
  readonly contactId: number | null;
  /** Stored as STATE_REASON, which the account's readers see: provider text in it must have been scrubbed. */
  readonly reason?: Scrubbed | undefined;
  /** Extra columns written in the same UPDATE (e.g. the tokens a grant brings). */
  readonly columns?: Readonly<Record<string, unknown>>;
}

export async function applyEvent(trx: Knex, accountId: number, event: AuthEvent, options: ApplyOptions): Promise<TransitionRecord | Failure> {
  const row = (await trx('webaccount').first('authorization_state', 'activity').where('id', accountId).forUpdate()) as { authorization_state: AuthState; activity: number } | undefined;
  if (!row) return failure('NOT_FOUND', { element: 'WEBACCOUNT', id: accountId });
  // Checked under the row lock: an account deleted while its user was at the provider gets no tokens.
  if (event === 'grant' && row.activity === 0) return failure('ACCOUNT_DELETED', { id: accountId, action: 'authorize' });
  const from = row.authorization_state;
  const to = nextState(from, event);
  if (!to) {
    const allowed = [...TRANSITIONS.get(event)!.from].join(' or ');
    return failure('ILLEGAL_TRANSITION', { id: accountId, from, to: TRANSITIONS.get(event)!.to, allowed });
  }
  const at = new Date();
  const reason = options.reason?.slice(0, 1000) ?? null;
  await trx('webaccount')
    .update({
      ...(ERASE_TOKENS.has(event) ? TOKEN_COLUMNS : {}),
      ...options.columns,
      authorization_state: to,
      state_reason: reason,
      modificationdate: trx.raw(`GREATEST(?::timestamptz, modificationdate + interval '1 millisecond')`, [at]),
      ...(options.contactId !== null ? { modifierid: options.contactId } : {}),
    })
    .where('id', accountId);
  await trx('nori_transitions').insert({ account_id: accountId, from_state: from, to_state: to, event, contact_id: options.contactId, at, reason });
  // Its open flow ends; marked so that its callback says the account changed, not that it was replayed.
  if (to === 'revoked') await endOpenFlows(trx, accountId, 'revoked', at);
  return { from, to, event, contactId: options.contactId, at, reason };
}

export async function history(trx: Knex | Knex.Transaction, accountIds: readonly number[]): Promise<Map<number, TransitionRecord[]>> {
  const rows = (await trx('nori_transitions').select('*').whereIn('account_id', accountIds).orderBy('id')) as {
    account_id: number; from_state: AuthState; to_state: AuthState; event: AuthEvent; contact_id: number | null; at: Date; reason: string | null;
  }[];
  const out = new Map<number, TransitionRecord[]>(accountIds.map((id) => [id, []]));
  for (const r of rows) out.get(r.account_id)!.push({ from: r.from_state, to: r.to_state, event: r.event, contactId: r.contact_id, at: r.at, reason: r.reason });
  return out;
}

export const isTransition = (x: TransitionRecord | Failure): x is TransitionRecord => 'to' in x;
