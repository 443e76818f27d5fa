/**
 * @module schemas/types
 * The vocabulary of element definitions. An element type is data: its fields, their types and who may write
 * them. Validation, storage columns, the XSD and the docs table are all derived from these definitions.
 */

/** How a field's value is read from XML, stored, and written back. */
export type FieldType = 'id' | 'text' | 'url' | 'enum' | 'datetime' | 'flag' | 'reference' | 'secret' | 'map';

/**
 * Who may set a field: `client` in CREATE and UPDATE, `create` only in CREATE, `nori` never (nori sets it;
 * a client that sends it is told so).
 */
export type Writable = 'client' | 'create' | 'nori';

export interface FieldDef {
  readonly type: FieldType;
  readonly doc: string;
  readonly writable: Writable;
  /** Needed in CREATE. */
  readonly required?: boolean;
  /** Stored when CREATE leaves the field out. */
  readonly default?: string;
  /** For text, url and secret: the longest value accepted, in characters; for map, of its stored form. */
  readonly maxLength?: number;
  /** For enum: the accepted values. */
  readonly values?: readonly string[];
  /** For reference: the element and field whose value this names (only active elements count). */
  readonly target?: { readonly element: string; readonly field: string };
  /** No two active elements may share this field's value. */
  readonly unique?: boolean;
}

export interface ElementDef {
  /** The XML element name, e.g. WEBACCOUNT. */
  readonly name: string;
  /** The table that stores it. */
  readonly table: string;
  readonly doc: string;
  /** Only administrators may CREATE, UPDATE, DELETE or KILL it; everyone authenticated may read it. */
  readonly adminWrite: boolean;
  /** Whether the element has a PUBLIC field granting R or W to everyone. */
  readonly fields: Readonly<Record<string, FieldDef>>;
}

/** Declares an element type, keeping its literal field names for inference. */
export function defineElement<const E extends ElementDef>(element: E): E {
  return Object.freeze(element);
}

/** The storage column of a field: its name in lower case. */
export function columnOf(field: string): string {
  return field.toLowerCase();
}
