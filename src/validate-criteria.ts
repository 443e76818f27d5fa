/**
 * @module validate-criteria
 * The criteria of SEARCH, COUNT and WHERE, one grammar for all three: INFO blocks of fields, each with an operator
 * its type takes and values of that type (a date may also be `now` or `today`), at most MAX_CRITERIA in a command.
 */
import type { ElementDef, FieldDef } from '../schemas/types.js';
import type { Criterion, CriterionValue, DateKeyword, Operator } from './store/criteria.js';
import type { XmlNode } from './xml/parse.js';
import { NONE, checkAttributes, checkNoText, fail, fieldOf, value } from './validate-node.js';

/**
 * Most criteria in one SEARCH, COUNT or WHERE, all its INFO blocks together: an IN list counts as one, a contains
 * one per word (each word is a test of every row).
 */
export const MAX_CRITERIA = 1000;

export const OPERATORS: readonly Operator[] = ['=', '!=', 'IN', 'NOT IN', 'starts-with', 'ends-with', 'contains', 'GT', 'GT=', 'LT', 'LT=', 'between'];
const KNOWN: ReadonlySet<string> = new Set(OPERATORS);
const TEXT_OPERATORS: ReadonlySet<string> = new Set(['starts-with', 'ends-with', 'contains']);
const ORDER_OPERATORS: ReadonlySet<string> = new Set(['GT', 'GT=', 'LT', 'LT=', 'between']);
const LIST_OPERATORS: ReadonlySet<string> = new Set(['IN', 'NOT IN']);
const TEXT_TYPES: ReadonlySet<string> = new Set(['text', 'url', 'enum', 'reference']);
const KEYWORDS: ReadonlyMap<string, DateKeyword> = new Map(['now', 'today'].map((k) => [k, Object.freeze({ keyword: k as DateKeyword['keyword'] })]));
/** The longest value of a text operator on a field without a length of its own (an enum). */
const TEXT_VALUE_LENGTH = 255;
const BLANKS = /\s+/;

function criterionValue(def: FieldDef, field: string, text: string, node: XmlNode): CriterionValue {
  if (def.type !== 'datetime') return value(def, field, text, node);
  return KEYWORDS.get(text.trim()) ?? value(def, field, text, node, 'a date as YYYY-MM-DD hh:mm:ss (UTC), now or today');
}

/** A text operator's value is text whatever the field's type: a piece of a URL, the start of an enum's value. */
function textValue(def: FieldDef, field: string, operator: string, node: XmlNode): string {
  const v = value({ type: 'text', writable: 'client', doc: '', maxLength: def.maxLength ?? TEXT_VALUE_LENGTH }, field, node.text, node);
  if (v === null) return fail('INVALID_VALUE', { field, expected: `a value for ${operator}`, got: '' }, node);
  return v as string;
}

function parseCriterion(element: ElementDef, node: XmlNode): Criterion {
  const [field, def] = fieldOf(element, node);
  checkAttributes(node, ['operator']);
  if (def.type === 'secret') fail('SECRET_FIELD', { field }, node);
  if (def.type === 'map') fail('NOT_SEARCHABLE', { field }, node);
  if (node.children.length) fail('UNEXPECTED_ELEMENT', { name: node.children[0]!.name, parent: field, expected: 'a value' }, node.children[0]!);
  const operator = node.attributes.operator ?? '=';
  if (!KNOWN.has(operator)) fail('UNKNOWN_OPERATOR', { operator, allowed: OPERATORS.join(', ') }, node);
  const op = operator as Operator;
  if (TEXT_OPERATORS.has(op) && !TEXT_TYPES.has(def.type)) fail('UNKNOWN_OPERATOR', { operator, allowed: `=, !=, IN, NOT IN, GT, GT=, LT, LT=, between for ${field}` }, node);
  if (ORDER_OPERATORS.has(op) && def.type === 'flag') fail('UNKNOWN_OPERATOR', { operator, allowed: `=, !=, IN, NOT IN for ${field}` }, node);
  if (TEXT_OPERATORS.has(op)) {
    const text = textValue(def, field, operator, node);
    // Sushee's contains: every word of the value, each anywhere in the field. A word given twice is one.
    return { field, operator: op, values: op === 'contains' ? [...new Set(text.split(BLANKS))] : [text] };
  }
  const text = node.text.trim();
  if (LIST_OPERATORS.has(op)) return { field, operator: op, values: text.split(',').map((t) => criterionValue(def, field, t, node)) };
  if (op === 'between') {
    const parts = text.split('/');
    if (parts.length !== 2) fail('INVALID_VALUE', { field, expected: 'two values separated by / for between', got: '' }, node);
    return { field, operator: op, values: parts.map((t) => criterionValue(def, field, t, node)) };
  }
  const v = criterionValue(def, field, text, node);
  if (v === null && op !== '=' && op !== '!=') fail('INVALID_VALUE', { field, expected: `a value for ${operator}`, got: '' }, node);
  return { field, operator: op, values: [v] };
}

/**
 * INFO blocks of criteria. `addressing` (a WHERE) wants criteria in every block: an empty block would match
 * every element the caller may read, which an UPDATE or a KILL should say in so many words, not by accident.
 */
export function parseBlocks(element: ElementDef, infos: readonly XmlNode[], addressing: boolean): Criterion[][] {
  let count = 0;
  return infos.map((info) => {
    checkAttributes(info, NONE);
    checkNoText(info);
    if (addressing && !info.children.length) fail('MISSING_ELEMENT', { parent: 'INFO', expected: 'at least one criterion: a WHERE names what it addresses' }, info);
    return info.children.map((node) => {
      const criterion = parseCriterion(element, node);
      // Each criterion is a bind parameter or two (PostgreSQL takes at most 65,535 in a statement), each word
      // of a contains a test of every row.
      count += criterion.operator === 'contains' ? criterion.values.length : 1;
      if (count > MAX_CRITERIA) fail('LIMIT_CRITERIA', { limit: MAX_CRITERIA }, node);
      return criterion;
    });
  });
}
