/**
 * @module call/consents
 * CALLs kept across a consent page. The pending flow row (as for AUTHORIZE) holds the CALL, encrypted, so the
 * callback can run it again in any process; its result is then kept, encrypted, for the caller to collect once
 * by the id the CONSENT_REQUIRED message gave. Ids and states are stored only as their SHA-256.
 */
import { randomBytes } from 'node:crypto';
import type { Knex } from 'knex';
import { endOpenFlows, hashState, purgeDeadFlows, startColumns, type StartLink } from '../auth/pending-flows.js';
import { failure, type Failure } from '../errors.js';
import type { CallAnswer } from '../outcome.js';
import type { Principal } from '../principal.js';
import { encryptedColumn, openColumn, sealColumn } from '../store/encrypted-columns.js';
import type { Keyring } from '../store/secrets.js';
import type { XmlNode } from '../xml/parse.js';

export interface KeptCall {
  readonly method: string;
  readonly node: XmlNode;
}

const PENDING_CALL = encryptedColumn('nori_pending_flows', 'pending_call');
const RESULT = encryptedColumn('nori_pending_flows', 'result');

export const newCallId = () => randomBytes(24).toString('base64url');

/** JSON cannot carry bytes: a file a method returned travels as { $bytes: base64 }. */
const replacer = (_k: string, v: unknown) => (v instanceof Uint8Array || (v && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) ? { $bytes: Buffer.from(v instanceof Uint8Array ? v : ((v as { data: number[] }).data)).toString('base64') } : v);
const reviver = (_k: string, v: unknown) => (v && typeof v === 'object' && typeof (v as { $bytes?: unknown }).$bytes === 'string' && Object.keys(v).length === 1 ? Buffer.from((v as { $bytes: string }).$bytes, 'base64') : v);

/** Records the kept CALL and its flow; an older pending flow of the account is superseded, as AUTHORIZE does. */
export async function keepCall(trx: Knex.Transaction, keyring: Keyring, k: { state: string; start: StartLink; consentUrl: string; callId: string; accountId: number; contactId: number; call: KeptCall; returnUrl: string | undefined; ttlSeconds: number }): Promise<void> {
  const now = new Date();
  await purgeDeadFlows(trx, k.ttlSeconds, now);
  await endOpenFlows(trx, k.accountId, 'superseded', now);
  await trx('nori_pending_flows').insert({
    state_hash: hashState(k.state),
    // The consent page is reached through nori's start link too, so its callback is bound to one browser.
    ...startColumns(keyring, k.start, k.consentUrl),
    call_hash: hashState(k.callId),
    account_id: k.accountId,
    contact_id: k.contactId,
    kind: 'consent',
    pending_call: sealColumn(keyring, PENDING_CALL, JSON.stringify(k.call)),
    return_url: k.returnUrl ?? null,
    created_at: now,
    expires_at: new Date(now.getTime() + k.ttlSeconds * 1000),
  });
}

export async function keptCall(db: Knex, keyring: Keyring, flowId: number): Promise<KeptCall> {
  const row = (await db('nori_pending_flows').first('pending_call').where('id', flowId)) as { pending_call: string };
  return JSON.parse(openColumn(keyring, PENDING_CALL, row.pending_call, flowId)) as KeptCall;
}

export async function keepResult(db: Knex, keyring: Keyring, flowId: number, answer: CallAnswer): Promise<void> {
  await db('nori_pending_flows').update({ result: sealColumn(keyring, RESULT, JSON.stringify(answer, replacer)), result_at: new Date() }).where('id', flowId);
}

/**
 * The kept result, once: the caller must be the one who made the CALL (or an admin), on the same account,
 * within the flow's time to live after the result was kept. Of two racing collections one wins.
 */
export async function collect(db: Knex, keyring: Keyring, k: { callId: string; accountId: number; principal: Principal; ttlSeconds: number }): Promise<CallAnswer | Failure> {
  const hash = hashState(k.callId);
  const id = k.accountId;
  const row = (await db('nori_pending_flows').first('id', 'account_id', 'contact_id', 'result', 'result_at', 'taken_at').where('call_hash', hash)) as
    | { id: number; account_id: number; contact_id: number; result: string | null; result_at: Date | null; taken_at: Date | null }
    | undefined;
  if (!row || row.account_id !== id || (row.contact_id !== k.principal.contactId && !k.principal.admin)) return failure('REPLAY_UNKNOWN', { id });
  if (row.taken_at) return failure('REPLAY_USED', { id });
  if (!row.result || !row.result_at) return failure('REPLAY_PENDING', { id });
  if (row.result_at.getTime() + k.ttlSeconds * 1000 < Date.now()) return failure('REPLAY_EXPIRED', { id });
  const claimed = await db('nori_pending_flows').update({ taken_at: new Date() }).where('id', row.id).whereNull('taken_at');
  if (!claimed) return failure('REPLAY_USED', { id });
  return JSON.parse(openColumn(keyring, RESULT, row.result, row.id), reviver) as CallAnswer;
}
