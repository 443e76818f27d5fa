/**
 * @module validate
 * Turns one command's XML node into a typed Command, or a Failure naming the offending thing and where it
 * is. Everything the schema allows is checked here, before any command of the batch touches the database.
 */
import { ELEMENTS } from '../schemas/index.js';
import type { ElementDef, FieldDef } from '../schemas/types.js';
import type { Command, Position, Verb } from './commands.js';
import { VERBS } from './commands.js';
import { CLIENT_EVENTS, type AuthEvent } from './auth/state-machine.js';
import { failure, type Failure } from './errors.js';
import { MAP_KEY, encodeMap, isReadError, readValue, type FieldValue } from './field-types.js';
import type { Criterion, Operator, Sort } from './store/elements.js';
import { NO_ATTRIBUTES, type XmlNode } from './xml/parse.js';

export interface ValidateOptions {
  readonly maxPageSize: number;
  /** Most IDs in one ID list. */
  readonly maxIds: number;
}

/** Most criteria (fields inside INFO blocks, all blocks together) in one SEARCH or COUNT. An IN list counts as one. */
export const MAX_CRITERIA = 1000;

const OPERATORS: ReadonlySet<string> = new Set<Operator>(['=', '!=', 'IN', 'starts-with', 'contains', 'GT', 'GT=', 'LT', 'LT=', 'between']);
const TEXT_OPERATORS: ReadonlySet<string> = new Set(['starts-with', 'contains']);
const ORDER_OPERATORS: ReadonlySet<string> = new Set(['GT', 'GT=', 'LT', 'LT=', 'between']);
const TEXT_TYPES: ReadonlySet<string> = new Set(['text', 'url', 'enum', 'reference']);
const ID_VERBS: ReadonlySet<Verb> = new Set(['GET', 'UPDATE', 'DELETE', 'KILL', 'AUTHORIZE', 'CALL']);
const VERB_NAMES: ReadonlySet<string> = new Set(VERBS);
const NONE: readonly string[] = [];
const ID_ONLY: readonly string[] = ['ID'];
const NAME_ONLY: readonly string[] = ['name'];
const CHILDREN: Readonly<Record<Verb, readonly string[]>> = {
  CREATE: [], GET: ['RETURN'], SEARCH: ['PAGINATE', 'SORT', 'RETURN'], COUNT: [], UPDATE: [], DELETE: [], KILL: [], AUTHORIZE: [], CALL: [],
};

/** Thrown inside this module only, to leave deep checks early; caught by validateCommand. */
class Invalid {
  constructor(readonly failure: Failure) {}
}

const at = (n: XmlNode): Position => ({ line: n.line, column: n.column });
const fail = (code: Failure['code'], params: Failure['params'], node: XmlNode): never => {
  throw new Invalid(failure(code, params, at(node)));
};

// These two run on every element of every command: the parser's shared NO_ATTRIBUTES and the empty-text
// test spare the key walk and the trimmed copy most elements would otherwise cost.
function checkAttributes(node: XmlNode, allowed: readonly string[]): void {
  if (node.attributes === NO_ATTRIBUTES) return;
  for (const name in node.attributes) {
    if (!allowed.includes(name)) fail('UNKNOWN_ATTRIBUTE', { tag: node.name, name }, node);
  }
}

function checkNoText(node: XmlNode): void {
  if (node.text !== '' && node.text.trim() !== '') fail('UNEXPECTED_TEXT', { parent: node.name, text: node.text.trim().slice(0, 40) }, node);
}

/**
 * A field as validation finds it: `name` is the schema's own string, which the commands keep as their keys,
 * rather than the parser's copy of it, which would cost each command its own.
 */
interface Field {
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

function lookup(element: ElementDef): Lookup {
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
function fieldDef(element: ElementDef, name: string): FieldDef | undefined {
  return lookup(element).fields.get(name)?.def;
}

function fieldOf(element: ElementDef, node: XmlNode): [string, FieldDef] {
  const found = lookup(element).fields.get(node.name);
  if (!found) return fail('UNKNOWN_FIELD', { element: element.name, name: node.name }, node);
  return [found.name, found.def];
}

function value(def: FieldDef, field: string, text: string, node: XmlNode): FieldValue {
  const v = readValue(def.type === 'secret' ? text : text.trim(), def);
  if (!isReadError(v)) return v;
  if (v.kind === 'too-long') return fail('VALUE_TOO_LONG', { field, limit: v.limit }, node);
  // A secret's value is never echoed, not even when it is wrong.
  const got = def.type === 'secret' ? '' : `, not "${text.trim().slice(0, 80)}"`;
  return fail('INVALID_VALUE', { field, expected: v.expected, got }, node);
}

function parseIds(node: XmlNode, verb: Verb, options: ValidateOptions): number[] {
  const raw = node.attributes.ID;
  if (raw === undefined || raw.trim() === '') return fail('MISSING_ID', { verb, element: node.name }, node);
  const parts = raw.split(',').map((s) => s.trim());
  const ids = new Set<number>();
  for (const part of parts) {
    const n = /^[0-9]{1,10}$/.test(part) ? Number(part) : NaN;
    if (!(n >= 1 && n <= 2_147_483_647)) fail('INVALID_ID', { got: `, not "${raw.slice(0, 80)}"` }, node);
    ids.add(n);
  }
  if (ids.size > options.maxIds) fail('INVALID_ID', { got: ` (at most ${options.maxIds} IDs in one list)` }, node);
  return [...ids];
}

/** A map field: one child element per entry, each with a text value; no children at all clears it. */
function readMap(field: string, def: FieldDef, node: XmlNode): FieldValue {
  checkNoText(node);
  const entries: Record<string, string> = {};
  for (const child of node.children) {
    checkAttributes(child, []);
    if (!MAP_KEY.test(child.name)) fail('INVALID_VALUE', { field: `${field} entry <${child.name.slice(0, 64)}>`, expected: 'named in upper case (A-Z, 0-9, _)', got: '' }, child);
    if (child.children.length) fail('UNEXPECTED_ELEMENT', { name: child.children[0]!.name, parent: child.name, expected: 'a value' }, child.children[0]!);
    if (Object.hasOwn(entries, child.name)) fail('DUPLICATE_FIELD', { field: `${field}/${child.name}` }, child);
    const v = readValue(child.text.trim(), { type: 'text', writable: 'client', doc: '', maxLength: 2048 });
    if (isReadError(v)) return fail(v.kind === 'too-long' ? 'VALUE_TOO_LONG' : 'INVALID_VALUE', { field: `${field}/${child.name}`, limit: 2048, expected: v.kind === 'invalid' ? v.expected : '', got: '' }, child);
    if (v !== null) entries[child.name] = v as string;
  }
  if (!Object.keys(entries).length) return null;
  const stored = encodeMap(entries);
  if (def.maxLength !== undefined && stored.length > def.maxLength) fail('VALUE_TOO_LONG', { field, limit: def.maxLength }, node);
  return stored;
}

/** CREATE and UPDATE: one INFO whose children are writable fields. */
function parseValues(verb: 'CREATE' | 'UPDATE', element: ElementDef, info: XmlNode) {
  checkAttributes(info, NONE);
  checkNoText(info);
  const { fields, required } = lookup(element);
  const values = new Map<string, FieldValue>();
  let unmodifiedSince: { date: Date; toSecond: boolean } | undefined;
  let stateEvent: AuthEvent | undefined;
  for (const child of info.children) {
    const found = fields.get(child.name);
    if (!found) return fail('UNKNOWN_FIELD', { element: element.name, name: child.name }, child);
    const { name: field, def } = found;
    checkAttributes(child, NONE);
    if (def.type === 'map') {
      if (values.has(field)) fail('DUPLICATE_FIELD', { field }, child);
      values.set(field, readMap(field, def, child));
      continue;
    }
    if (child.children.length) fail('UNEXPECTED_ELEMENT', { name: child.children[0]!.name, parent: field, expected: 'a value' }, child.children[0]!);
    if (values.has(field) || (field === 'MODIFICATIONDATE' && unmodifiedSince)) fail('DUPLICATE_FIELD', { field }, child);
    if (verb === 'UPDATE' && field === 'MODIFICATIONDATE') {
      const date = value(def, field, child.text, child);
      if (!(date instanceof Date)) return fail('INVALID_VALUE', { field, expected: 'the MODIFICATIONDATE you read', got: '' }, child);
      unmodifiedSince = { date, toSecond: !child.text.includes('.') };
      continue;
    }
    if (field === 'AUTHORIZATION_STATE') {
      stateEvent = verb === 'UPDATE' ? CLIENT_EVENTS.get(child.text.trim()) : undefined;
      if (!stateEvent || values.size) fail('STATE_READONLY', {}, child);
      continue;
    }
    if (stateEvent) fail('STATE_READONLY', {}, child);
    if (def.writable === 'nori' || (def.writable === 'create' && verb === 'UPDATE')) fail('READONLY_FIELD', { field }, child);
    const v = value(def, field, child.text, child);
    if (v === null && (def.required || def.default !== undefined)) fail('MISSING_FIELD', { element: element.name, field }, child);
    values.set(field, v);
  }
  if (verb === 'CREATE') {
    for (const field of required) {
      if (!values.has(field)) fail('MISSING_FIELD', { element: element.name, field }, info);
    }
  }
  return { values, unmodifiedSince, stateEvent };
}

function parseCriterion(element: ElementDef, node: XmlNode): Criterion {
  const [field, def] = fieldOf(element, node);
  checkAttributes(node, ['operator']);
  if (def.type === 'secret') fail('SECRET_FIELD', { field }, node);
  if (def.type === 'map') fail('NOT_SEARCHABLE', { field }, node);
  if (node.children.length) fail('UNEXPECTED_ELEMENT', { name: node.children[0]!.name, parent: field, expected: 'a value' }, node.children[0]!);
  const operator = node.attributes.operator ?? '=';
  const allowed = [...OPERATORS].join(', ');
  if (!OPERATORS.has(operator)) fail('UNKNOWN_OPERATOR', { operator, allowed }, node);
  if (TEXT_OPERATORS.has(operator) && !TEXT_TYPES.has(def.type)) fail('UNKNOWN_OPERATOR', { operator, allowed: `=, !=, IN, GT, GT=, LT, LT=, between for ${field}` }, node);
  if (ORDER_OPERATORS.has(operator) && def.type === 'flag') fail('UNKNOWN_OPERATOR', { operator, allowed: `=, !=, IN for ${field}` }, node);
  const text = node.text.trim();
  if (operator === 'IN') return { field, operator, values: text.split(',').map((t) => value(def, field, t, node)) };
  if (operator === 'between') {
    const parts = text.split('/');
    if (parts.length !== 2) fail('INVALID_VALUE', { field, expected: 'two values separated by / for between', got: '' }, node);
    return { field, operator, values: parts.map((t) => value(def, field, t, node)) };
  }
  const v = value(def, field, text, node);
  if (v === null && operator !== '=' && operator !== '!=') fail('INVALID_VALUE', { field, expected: `a value for ${operator}`, got: '' }, node);
  return { field, operator: operator as Operator, values: [v] };
}

function parseReturn(element: ElementDef, node: XmlNode): { fields: string[]; history: boolean } {
  checkAttributes(node, []);
  checkNoText(node);
  const fields = ['ID'];
  let history = false;
  for (const info of node.children) {
    if (info.name === 'HISTORY' && element.name === 'WEBACCOUNT') {
      checkAttributes(info, []);
      history = true;
      continue;
    }
    if (info.name !== 'INFO') fail('UNEXPECTED_ELEMENT', { name: info.name, parent: 'RETURN', expected: element.name === 'WEBACCOUNT' ? '<INFO> or <HISTORY/>' : '<INFO>' }, info);
    for (const f of info.children) {
      const [field, def] = fieldOf(element, f);
      if (def.type === 'secret') fail('SECRET_FIELD', { field }, f);
      if (!fields.includes(field)) fields.push(field);
    }
  }
  return { fields, history };
}

/** An optional <RETURN_URL> (AUTHORIZE, CALL): an absolute http(s) URL; the allowlist is checked when it is used. */
function readReturnUrl(child: XmlNode): string {
  checkAttributes(child, []);
  const v = readValue(child.text.trim(), { type: 'url', writable: 'client', maxLength: 2048, doc: '' });
  if (v === null || isReadError(v)) return fail('INVALID_VALUE', { field: 'RETURN_URL', expected: 'an absolute http or https URL', got: '' }, child);
  return v as string;
}

const REPLAY_ID = /^[A-Za-z0-9_-]{16,64}$/;

/**
 * CALL names one method element inside the account (its parameters are checked once the plugin is known),
 * with an optional <RETURN_URL>; or, with replay="…", collects a result kept across a consent page.
 */
function parseCall(node: XmlNode, ids: readonly number[]): { method: string; node: XmlNode; methodAt: Position; returnUrl: string | undefined } | { replay: string } {
  if (node.name !== 'WEBACCOUNT') fail('UNEXPECTED_ELEMENT', { name: node.name, parent: 'CALL', expected: '<WEBACCOUNT ID="…"> (CALL runs on accounts)' }, node);
  checkAttributes(node, ['ID', 'replay']);
  checkNoText(node);
  const replay = node.attributes.replay;
  if (replay !== undefined) {
    if (!REPLAY_ID.test(replay)) fail('INVALID_VALUE', { field: 'replay', expected: 'the call id a CONSENT_REQUIRED message gave', got: '' }, node);
    if (ids.length !== 1) fail('INVALID_ID', { got: ' (a replay names one account)' }, node);
    if (node.children[0]) fail('UNEXPECTED_ELEMENT', { name: node.children[0].name, parent: 'WEBACCOUNT', expected: 'nothing: a replay collects a kept result' }, node.children[0]);
    return { replay };
  }
  let returnUrl: string | undefined;
  const methods = [];
  for (const child of node.children) {
    if (child.name !== 'RETURN_URL') methods.push(child);
    else if (returnUrl === undefined) returnUrl = readReturnUrl(child);
    else fail('UNEXPECTED_ELEMENT', { name: child.name, parent: 'WEBACCOUNT', expected: 'one <RETURN_URL>' }, child);
  }
  const [method, extra] = methods;
  if (!method) return fail('MISSING_ELEMENT', { parent: 'WEBACCOUNT', expected: 'the method to call, e.g. <POSTMESSAGE>' }, node);
  if (extra) fail('UNEXPECTED_ELEMENT', { name: extra.name, parent: 'WEBACCOUNT', expected: 'one method per CALL' }, extra);
  if (!MAP_KEY.test(method.name)) fail('UNEXPECTED_ELEMENT', { name: method.name.slice(0, 64), parent: 'WEBACCOUNT', expected: 'a method name in upper case' }, method);
  return { method: method.name, node: method, methodAt: at(method), returnUrl };
}

/** AUTHORIZE takes one account and an optional <RETURN_URL>. */
function parseAuthorize(node: XmlNode, ids: readonly number[]): string | undefined {
  checkAttributes(node, ['ID']);
  checkNoText(node);
  if (ids.length !== 1) fail('INVALID_ID', { got: ' (AUTHORIZE takes one account)' }, node);
  let returnUrl: string | undefined;
  for (const child of node.children) {
    if (child.name !== 'RETURN_URL' || returnUrl !== undefined) fail('UNEXPECTED_ELEMENT', { name: child.name, parent: node.name, expected: 'one <RETURN_URL>' }, child);
    returnUrl = readReturnUrl(child);
  }
  return returnUrl;
}

function intAttribute(node: XmlNode, name: string, fallback: number, max: number): number {
  const raw = node.attributes[name];
  if (raw === undefined) return fallback;
  const n = /^[0-9]{1,9}$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!(n >= 1 && n <= max)) fail('INVALID_VALUE', { field: `${node.name} ${name}`, expected: `a whole number from 1 to ${max}`, got: `, not "${raw.slice(0, 20)}"` }, node);
  return n;
}

function parseSort(element: ElementDef, node: XmlNode): Sort {
  checkAttributes(node, ['select', 'order']);
  const select = node.attributes.select ?? '';
  const def = fieldDef(element, select);
  if (!def) return fail('UNKNOWN_FIELD', { element: element.name, name: select }, node);
  if (def.type === 'secret') fail('SECRET_FIELD', { field: select }, node);
  if (def.type === 'map') fail('NOT_SEARCHABLE', { field: select }, node);
  const order = node.attributes.order ?? 'ascending';
  if (order !== 'ascending' && order !== 'descending') fail('INVALID_VALUE', { field: 'SORT order', expected: 'ascending or descending', got: `, not "${order.slice(0, 20)}"` }, node);
  return { field: select, descending: order === 'descending' };
}

function buildCommand(node: XmlNode, options: ValidateOptions): Command {
  if (!VERB_NAMES.has(node.name)) fail('UNKNOWN_VERB', { name: node.name }, node);
  const verb = node.name as Verb;
  checkAttributes(node, NAME_ONLY);
  checkNoText(node);
  const name = node.attributes.name;
  const extras = CHILDREN[verb];
  // Every command runs through here: the checks below walk the children in place rather than filtering copies.
  let elementNode: XmlNode | undefined;
  for (const c of node.children) {
    if (extras.includes(c.name)) continue;
    if (elementNode !== undefined) fail('UNEXPECTED_ELEMENT', { name: c.name, parent: verb, expected: 'one element per command' }, c);
    elementNode = c;
  }
  if (elementNode === undefined) return fail('MISSING_ELEMENT', { parent: verb, expected: 'one <WEBAPI> or <WEBACCOUNT>' }, node);
  const element = ELEMENTS.get(elementNode.name);
  if (!element) return fail('UNKNOWN_ELEMENT', { name: elementNode.name }, elementNode);
  const where = at(node);
  const ids = ID_VERBS.has(verb) ? parseIds(elementNode, verb, options) : [];
  if (verb === 'CALL') return { name, element, at: where, verb, ids, ...parseCall(elementNode, ids) };
  if (verb === 'AUTHORIZE') return { name, element, at: where, verb, ids, returnUrl: parseAuthorize(elementNode, ids) };
  checkAttributes(elementNode, ID_VERBS.has(verb) ? ID_ONLY : NONE);
  checkNoText(elementNode);

  // A RETURN may sit in the command (GET, SEARCH) or in its element; the command's come first.
  let info: XmlNode | undefined;
  let secondInfo: XmlNode | undefined;
  let returned: XmlNode | undefined;
  let secondReturn: XmlNode | undefined;
  if (extras.includes('RETURN')) {
    for (const c of node.children) {
      if (c.name !== 'RETURN') continue;
      if (returned === undefined) returned = c;
      else secondReturn ??= c;
    }
  }
  for (const c of elementNode.children) {
    const allowedHere = c.name === 'INFO' ? verb !== 'GET' && verb !== 'DELETE' && verb !== 'KILL' : c.name === 'RETURN' && extras.includes('RETURN');
    if (!allowedHere) fail('UNEXPECTED_ELEMENT', { name: c.name, parent: elementNode.name, expected: verb === 'GET' ? '<RETURN>' : '<INFO>' }, c);
    if (c.name === 'INFO') {
      if (info === undefined) info = c;
      else secondInfo ??= c;
    } else if (returned === undefined) returned = c;
    else secondReturn ??= c;
  }
  if (secondReturn) fail('UNEXPECTED_ELEMENT', { name: 'RETURN', parent: verb, expected: 'one <RETURN>' }, secondReturn);
  const ret = returned ? parseReturn(element, returned) : undefined;
  const fields = ret?.fields;
  const history = ret?.history ?? false;

  switch (verb) {
    case 'CREATE':
    case 'UPDATE': {
      if (info === undefined || secondInfo) fail(secondInfo ? 'UNEXPECTED_ELEMENT' : 'MISSING_ELEMENT', { name: 'INFO', parent: elementNode.name, expected: 'one <INFO>' }, secondInfo ?? elementNode);
      const { values, unmodifiedSince, stateEvent } = parseValues(verb, element, info!);
      if (verb === 'CREATE') return { name, element, at: where, verb, values };
      if (!values.size && !stateEvent) fail('MISSING_ELEMENT', { parent: 'INFO', expected: 'at least one field to update' }, info!);
      return { name, element, at: where, verb, ids, values, unmodifiedSince, stateEvent };
    }
    case 'GET':
      return { name, element, at: where, verb, ids, fields, history };
    case 'DELETE':
    case 'KILL':
      return { name, element, at: where, verb, ids };
    case 'SEARCH':
    case 'COUNT': {
      let criteria = 0;
      const blocks = elementNode.children.filter((c) => c.name === 'INFO').map((info) => {
        checkAttributes(info, NONE);
        checkNoText(info);
        criteria += info.children.length;
        // Each criterion is a bind parameter or two, and PostgreSQL takes at most 65,535 in a statement.
        if (criteria > MAX_CRITERIA) fail('LIMIT_CRITERIA', { limit: MAX_CRITERIA }, info);
        return info.children.map((c) => parseCriterion(element, c));
      });
      if (verb === 'COUNT') return { name, element, at: where, verb, blocks };
      const paginates = node.children.filter((c) => c.name === 'PAGINATE');
      if (paginates.length > 1) fail('UNEXPECTED_ELEMENT', { name: 'PAGINATE', parent: verb, expected: 'one <PAGINATE>' }, paginates[1]!);
      const paginate = paginates[0];
      if (paginate) checkAttributes(paginate, ['display', 'page']);
      const display = paginate ? intAttribute(paginate, 'display', options.maxPageSize, options.maxPageSize) : options.maxPageSize;
      const page = paginate ? intAttribute(paginate, 'page', 1, 1_000_000) : 1;
      const sort = node.children.filter((c) => c.name === 'SORT').map((c) => parseSort(element, c));
      return { name, element, at: where, verb, blocks, sort, display, page, fields, history };
    }
  }
}

/** One command node to a Command, or the first thing wrong with it. */
export function validateCommand(node: XmlNode, options: ValidateOptions): Command | Failure {
  try {
    return buildCommand(node, options);
  } catch (e) {
    if (e instanceof Invalid) return e.failure;
    throw e;
  }
}

export function isFailure(x: Command | Failure): x is Failure {
  return 'code' in x;
}
