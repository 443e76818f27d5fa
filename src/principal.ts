/**
 * @module principal
 * Who is asking, and what they may do with an element. Deny unless allowed.
 */
import type { ElementDef } from '../schemas/types.js';

/** The caller behind an API key: a contact, its groups, and whether it administers nori. */
export interface Principal {
  readonly contactId: number;
  readonly groups: readonly number[];
  readonly admin: boolean;
}

/** The stored facts permissions depend on. */
export interface Ownership {
  readonly OWNERID?: unknown;
  readonly GROUPID?: unknown;
  readonly PUBLIC?: unknown;
}

const hasPublicField = (element: ElementDef) => 'PUBLIC' in element.fields;

/** Admin-written elements (WEBAPI) are readable by every authenticated caller; the rest by owner, group, or PUBLIC. */
export function canRead(p: Principal, element: ElementDef, row: Ownership): boolean {
  if (p.admin || element.adminWrite) return true;
  if (row.OWNERID === p.contactId) return true;
  if (typeof row.GROUPID === 'number' && p.groups.includes(row.GROUPID)) return true;
  return hasPublicField(element) && (row.PUBLIC === 'R' || row.PUBLIC === 'W');
}

/** UPDATE, DELETE, KILL: the owner or an admin; admin-written elements, admins only. */
export function canWrite(p: Principal, element: ElementDef, row: Ownership): boolean {
  if (p.admin) return true;
  return !element.adminWrite && row.OWNERID === p.contactId;
}

/** What a caller may do with an element, as Sushee's `security` attribute says it: W write, R read, 0 nothing. */
export type Security = 'W' | 'R' | '0';

export function securityOf(p: Principal, element: ElementDef, row: Ownership): Security {
  return canWrite(p, element, row) ? 'W' : canRead(p, element, row) ? 'R' : '0';
}

const positiveId = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * The principal as it enters the engine from JavaScript, checked: a TypeError naming the field (never its value,
 * which may come from a session) instead of an INTERNAL_ERROR later, and `admin` only when it is `true` itself.
 * Returns a frozen copy, so a caller changing its object meanwhile changes nothing of a running batch.
 */
export function checkPrincipal(p: unknown): Principal {
  if (typeof p !== 'object' || p === null) throw new TypeError('the principal must be an object { contactId, groups, admin }');
  const { contactId, groups, admin } = p as Record<string, unknown>;
  if (!positiveId(contactId)) throw new TypeError('principal.contactId must be a positive whole number');
  if (!Array.isArray(groups)) throw new TypeError('principal.groups must be an array of positive whole numbers (empty for none)');
  if (!groups.every(positiveId)) throw new TypeError('principal.groups must hold positive whole numbers only');
  if (typeof admin !== 'boolean') throw new TypeError('principal.admin must be true or false');
  return Object.freeze({ contactId, groups: Object.freeze([...groups]), admin });
}
