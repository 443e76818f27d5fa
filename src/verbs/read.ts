/**
 * @module verbs/read
 * GET by ID, SEARCH by criteria with pagination (PAGINATE or SLICE) and sort, COUNT.
 */
import type { ElementDef } from '../../schemas/types.js';
import type { CountCommand, GetCommand, Range, SearchCommand } from '../commands.js';
import { failed } from '../outcome.js';
import { history } from '../auth/transitions.js';
import { securityOf } from '../principal.js';
import { countElements, searchElements, type Row } from '../store/elements.js';
import { isRows, loadVisible, type Handler, type HandlerContext } from './context.js';

const withHistory = async (ctx: HandlerContext, asked: boolean, rows: readonly Row[]) =>
  asked && rows.length ? { history: await history(ctx.trx, rows.map((r) => r.ID as number)) } : {};

const security = (ctx: HandlerContext, element: ElementDef, rows: readonly Row[]) => rows.map((r) => securityOf(ctx.principal, element, r));

/** The LIMIT and OFFSET of a page or a slice. */
const window = (range: Range) =>
  range.kind === 'page' ? { limit: range.display, offset: (range.page - 1) * range.display } : { limit: range.end - range.start + 1, offset: range.start - 1 };

export const get: Handler<GetCommand> = async (cmd, ctx) => {
  const rows = await loadVisible(ctx, cmd.element, cmd.ids, false);
  if (!isRows(rows)) return failed(rows, cmd.ids.join(','));
  return { kind: 'results', element: cmd.element, rows, fields: cmd.fields, security: security(ctx, cmd.element, rows), hits: rows.length, ...(await withHistory(ctx, cmd.history, rows)) };
};

export const search: Handler<SearchCommand> = async (cmd, ctx) => {
  const { limit, offset } = window(cmd.range);
  const { rows, hits } = await searchElements(ctx.trx, cmd.element, { blocks: cmd.blocks, sort: cmd.sort, limit, offset }, ctx.principal);
  const pages = cmd.range.kind === 'page' ? { page: cmd.range.page, pages: Math.ceil(hits / cmd.range.display) } : {};
  return {
    kind: 'results', element: cmd.element, rows, fields: cmd.fields, security: security(ctx, cmd.element, rows), hits, ...pages, lastPage: offset + limit >= hits,
    ...(await withHistory(ctx, cmd.history, rows)),
  };
};

export const count: Handler<CountCommand> = async (cmd, ctx) => {
  const hits = await countElements(ctx.trx, cmd.element, { blocks: cmd.blocks }, ctx.principal);
  return { kind: 'results', element: cmd.element, rows: [], fields: undefined, security: [], hits };
};
