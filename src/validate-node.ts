/**
 * @module validate-node
 * What every part of validation uses on an XML node: failing at its position, checking its attributes and text,
 * looking its name up among an element's fields, reading a field's value.
 */
import type { ElementDef, FieldDef } from '../schemas/types.js';
import type { Position } from './commands.js';
import { failure, type Failure } from './errors.js';
import { isReadError, readValue, type FieldValue } from './field-types.js';
import { NO_ATTRIBUTES, type XmlNode } from './xml/parse.js';

export const NONE: readonly string[] = [];

/** Thrown inside validation only, to leave deep checks early; caught by validateCommand. */
export class Invalid {
  constructor(readonly failure: Failure) {}
}

export const at = (n: XmlNode): Position => ({ line: n.line, column: n.column });
export const fail = (code: Failure['code'], params: Failure['params'], node: XmlNode): never => {
  throw new Invalid(failure(code, params, at(node)));
};

// These two run on every element of every command: the parser's shared NO_ATTRIBUTES and the empty-text
// test spare the key walk and the trimmed copy most elements would otherwise cost.
export function checkAttributes(node: XmlNode, allowed: readonly string[]): void {
  if (node.attributes === NO_ATTRIBUTES) return;
  for (const name in node.attributes) {
    if (!allowed.includes(name)) fail('UNKNOWN_ATTRIBUTE', { tag: node.name, name }, node);
  }
}

export function checkNoText(node: XmlNode): void {
  if (node.text !== '' && node.text.trim() !== '') fail('UNEXPECTED_TEXT', { parent: node.name, text: node.text.trim().slice(0, 40) }, node);
}

/**
 * A field as validation finds it: `name` is the schema's own string, which the commands keep as their keys,
 * rather than the parser's copy of it, which would cost each command its own.
 */
export interface Field {
  readonly name: string;
  readonly def: FieldDef;
}

/** What validation looks up in an element's definition, worked out once per element. */
interface Lookup {
  /** The fields by name: a Map, so `constructor` or `__proto__` names no field. */
  readonly fields: ReadonlyMap<string, Field>;
  /** The fields a CREATE must give, in the schema's order. */
  readonly required: readonly string[];
}

const lookups = new WeakMap<ElementDef, Lookup>();

export function lookup(element: ElementDef): Lookup {
  let found = lookups.get(element);
  if (found === undefined) {
    const entries = Object.entries(element.fields);
    found = {
      fields: new Map(entries.map(([name, def]) => [name, { name, def }])),
      required: entries.filter(([, def]) => def.required).map(([name]) => name),
    };
    lookups.set(element, found);
  }
  return found;
}

/** The field a name means. */
export function fieldDef(element: ElementDef, name: string): FieldDef | undefined {
  return lookup(element).fields.get(name)?.def;
}

export function fieldOf(element: ElementDef, node: XmlNode): [string, FieldDef] {
  const found = lookup(element).fields.get(node.name);
  if (!found) return fail('UNKNOWN_FIELD', { element: element.name, name: node.name }, node);
  return [found.name, found.def];
}

/** A field's value from its text, or the failure that says what it must be. */
export function value(def: FieldDef, field: string, text: string, node: XmlNode, expected?: string): FieldValue {
  const v = readValue(def.type === 'secret' ? text : text.trim(), def);
  if (!isReadError(v)) return v;
  if (v.kind === 'too-long') return fail('VALUE_TOO_LONG', { field, limit: v.limit }, node);
  // A secret's value is never echoed, not even when it is wrong.
  const got = def.type === 'secret' ? '' : `, not "${text.trim().slice(0, 80)}"`;
  return fail('INVALID_VALUE', { field, expected: expected ?? v.expected, got }, node);
}
