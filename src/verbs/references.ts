/**
 * @module verbs/references
 * Checks of values against other stored elements: references must name an active element, unique fields
 * must be unique among active elements. The database enforces uniqueness too; this gives the clear message.
 */
import type { ElementDef } from '../../schemas/types.js';
import { ELEMENTS } from '../../schemas/index.js';
import { failure, type Failure } from '../errors.js';
import type { FieldValue } from '../field-types.js';
import { activeValueExists, countWhere } from '../store/elements.js';
import type { HandlerContext } from './context.js';

export async function checkValues(ctx: HandlerContext, element: ElementDef, values: ReadonlyMap<string, FieldValue>, ids: readonly number[] = [], memo?: Map<string, boolean>): Promise<Failure | undefined> {
  // A group of CREATEs names the same few WEBAPIs again and again: one lookup each (the database still
  // enforces uniqueness within the group).
  const exists = async (el: ElementDef, field: string, value: FieldValue, except: readonly number[]) => {
    const key = `${el.name}.${field}=${String(value)}`;
    if (memo?.has(key)) return memo.get(key)!;
    const found = await activeValueExists(ctx.trx, el, field, value, except);
    memo?.set(key, found);
    return found;
  };
  for (const [field, value] of values) {
    const def = element.fields[field];
    if (!def || value === null) continue;
    if (def.type === 'reference' && def.target) {
      const target = ELEMENTS.get(def.target.element)!;
      if (!(await exists(target, def.target.field, value, []))) {
        return failure('REFERENCE_NOT_FOUND', { field, target: target.name, value: String(value) });
      }
    }
    if (def.unique && (await exists(element, field, value, ids))) {
      return failure('DUPLICATE_VALUE', { element: element.name, field, value: String(value) });
    }
  }
  return undefined;
}

/** PostgreSQL's unique_violation: a concurrent writer got there first. */
export function isUniqueViolation(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { code?: unknown }).code === '23505';
}

/**
 * Elements that reference these values of `field` (a WEBACCOUNT naming a WEBAPI): a failure if any do.
 * `activeOnly` counts only active referrers (DELETE); otherwise every row (KILL, renames).
 */
export async function findReferences(ctx: HandlerContext, element: ElementDef, field: string, values: readonly FieldValue[], ids: readonly number[], activeOnly: boolean): Promise<Failure | undefined> {
  if (!values.length) return undefined;
  for (const other of ELEMENTS.values()) {
    for (const [refField, def] of Object.entries(other.fields)) {
      if (def.target?.element !== element.name || def.target.field !== field) continue;
      const count = await countWhere(ctx.trx, other, refField, values, activeOnly);
      if (count) return failure('STILL_REFERENCED', { element: element.name, id: ids.join(','), count, by: `${other.name} element(s)` });
    }
  }
  return undefined;
}

/** Every referenced field's values in these rows must have no referrers. */
export async function checkUnreferenced(ctx: HandlerContext, element: ElementDef, rows: readonly Record<string, FieldValue>[], ids: readonly number[], activeOnly: boolean): Promise<Failure | undefined> {
  for (const [field, def] of Object.entries(element.fields)) {
    if (!def.unique) continue;
    const problem = await findReferences(ctx, element, field, rows.map((r) => r[field] ?? null).filter((v) => v !== null), ids, activeOnly);
    if (problem) return problem;
  }
  return undefined;
}
