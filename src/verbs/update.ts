/**
 * @module verbs/update
 * UPDATE by ID or ID list, with MODIFICATIONDATE as an optional optimistic-locking precondition.
 */
import type { UpdateCommand } from '../commands.js';
import { failure } from '../errors.js';
import { formatDatetime } from '../field-types.js';
import { failed } from '../outcome.js';
import { updateElement } from '../store/elements.js';
import { applyEvent, isTransition } from '../auth/transitions.js';
import type { AuthEvent } from '../auth/state-machine.js';
import type { Outcome } from '../outcome.js';
import { isRows, loadWritable, type Handler, type HandlerContext } from './context.js';
import { checkValues, findReferences, isUniqueViolation } from './references.js';
import { checkPluginFields } from './webapi-plugin.js';

export const update: Handler<UpdateCommand> = async (cmd, ctx) => {
  const { element, ids } = cmd;
  const elementID = ids.join(',');
  const unlocking = cmd.values.size === 1 && cmd.values.get('ISLOCKED') === 0;
  const rows = await loadWritable(ctx, 'UPDATE', element, ids, unlocking);
  if (!isRows(rows)) return failed(rows, elementID);
  if (cmd.stateEvent) return changeState(cmd, ctx, cmd.stateEvent);

  if (cmd.unmodifiedSince) {
    const { date, toSecond } = cmd.unmodifiedSince;
    const given = toSecond ? Math.floor(date.getTime() / 1000) : date.getTime();
    for (const row of rows) {
      const stored = row.MODIFICATIONDATE as Date;
      if ((toSecond ? Math.floor(stored.getTime() / 1000) : stored.getTime()) !== given) {
        return failed(failure('MODIFIED_SINCE', { element: element.name, id: row.ID as number, stored: formatDatetime(stored), given: formatDatetime(date) }), elementID);
      }
    }
  }
  const problem = (element.name === 'WEBAPI' ? checkPluginFields(ctx, cmd.values, rows) : undefined) ?? (await checkValues(ctx, element, cmd.values, ids));
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
    await updateElement(ctx.trx, element, ids, values, ctx.keyring);
  } catch (e) {
    if (!isUniqueViolation(e)) throw e;
    const field = Object.entries(element.fields).find(([, d]) => d.unique)?.[0] ?? 'a unique field';
    return failed(failure('DUPLICATE_VALUE', { element: element.name, field, value: String(rows[0]?.[field] ?? '') }), elementID);
  }
  return { kind: 'done', code: 'UPDATED', params: { element: element.name, id: elementID }, elementID };
};

/** UPDATE AUTHORIZATION_STATE: disabled, authorized (from disabled) or revoked, through the state machine. */
async function changeState(cmd: UpdateCommand, ctx: HandlerContext, event: AuthEvent): Promise<Outcome> {
  const elementID = cmd.ids.join(',');
  for (const id of cmd.ids) {
    // Tokens are read before the transition erases them, to revoke them at the provider too.
    const reason = event === 'revoke' ? await ctx.auth.revokeAtProvider(ctx.trx, id) : undefined;
    const t = await applyEvent(ctx.trx, id, event, { contactId: ctx.principal.contactId, reason });
    if (!isTransition(t)) return failed(t, elementID);
  }
  return { kind: 'done', code: 'UPDATED', params: { element: cmd.element.name, id: elementID }, elementID };
}
