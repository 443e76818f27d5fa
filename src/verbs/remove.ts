/**
 * @module verbs/remove
 * DELETE (soft: ACTIVITY=0, restorable) and KILL (the row is gone).
 */
import type { RemoveCommand } from '../commands.js';
import { failed } from '../outcome.js';
import { killElements, updateElement } from '../store/elements.js';
import { isRows, loadWritable, type Handler } from './context.js';
import { checkUnreferenced } from './references.js';

export const remove: Handler<RemoveCommand> = async (cmd, ctx) => {
  const { element, ids, verb } = cmd;
  const elementID = ids.join(',');
  const rows = await loadWritable(ctx, verb, element, ids);
  if (!isRows(rows)) return failed(rows, elementID);
  // A WEBAPI still named by accounts cannot go: DELETE minds active accounts, KILL every row.
  const referenced = await checkUnreferenced(ctx, element, rows, ids, verb === 'DELETE');
  if (referenced) return failed(referenced, elementID);

  if (verb === 'KILL') await killElements(ctx.trx, element, ids);
  else await updateElement(ctx.trx, element, ids, new Map([['ACTIVITY', 0], ['MODIFIERID', ctx.principal.contactId]]), ctx.keyring);
  return { kind: 'done', code: verb === 'KILL' ? 'KILLED' : 'DELETED', params: { element: element.name, id: elementID }, elementID };
};
