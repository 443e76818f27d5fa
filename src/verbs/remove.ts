/**
 * @module verbs/remove
 * DELETE (soft: ACTIVITY=0, restorable) and KILL (the row is gone).
 */
import type { RemoveCommand } from '../commands.js';
import { failed } from '../outcome.js';
import { killElements, updateElement } from '../store/elements.js';
import { asked, isRows, loadTarget, wrote, type Handler } from './context.js';
import { checkUnreferenced } from './references.js';

export const remove: Handler<RemoveCommand> = async (cmd, ctx) => {
  const { element, target, verb } = cmd;
  const rows = await loadTarget(ctx, verb, element, target);
  if (!isRows(rows)) return failed(rows, asked(target));
  const ids = rows.map((r) => r.ID as number);
  const elementID = ids.join(',');
  // A WEBAPI still named by accounts cannot go: DELETE minds active accounts, KILL every row.
  const referenced = await checkUnreferenced(ctx, element, rows, ids, verb === 'DELETE');
  if (referenced) return failed(referenced, elementID);

  if (!ids.length) return wrote(verb === 'KILL' ? 'KILLED' : 'DELETED', element, target, ids, verb === 'KILL' ? 'killed' : 'deleted');
  if (verb === 'KILL') await killElements(ctx.trx, element, ids);
  else await updateElement(ctx.trx, element, ids, new Map([['ACTIVITY', 0], ['MODIFIERID', ctx.principal.contactId]]), ctx.keyring);
  return wrote(verb === 'KILL' ? 'KILLED' : 'DELETED', element, target, ids, verb === 'KILL' ? 'killed' : 'deleted');
};
