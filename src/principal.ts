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
