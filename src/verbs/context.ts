/**
 * @module verbs/context
 * What every handler receives, and the checks the writing verbs share: the element must be visible, writable
 * and (unless only being unlocked) not locked.
 */
import type { Knex } from 'knex';
import type { ElementDef } from '../../schemas/types.js';
import type { AuthService } from '../auth/service.js';
import type { Command, Target, Verb } from '../commands.js';
import { failure, type Failure } from '../errors.js';
import type { Done, Outcome } from '../outcome.js';
import { canRead, canWrite, type Principal } from '../principal.js';
import { selectByIds, selectMatching, type Row } from '../store/elements.js';
import type { Keyring } from '../store/secrets.js';
import type { Registry } from '../plugins/loader.js';

export interface HandlerContext {
  readonly trx: Knex.Transaction;
  readonly principal: Principal;
  readonly keyring: Keyring;
  readonly auth: AuthService;
  /** The loaded plugins (a WEBAPI's PLUGIN and SETTINGS are checked against them). */
  readonly plugins: Registry;
  /** The request's rows budget (NORI_MAX_REQUEST_ROWS) and what is left of it: a WHERE may not address more. */
  readonly rowBudget: { readonly limit: number; readonly left: number };
}

export type Handler<C extends Command = Command> = (command: C, ctx: HandlerContext) => Promise<Outcome>;

const ACTIONS: Partial<Record<Verb, string>> = { UPDATE: 'update', DELETE: 'delete', KILL: 'kill', CREATE: 'create', AUTHORIZE: 'authorize' };

/** The rows of these IDs if the principal may see them all, or the failure that says why not. */
export async function loadVisible(ctx: HandlerContext, element: ElementDef, ids: readonly number[], forUpdate: boolean): Promise<Row[] | Failure> {
  const rows = await selectByIds(ctx.trx, element, ids, forUpdate);
  const found = new Map(rows.map((r) => [r.ID as number, r]));
  const missing = ids.filter((id) => !found.has(id));
  // Strangers learn nothing about existence: a missing element and a hidden one answer alike.
  const hidden = ids.filter((id) => !found.has(id) || !canRead(ctx.principal, element, found.get(id)!));
  if (hidden.length && !ctx.principal.admin) return failure('NOT_VISIBLE', { element: element.name, id: hidden.join(',') });
  if (missing.length) return failure('NOT_FOUND', { element: element.name, id: missing.join(',') });
  return ids.map((id) => found.get(id)!);
}

/** Visible, writable and not locked; `unlocking` lets an UPDATE that only sets ISLOCKED through. */
export async function loadWritable(ctx: HandlerContext, verb: Verb, element: ElementDef, ids: readonly number[], unlocking = false): Promise<Row[] | Failure> {
  const rows = await loadVisible(ctx, element, ids, true);
  if (!Array.isArray(rows)) return rows;
  return checkWritable(ctx, verb, element, rows, unlocking);
}

/**
 * The rows an UPDATE, DELETE or KILL writes, locked, each checked as loadWritable checks an ID list: by ID, or all
 * the WHERE matches among what the caller may read. A WHERE matching more than its limit, or than the rows the
 * request has left, writes nothing: all or nothing, as an ID list.
 */
export async function loadTarget(ctx: HandlerContext, verb: Verb, element: ElementDef, target: Target, unlocking = false): Promise<Row[] | Failure> {
  if (target.kind === 'ids') return loadWritable(ctx, verb, element, target.ids, unlocking);
  const action = ACTIONS[verb] ?? verb.toLowerCase();
  // Before the search: a caller who may not write the type learns nothing of what it holds.
  if (element.adminWrite && !ctx.principal.admin) return failure('ADMIN_ONLY', { action, element: element.name });
  const { left, limit } = ctx.rowBudget;
  const cap = Math.min(target.limit, Math.max(0, left));
  const rows = await selectMatching(ctx.trx, element, target.blocks, ctx.principal, cap + 1);
  if (rows.length > cap) {
    if (cap < target.limit) return failure('BUDGET_ROWS', { limit, what: `matched more elements than the ${left} rows that remained; nothing was written` });
    return failure('LIMIT_WHERE', { element: element.name, limit: target.limit });
  }
  return checkWritable(ctx, verb, element, rows, unlocking);
}

/** Every row writable by the principal and, unless `unlocking`, unlocked; or the failure naming those that are not. */
function checkWritable(ctx: HandlerContext, verb: Verb, element: ElementDef, rows: Row[], unlocking: boolean): Row[] | Failure {
  const action = ACTIONS[verb] ?? verb.toLowerCase();
  if (element.adminWrite && !ctx.principal.admin) return failure('ADMIN_ONLY', { action, element: element.name });
  const denied = rows.filter((r) => !canWrite(ctx.principal, element, r)).map((r) => r.ID);
  if (denied.length) return failure('FORBIDDEN', { element: element.name, id: denied.join(','), action });
  const locked = rows.filter((r) => r.ISLOCKED === 1).map((r) => r.ID);
  if (locked.length && !unlocking) return failure('LOCKED', { element: element.name, id: locked.join(','), action });
  return rows;
}

/**
 * OWNERID and GROUPID a non-admin writes: only the caller, and only a group of the caller's. Anything else would
 * plant an element on someone else (who then sees it as their own, authorizes it, and lends the planter their tokens).
 */
export function ownershipProblem(ctx: HandlerContext, element: ElementDef, values: ReadonlyMap<string, unknown>): Failure | undefined {
  const p = ctx.principal;
  if (p.admin) return undefined;
  const owner = values.get('OWNERID');
  if (owner !== undefined && owner !== null && owner !== p.contactId) return failure('OWNER_FORBIDDEN', { element: element.name, value: String(owner), me: p.contactId });
  const group = values.get('GROUPID');
  if (group !== undefined && group !== null && !(typeof group === 'number' && p.groups.includes(group))) {
    return failure('GROUP_FORBIDDEN', { element: element.name, value: String(group), groups: p.groups.join(', ') || 'none' });
  }
  return undefined;
}

/** A deleted account (ACTIVITY 0) is neither called nor authorized until it is restored. */
export const deletedProblem = (rows: readonly Row[], action: string): Failure | undefined => {
  const deleted = rows.filter((r) => r.ACTIVITY === 0).map((r) => r.ID);
  return deleted.length ? failure('ACCOUNT_DELETED', { id: deleted.join(','), action }) : undefined;
};

/**
 * The answer of a write that succeeded: the elements it wrote (hits, elementID), and for a WHERE the rows it read,
 * which count against the request's budget. A WHERE that matched nothing says so, as a success.
 */
export function wrote(code: Done['code'], element: ElementDef, target: Target, ids: readonly number[], done: string): Done {
  const read = target.kind === 'where' ? ids.length : undefined;
  if (!ids.length) return { kind: 'done', code: 'NONE_MATCHED', params: { element: element.name, done }, elementID: '', hits: 0, read };
  const elementID = ids.join(',');
  return { kind: 'done', code, params: { element: element.name, id: elementID }, elementID, hits: ids.length, read };
}

/** The elementID a failed write answers before it knows its rows: the ID list asked for; a WHERE has none yet. */
export const asked = (target: Target): string | undefined => (target.kind === 'ids' ? target.ids.join(',') : undefined);

export const isRows = (x: Row[] | Failure): x is Row[] => Array.isArray(x);
