/**
 * @module verbs/read
 * GET by ID, SEARCH by criteria with pagination and sort, COUNT.
 */
import type { CountCommand, GetCommand, SearchCommand } from '../commands.js';
import { failed } from '../outcome.js';
import { history } from '../auth/transitions.js';
import { countElements, searchElements, type Row } from '../store/elements.js';
import { isRows, loadVisible, type Handler, type HandlerContext } from './context.js';

const withHistory = async (ctx: HandlerContext, asked: boolean, rows: readonly Row[]) =>
  asked && rows.length ? { history: await history(ctx.trx, rows.map((r) => r.ID as number)) } : {};

export const get: Handler<GetCommand> = async (cmd, ctx) => {
  const rows = await loadVisible(ctx, cmd.element, cmd.ids, false);
  if (!isRows(rows)) return failed(rows, cmd.ids.join(','));
  return { kind: 'results', element: cmd.element, rows, fields: cmd.fields, hits: rows.length, ...(await withHistory(ctx, cmd.history, rows)) };
};

export const search: Handler<SearchCommand> = async (cmd, ctx) => {
  const { rows, hits } = await searchElements(
    ctx.trx,
    cmd.element,
    { blocks: cmd.blocks, sort: cmd.sort, limit: cmd.display, offset: (cmd.page - 1) * cmd.display },
    ctx.principal,
  );
  return { kind: 'results', element: cmd.element, rows, fields: cmd.fields, hits, page: cmd.page, pages: Math.ceil(hits / cmd.display), ...(await withHistory(ctx, cmd.history, rows)) };
};

export const count: Handler<CountCommand> = async (cmd, ctx) => {
  const hits = await countElements(ctx.trx, cmd.element, { blocks: cmd.blocks }, ctx.principal);
  return { kind: 'results', element: cmd.element, rows: [], fields: undefined, hits };
};
