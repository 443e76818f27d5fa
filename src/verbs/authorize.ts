/**
 * @module verbs/authorize
 * AUTHORIZE: the owner (or an admin) starts the provider's flow for one account; the answer carries the URL
 * to send the user's browser to.
 */
import type { AuthorizeCommand } from '../commands.js';
import { failed } from '../outcome.js';
import { deletedProblem, isRows, loadWritable, type Handler } from './context.js';

export const authorize: Handler<AuthorizeCommand> = async (cmd, ctx) => {
  const rows = await loadWritable(ctx, 'AUTHORIZE', cmd.element, cmd.ids);
  if (!isRows(rows)) return failed(rows, cmd.ids.join(','));
  const deleted = deletedProblem(rows, 'authorize');
  if (deleted) return failed(deleted, cmd.ids.join(','));
  return ctx.auth.authorize(ctx.trx, ctx.principal, rows[0]!, cmd.returnUrl);
};
