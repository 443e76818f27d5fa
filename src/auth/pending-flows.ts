/**
 * @module auth/pending-flows
 * Flows between AUTHORIZE and the callback, in the database so any process can finish them. The state is
 * stored only as its SHA-256; the PKCE verifier or request-token secret is encrypted. Claiming is one atomic
 * UPDATE, so of two racing callbacks exactly one gets the flow. Each new flow purges a bounded number of dead
 * ones, so the table holds what the flows of about two time-to-lives left, not every flow ever started.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { encryptedColumn, openColumn, sealColumn } from '../store/encrypted-columns.js';
import type { Keyring } from '../store/secrets.js';

export interface PendingFlow {
  readonly id: number;
  readonly accountId: number;
  readonly contactId: number;
  readonly kind: string;
  readonly requestToken: string | null;
  /** Decrypted: the PKCE code verifier (oauth2) or the temporary token secret (oauth1). */
  readonly secret: string;
  readonly returnUrl: string | null;
  readonly expiresAt: Date;
}

export type Claim = { kind: 'claimed'; flow: PendingFlow } | { kind: 'used' } | { kind: 'unknown' };

const SECRET = encryptedColumn('nori_pending_flows', 'secret');
export const hashState = (state: string) => createHash('sha256').update(state).digest('hex');
export const newState = () => randomBytes(32).toString('base64url');

interface FlowRow {
  id: number; account_id: number; contact_id: number; kind: string; request_token: string | null; secret: string | null; return_url: string | null; expires_at: Date;
}

/** Most dead flows one new flow deletes: more than are created meanwhile, so the table cannot grow without end. */
export const PURGE_BATCH = 100;

/**
 * Deletes up to PURGE_BATCH flows that nothing can use any more: their callback's deadline passed more than one
 * time to live ago, and so did their kept result's collection deadline (`result_at` + ttl). The grace of one ttl
 * lets a late callback or collection still hear REPLAY_USED or REPLAY_EXPIRED rather than "unknown". Rows locked
 * by a callback or another purge are skipped, never waited for, so concurrent AUTHORIZEs do not queue here.
 * Every process that starts flows runs it (AUTHORIZE, a CALL meeting a consent page).
 */
export async function purgeDeadFlows(trx: Knex.Transaction, ttlSeconds: number, now = new Date()): Promise<number> {
  const ttl = ttlSeconds * 1000;
  const doomed = trx('nori_pending_flows')
    .select('id')
    .where('expires_at', '<', new Date(now.getTime() - ttl))
    .andWhere((q) => void q.whereNull('result_at').orWhere('result_at', '<', new Date(now.getTime() - 2 * ttl)))
    .orderBy('expires_at')
    .limit(PURGE_BATCH)
    .forUpdate()
    .skipLocked();
  return trx('nori_pending_flows').whereIn('id', doomed).delete();
}

/** Records a new flow and supersedes any earlier one for the account (its callback will be refused). */
export async function savePendingFlow(
  trx: Knex.Transaction,
  keyring: Keyring,
  flow: { state: string; accountId: number; contactId: number; kind: string; requestToken?: string; secret: string; returnUrl?: string | undefined; ttlSeconds: number },
): Promise<void> {
  const now = new Date();
  await purgeDeadFlows(trx, flow.ttlSeconds, now);
  await trx('nori_pending_flows').update({ used_at: now }).where('account_id', flow.accountId).whereNull('used_at');
  await trx('nori_pending_flows').insert({
    state_hash: hashState(flow.state),
    account_id: flow.accountId,
    contact_id: flow.contactId,
    kind: flow.kind,
    request_token: flow.requestToken ?? null,
    secret: sealColumn(keyring, SECRET, flow.secret),
    return_url: flow.returnUrl ?? null,
    created_at: now,
    expires_at: new Date(now.getTime() + flow.ttlSeconds * 1000),
  });
}

export async function claimPendingFlow(knex: Knex, keyring: Keyring, state: string): Promise<Claim> {
  const hash = hashState(state);
  const [row] = (await knex('nori_pending_flows').update({ used_at: new Date() }).where('state_hash', hash).whereNull('used_at').returning('*')) as FlowRow[];
  if (!row) return (await knex('nori_pending_flows').first('id').where('state_hash', hash)) ? { kind: 'used' } : { kind: 'unknown' };
  return {
    kind: 'claimed',
    flow: {
      id: row.id,
      accountId: row.account_id,
      contactId: row.contact_id,
      kind: row.kind,
      requestToken: row.request_token,
      // A consent flow keeps a CALL instead (call/consents.ts), and no secret.
      secret: row.secret ? openColumn(keyring, SECRET, row.secret, row.id) : '',
      returnUrl: row.return_url,
      expiresAt: row.expires_at,
    },
  };
}
