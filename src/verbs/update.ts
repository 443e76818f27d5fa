/**
 * @module verbs/update
 * UPDATE by ID or ID list, with MODIFICATIONDATE as an optional optimistic-locking precondition.
 */
import type { UpdateCommand } from '../commands.js';
import { failure } from '../errors.js';
import { formatDatetime } from '../field-types.js';
import { failed } from '../outcome.js';
import { safe } from '../scrub.js';
import { updateElement, type Row } from '../store/elements.js';
import { applyEvent, isTransition } from '../auth/transitions.js';
import type { AuthEvent } from '../auth/state-machine.js';
import type { Outcome } from '../outcome.js';
import { asked, isRows, loadTarget, ownershipProblem, wrote, type Handler, type HandlerContext } from './context.js';
import { checkValues, findReferences, isUniqueViolation } from './references.js';
import { checkPluginFields } from './webapi-plugin.js';

export const update: Handler<UpdateCommand> = async (cmd, ctx) => {
  const { element, target } = cmd;
  const unlocking = cmd.values.size === 1 && cmd.values.get('ISLOCKED') === 0;
  const rows = await loadTarget(ctx, 'UPDATE', element, target, unlocking);
  if (!isRows(rows)) return failed(rows, asked(target));
  const ids = rows.map((r) => r.ID as number);
  const elementID = ids.join(',');
  if (cmd.unmodifiedSince) {
    // Exact, whatever the precision sent: a date without milliseconds means .000. To the second, two writes in
    // one second could not be told apart and the later writer would silently overwrite the earlier one.
    const given = cmd.unmodifiedSince.date;
    for (const row of rows) {
      const stored = row.MODIFICATIONDATE as Date;
      if (stored.getTime() !== given.getTime()) {
        return failed(failure('MODIFIED_SINCE', { element: element.name, id: row.ID as number, stored: formatDatetime(stored), given: formatDatetime(given) }), elementID);
      }
    }
  }
  // After the precondition, which holds for a change of AUTHORIZATION_STATE too.
  if (cmd.stateEvent) return changeState(cmd, ctx, cmd.stateEvent, ids);
  const problem =
    ownershipProblem(ctx, element, cmd.values) ??
    (element.name === 'WEBACCOUNT' ? apiMove(cmd, rows) : undefined) ??
    (element.name === 'WEBAPI' ? checkPluginFields(ctx, cmd.values, rows) : undefined) ??
    (await checkValues(ctx, element, cmd.values, ids));
  if (problem) return failed(problem, elementID);
  for (const [field, value] of cmd.values) {
    // Renaming a unique field that other elements reference would orphan them.
    if (!element.fields[field]?.unique) continue;
    const old = rows.map((r) => r[field] ?? null).filter((v) => v !== null && v !== value);
    const referenced = await findReferences(ctx, element, field, old, ids, false);
    if (referenced) return failed(referenced, elementID);
  }

  const values = new Map(cmd.values);
  values.set('MODIFIERID', ctx.principal.contactId);
  try {
    if (ids.length) await updateElement(ctx.trx, element, ids, values, ctx.keyring);
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    const field = Object.entries(element.fields).find(([, d]) => d.unique)?.[0] ?? 'a unique field';
    return failed(failure('DUPLICATE_VALUE', { element: element.name, field, value: String(rows[0]?.[field] ?? '') }), elementID);
  }
  if (element.name === 'WEBACCOUNT' && (cmd.values.has('TOKEN') || cmd.values.has('TOKEN_SECRET'))) await keyChanged(ctx, rows);
  return wrote('UPDATED', element, target, ids, 'updated');
};

/**
 * An account that holds tokens or an authorization in progress keeps its WEBAPI: moved, its tokens would be
 * presented to the other service (a Dropbox token sent to LinkedIn's BASE_URL). Waiting and revoked accounts
 * hold none and may move.
 */
function apiMove(cmd: UpdateCommand, rows: readonly Row[]) {
  const to = cmd.values.get('API');
  if (to === undefined) return undefined;
  const held = rows.find((r) => r.API !== to && r.AUTHORIZATION_STATE !== 'waiting' && r.AUTHORIZATION_STATE !== 'revoked');
  return held && failure('API_NOT_MOVABLE', { id: held.ID as number, state: String(held.AUTHORIZATION_STATE), api: String(held.API) });
}

/**
 * An API key (apikey, consent) is checked at the service by AUTHORIZE only: a new TOKEN or TOKEN_SECRET on an
 * account that was authorized would be used unchecked. So the account waits for AUTHORIZE again. The check is
 * not made here: UPDATE runs in a transaction, which a slow service must not hold.
 */
async function keyChanged(ctx: HandlerContext, rows: readonly Row[]): Promise<void> {
  const live = rows.filter((r) => r.AUTHORIZATION_STATE === 'requested' || r.AUTHORIZATION_STATE === 'authorized' || r.AUTHORIZATION_STATE === 'disabled');
  if (!live.length) return;
  const keyed = new Set((await ctx.trx('webapi').select('denomination').whereIn('denomination', [...new Set(live.map((r) => r.API as string))]).whereIn('auth_type', ['apikey', 'consent']) as { denomination: string }[]).map((a) => a.denomination));
  for (const r of live) {
    if (!keyed.has(r.API as string)) continue;
    await applyEvent(ctx.trx, r.ID as number, 'key_changed', { contactId: ctx.principal.contactId, reason: safe`its TOKEN or TOKEN_SECRET changed: AUTHORIZE it to check the new key` });
  }
}

/** UPDATE AUTHORIZATION_STATE: disabled, authorized (from disabled) or revoked, through the state machine. */
async function changeState(cmd: UpdateCommand, ctx: HandlerContext, event: AuthEvent, ids: readonly number[]): Promise<Outcome> {
  const elementID = ids.join(',');
  for (const id of ids) {
    // Tokens are read before the transition erases them, to revoke them at the provider too.
    const reason = event === 'revoke' ? await ctx.auth.revokeAtProvider(ctx.trx, id) : undefined;
    const t = await applyEvent(ctx.trx, id, event, { contactId: ctx.principal.contactId, reason });
    if (!isTransition(t)) return failed(t, elementID);
  }
  return wrote('UPDATED', cmd.element, cmd.target, ids, 'updated');
}
