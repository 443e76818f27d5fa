/**
 * @module auth/pending-flows
 * Flows between AUTHORIZE and the callback, in the database so any process can finish them. The state is
 * stored only as its SHA-256; the PKCE verifier or request-token secret is encrypted. Claiming is one atomic
 * UPDATE, so of two racing callbacks exactly one gets the flow. Each new flow purges a bounded number of dead
 * ones, so the table holds what the flows of about two time-to-lives left, not every flow ever started.
 * A flow is bound to one browser: its start link works once and records the hash of that browser's binding
 * cookie (auth/browser-binding.ts); a callback from any other browser is refused before it claims anything, so
 * a stranger can neither finish nor burn the flow.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { isBound } from './browser-binding.js';
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

/** What a callback's state and browser found: `unbound` (another browser) and `unknown` claim nothing. */
export type Claim =
  | { kind: 'claimed'; flow: PendingFlow }
  | { kind: 'used' }
  | { kind: 'revoked'; flow: Pick<PendingFlow, 'accountId' | 'returnUrl'> }
  | { kind: 'unbound'; accountId: number }
  | { kind: 'unknown' };

/** What following a start link found. */
export type Start = { kind: 'started'; providerUrl: string } | { kind: 'used' } | { kind: 'expired' } | { kind: 'unknown' };

/** Why a flow's used_at is set. */
export type Ended = 'finished' | 'superseded' | 'revoked';

const SECRET = encryptedColumn('nori_pending_flows', 'secret');
const PROVIDER_URL = encryptedColumn('nori_pending_flows', 'provider_url');
export const hashState = (state: string) => createHash('sha256').update(state).digest('hex');
export const newState = () => randomBytes(32).toString('base64url');

interface FlowRow {
  id: number; account_id: number; contact_id: number; kind: string; request_token: string | null; secret: string | null; return_url: string | null; expires_at: Date;
  used_at: Date | null; browser_hash: string | null; ended: Ended | null;
}

/** The link AUTHORIZE (or a CALL meeting a consent page) answers: nori's start route, with a single-use token. */
export interface StartLink {
  readonly token: string;
  readonly url: string;
}

/** A new start link under the public URL; its flow row keeps where it leads (`startColumns`). */
export function newStartLink(publicUrl: string): StartLink {
  const token = newState();
  return { token, url: `${publicUrl.replace(/\/$/, '')}/oauth/start?flow=${token}` };
}

/** The columns every new flow carries for its start link. */
export const startColumns = (keyring: Keyring, start: StartLink, providerUrl: string) => ({
  start_hash: hashState(start.token),
  provider_url: sealColumn(keyring, PROVIDER_URL, providerUrl),
});

/** Ends the account's open flows: a newer one supersedes them, or the account was revoked. */
export async function endOpenFlows(trx: Knex.Transaction | Knex, accountId: number, ended: Exclude<Ended, 'finished'>, at = new Date()): Promise<void> {
  await trx('nori_pending_flows').update({ used_at: at, ended }).where('account_id', accountId).whereNull('used_at');
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
  flow: { state: string; start: StartLink; providerUrl: string; accountId: number; contactId: number; kind: string; requestToken?: string; secret: string; returnUrl?: string | undefined; ttlSeconds: number },
): Promise<void> {
  const now = new Date();
  await purgeDeadFlows(trx, flow.ttlSeconds, now);
  await endOpenFlows(trx, flow.accountId, 'superseded', now);
  await trx('nori_pending_flows').insert({
    state_hash: hashState(flow.state),
    ...startColumns(keyring, flow.start, flow.providerUrl),
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

/**
 * Follows a start link: once, before the flow's deadline and while it is open, it binds the flow to the browser
 * whose binding hash is given, and gives the provider's URL. One atomic UPDATE, so of two racing browsers one wins.
 */
export async function followStartLink(knex: Knex, keyring: Keyring, token: string, browserHash: string): Promise<Start> {
  const hash = hashState(token);
  const now = new Date();
  const [row] = (await knex('nori_pending_flows')
    .update({ started_at: now, browser_hash: browserHash })
    .where('start_hash', hash)
    .whereNull('started_at')
    .whereNull('used_at')
    .where('expires_at', '>', now)
    .returning(['id', 'provider_url'])) as { id: number; provider_url: string }[];
  if (row) return { kind: 'started', providerUrl: openColumn(keyring, PROVIDER_URL, row.provider_url, row.id) };
  const seen = (await knex('nori_pending_flows').first('started_at', 'used_at', 'expires_at').where('start_hash', hash)) as { started_at: Date | null; used_at: Date | null; expires_at: Date } | undefined;
  if (!seen) return { kind: 'unknown' };
  if (seen.started_at || seen.used_at) return { kind: 'used' };
  return { kind: 'expired' };
}

/**
 * Claims the flow of a callback's state for the browser bringing `bindings`. The browser is checked before
 * anything is written: a callback from a browser the flow is not bound to leaves the flow as it was.
 */
export async function claimPendingFlow(knex: Knex, keyring: Keyring, state: string, bindings: string | readonly string[] | undefined): Promise<Claim> {
  const hash = hashState(state);
  const seen = (await knex('nori_pending_flows').first('id', 'account_id', 'return_url', 'browser_hash', 'used_at', 'ended').where('state_hash', hash)) as Pick<FlowRow, 'id' | 'account_id' | 'return_url' | 'browser_hash' | 'used_at' | 'ended'> | undefined;
  if (!seen) return { kind: 'unknown' };
  if (!isBound(seen.browser_hash, bindings)) return { kind: 'unbound', accountId: seen.account_id };
  // A start link works once, so the bound browser cannot change: claiming by id alone is enough.
  const [row] = seen.used_at ? [] : ((await knex('nori_pending_flows').update({ used_at: new Date(), ended: 'finished' }).where('id', seen.id).whereNull('used_at').returning('*')) as FlowRow[]);
  if (!row) {
    // Ended meanwhile: by its own callback (a replay, or a race lost), a newer flow, or the account's revocation.
    const ended = seen.used_at ? seen.ended : ((await knex('nori_pending_flows').first('ended').where('id', seen.id)) as { ended: Ended | null } | undefined)?.ended;
    return ended === 'revoked' ? { kind: 'revoked', flow: { accountId: seen.account_id, returnUrl: seen.return_url } } : { kind: 'used' };
  }
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
