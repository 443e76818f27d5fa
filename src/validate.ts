/**
 * @module validate
 * Turns one command's XML node into a typed Command, or a Failure naming the offending thing and where it
 * is. Everything the schema allows is checked here, before any command of the batch touches the database.
 */
import { ELEMENTS } from '../schemas/index.js';
import type { ElementDef, FieldDef } from '../schemas/types.js';
import type { Command, Position, Range, Target, Verb } from './commands.js';
import { VERBS } from './commands.js';
import { CLIENT_EVENTS, type AuthEvent } from './auth/state-machine.js';
import type { Failure } from './errors.js';
import { MAP_KEY, encodeMap, isReadError, readValue, type FieldValue } from './field-types.js';
import type { Blocks, Sort } from './store/elements.js';
import { parseBlocks } from './validate-criteria.js';
import { Invalid, NONE, at, checkAttributes, checkNoText, fail, fieldDef, fieldOf, lookup, value } from './validate-node.js';
import type { XmlNode } from './xml/parse.js';

export { MAX_CRITERIA } from './validate-criteria.js';

export interface ValidateOptions {
  readonly maxPageSize: number;
  /** Most IDs in one ID list, and most elements one WHERE may address. */
  readonly maxIds: number;
}

/** Verbs that name their elements by ID. */
const ID_VERBS: ReadonlySet<Verb> = new Set(['GET', 'AUTHORIZE', 'CALL']);
/** Verbs that name them by ID or by a WHERE of criteria. */
const WHERE_VERBS: ReadonlySet<Verb> = new Set(['UPDATE', 'DELETE', 'KILL']);
const VERB_NAMES: ReadonlySet<string> = new Set(VERBS);
const ID_ONLY: readonly string[] = ['ID'];
const NAME_ONLY: readonly string[] = ['name'];
const CHILDREN: Readonly<Record<Verb, readonly string[]>> = {
  CREATE: [], GET: ['RETURN'], SEARCH: ['PAGINATE', 'SLICE', 'SORT', 'RETURN'], COUNT: [], UPDATE: [], DELETE: [], KILL: [], AUTHORIZE: [], CALL: [],
};
/** What an element's children may be, by verb, for the message that refuses another. */
const ELEMENT_CHILDREN: Readonly<Record<Verb, string>> = {
  CREATE: '<INFO>', GET: '<RETURN>', SEARCH: '<INFO> or <RETURN>', COUNT: '<INFO>', UPDATE: '<WHERE> and <INFO>', DELETE: '<WHERE>', KILL: '<WHERE>', AUTHORIZE: '<RETURN_URL>', CALL: 'a method',
};

function parseIds(node: XmlNode, verb: Verb, options: ValidateOptions): number[] {
  const raw = node.attributes.ID;
  if (raw === undefined || raw.trim() === '') return fail('MISSING_ID', { verb, element: node.name, or: WHERE_VERBS.has(verb) ? ' or a <WHERE> of criteria' : '' }, node);
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

/** RETURN: the fields of INFO (ID always comes), HISTORY for an account's transitions, or NOTHING but the IDs. */
function parseReturn(element: ElementDef, node: XmlNode): { fields: string[]; history: boolean } {
  checkAttributes(node, []);
  checkNoText(node);
  const [first, second] = node.children;
  if (first?.name === 'NOTHING' || second?.name === 'NOTHING') {
    const nothing = first?.name === 'NOTHING' ? first : second!;
    checkAttributes(nothing, []);
    checkNoText(nothing);
    if (nothing.children[0]) fail('UNEXPECTED_ELEMENT', { name: nothing.children[0].name, parent: 'NOTHING', expected: 'nothing' }, nothing.children[0]);
    const other = first === nothing ? second : first;
    if (other) fail('UNEXPECTED_ELEMENT', { name: other.name, parent: 'RETURN', expected: '<NOTHING/> alone: it returns the IDs only' }, other);
    return { fields: [], history: false };
  }
  const fields = ['ID'];
  let history = false;
  for (const info of node.children) {
    if (info.name === 'HISTORY' && element.name === 'WEBACCOUNT') {
      checkAttributes(info, []);
      history = true;
      continue;
    }
    if (info.name === 'NOTHING') fail('UNEXPECTED_ELEMENT', { name: info.name, parent: 'RETURN', expected: '<NOTHING/> alone: it returns the IDs only' }, info);
    if (info.name !== 'INFO') fail('UNEXPECTED_ELEMENT', { name: info.name, parent: 'RETURN', expected: element.name === 'WEBACCOUNT' ? '<INFO>, <HISTORY/> or <NOTHING/>' : '<INFO> or <NOTHING/>' }, info);
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

/** PAGINATE display and page, or SLICE start and end: at most one of them, at most a page of elements. */
function parseRange(node: XmlNode, options: ValidateOptions): Range {
  let range: XmlNode | undefined;
  for (const c of node.children) {
    if (c.name !== 'PAGINATE' && c.name !== 'SLICE') continue;
    if (range) fail('UNEXPECTED_ELEMENT', { name: c.name, parent: node.name, expected: 'one <PAGINATE> or one <SLICE>' }, c);
    range = c;
  }
  const max = options.maxPageSize;
  if (range?.name === 'SLICE') {
    checkAttributes(range, ['start', 'end']);
    const start = intAttribute(range, 'start', 1, 999_999_999);
    const end = intAttribute(range, 'end', start + max - 1, 999_999_999 + max);
    if (end < start || end - start >= max) fail('INVALID_VALUE', { field: 'SLICE end', expected: `a whole number from ${start} to ${start + max - 1} (at most ${max} elements)`, got: `, not "${end}"` }, range);
    return { kind: 'slice', start, end };
  }
  if (range) checkAttributes(range, ['display', 'page']);
  const display = range ? intAttribute(range, 'display', max, max) : max;
  const page = range ? intAttribute(range, 'page', 1, 1_000_000) : 1;
  return { kind: 'page', display, page };
}

/** A WHERE holds INFO blocks of criteria, as a SEARCH does. */
function parseWhere(element: ElementDef, node: XmlNode): Blocks {
  checkAttributes(node, NONE);
  checkNoText(node);
  for (const c of node.children) {
    if (c.name !== 'INFO') fail('UNEXPECTED_ELEMENT', { name: c.name, parent: 'WHERE', expected: '<INFO> blocks of criteria, as in SEARCH' }, c);
  }
  if (!node.children.length) fail('MISSING_ELEMENT', { parent: 'WHERE', expected: 'at least one <INFO> of criteria, as in SEARCH' }, node);
  return parseBlocks(element, node.children, true);
}

/** UPDATE, DELETE and KILL: the ID attribute or one <WHERE>, not both. */
function parseTarget(verb: Verb, element: ElementDef, node: XmlNode, options: ValidateOptions): Target {
  let where: XmlNode | undefined;
  for (const c of node.children) {
    if (c.name !== 'WHERE') continue;
    if (where) fail('UNEXPECTED_ELEMENT', { name: 'WHERE', parent: node.name, expected: 'one <WHERE> (its INFO blocks are ORed)' }, c);
    where = c;
  }
  if (!where) return { kind: 'ids', ids: parseIds(node, verb, options) };
  if (node.attributes.ID !== undefined) fail('UNEXPECTED_ELEMENT', { name: 'WHERE', parent: node.name, expected: 'the ID attribute or a <WHERE>, not both' }, where);
  return { kind: 'where', blocks: parseWhere(element, where), limit: options.maxIds };
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
  const target = WHERE_VERBS.has(verb) ? parseTarget(verb, element, elementNode, options) : undefined;
  if (verb === 'CALL') return { name, element, at: where, verb, ids, ...parseCall(elementNode, ids) };
  if (verb === 'AUTHORIZE') return { name, element, at: where, verb, ids, returnUrl: parseAuthorize(elementNode, ids) };
  checkAttributes(elementNode, ID_VERBS.has(verb) || WHERE_VERBS.has(verb) ? ID_ONLY : NONE);
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
    if (c.name === 'WHERE' && target) continue;
    const allowedHere = c.name === 'INFO' ? verb !== 'GET' && verb !== 'DELETE' && verb !== 'KILL' : c.name === 'RETURN' && extras.includes('RETURN');
    if (!allowedHere) fail('UNEXPECTED_ELEMENT', { name: c.name, parent: elementNode.name, expected: ELEMENT_CHILDREN[verb] }, c);
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
      return { name, element, at: where, verb, target: target!, values, unmodifiedSince, stateEvent };
    }
    case 'GET':
      return { name, element, at: where, verb, ids, fields, history };
    case 'DELETE':
    case 'KILL':
      return { name, element, at: where, verb, target: target! };
    case 'SEARCH':
    case 'COUNT': {
      const blocks = parseBlocks(element, elementNode.children.filter((c) => c.name === 'INFO'), false);
      if (verb === 'COUNT') return { name, element, at: where, verb, blocks };
      const range = parseRange(node, options);
      const sort = node.children.filter((c) => c.name === 'SORT').map((c) => parseSort(element, c));
      return { name, element, at: where, verb, blocks, sort, range, fields, history };
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
