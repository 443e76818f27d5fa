/**
 * @module schemas/common
 * The fields every element has, as in Sushee.
 */
import type { FieldDef } from './types.js';

export const COMMON_FIELDS = {
  ID: { type: 'id', writable: 'nori', doc: 'Unique identifier, given by nori.' },
  ACTIVITY: { type: 'flag', writable: 'client', default: '1', doc: '1 while active; DELETE sets 0 (hidden from SEARCH and COUNT), UPDATE to 1 restores.' },
  ISLOCKED: { type: 'flag', writable: 'client', default: '0', doc: '1 refuses UPDATE, DELETE and KILL until an UPDATE sets it back to 0.' },
  CREATORID: { type: 'id', writable: 'nori', doc: 'Contact who created the element (from the API key).' },
  OWNERID: { type: 'id', writable: 'client', doc: 'Contact who owns the element; defaults to the creator. Owners and admins may write.' },
  GROUPID: { type: 'id', writable: 'client', doc: 'Group whose members may read the element.' },
  MODIFIERID: { type: 'id', writable: 'nori', doc: 'Contact who last wrote the element.' },
  CREATIONDATE: { type: 'datetime', writable: 'nori', doc: 'When the element was created (UTC).' },
  MODIFICATIONDATE: {
    type: 'datetime',
    writable: 'nori',
    doc: 'When the element was last written (UTC). Sent in UPDATE, it is a precondition: the update fails if the element changed since.',
  },
} as const satisfies Record<string, FieldDef>;
