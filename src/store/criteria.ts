/**
 * @module store/criteria
 * Criteria as SQL: one function per operator, every value a binding. The text operators (starts-with, ends-with,
 * contains) fold case and accents on both sides of the comparison in SQL, with the same expression on PostgreSQL
 * and PGlite, so what matches does not depend on which database runs nori (docs/commands.md, "Criteria").
 */
import type { Knex } from 'knex';
import { columnOf, type ElementDef } from '../../schemas/types.js';
import type { FieldValue } from '../field-types.js';
import type { Principal } from '../principal.js';

export type Operator = '=' | '!=' | 'IN' | 'NOT IN' | 'starts-with' | 'ends-with' | 'contains' | 'GT' | 'GT=' | 'LT' | 'LT=' | 'between';

/** `now` and `today` in a date criterion: resolved when the statement is built, in UTC. */
export interface DateKeyword {
  readonly keyword: 'now' | 'today';
}

export type CriterionValue = FieldValue | DateKeyword;

export interface Criterion {
  readonly field: string;
  readonly operator: Operator;
  /** One value, two for between, any number for IN and NOT IN, the words for contains; null means "no value". */
  readonly values: readonly CriterionValue[];
}

/** INFO blocks: ORed together, the criteria inside one block ANDed. */
export type Blocks = readonly (readonly Criterion[])[];

/**
 * The folding: lower() (the database's own, Unicode in a UTF-8 locale), then every Latin letter with a diacritic
 * of U+00C0–U+017F to its base letter, then the ligatures to two letters. Upper-case letters of the range are in
 * the table too, so a database whose lower() knows only ASCII still folds them. unaccent() would do more, but
 * PGlite does not load it by default and a PostgreSQL server needs CREATE EXTENSION: translate() runs everywhere.
 */
function foldTable(): { from: string; to: string } {
  let from = '';
  let to = '';
  for (let code = 0xc0; code <= 0x17f; code++) {
    const c = String.fromCharCode(code);
    const base = c.normalize('NFD').charAt(0).toLowerCase();
    if (base !== c && base >= 'a' && base <= 'z') {
      from += c;
      to += base;
    }
  }
  // Letters with a stroke or a dot have no decomposition.
  return { from: from + 'ØøĐđĦħıŁłĿŀŦŧſ', to: to + 'ooddhhilllltts' };
}

const LIGATURES: readonly (readonly [string, string])[] = [['ß', 'ss'], ['ẞ', 'ss'], ['æ', 'ae'], ['Æ', 'ae'], ['œ', 'oe'], ['Œ', 'oe'], ['ĳ', 'ij'], ['Ĳ', 'ij']];
const TABLE = foldTable();
// The table goes into the statement as a literal: nori's own characters, none of them a quote.
if (TABLE.from.length !== TABLE.to.length || /['\\]/.test(TABLE.from + TABLE.to)) throw new Error('the fold table must map one letter to one, without quotes');

/** The SQL of `expr` folded; `expr` is a placeholder (`??`, `?`) or an SQL name. */
export function fold(expr: string): string {
  let sql = `translate(lower(${expr}), '${TABLE.from}', '${TABLE.to}')`;
  for (const [from, to] of LIGATURES) sql = `replace(${sql}, '${from}', '${to}')`;
  return sql;
}

const STARTS = `starts_with(${fold('??')}, ${fold('?')})`;
const ENDS = `right(${fold('??')}, char_length(${fold('?')})) = ${fold('?')}`;
// Every word, in one array binding whatever their number: a row matches when each word is in its folded text.
const CONTAINS = `(SELECT bool_and(strpos(${fold('??')}, ${fold('w.word')}) > 0) FROM unnest(?::text[]) AS w(word))`;

/** 00:00:00.000 UTC of the day `now` is in. */
const startOfDay = (now: Date) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));

const isKeyword = (v: CriterionValue): v is DateKeyword => typeof v === 'object' && v !== null && !(v instanceof Date);
const resolve = (v: CriterionValue, now: Date): FieldValue => (isKeyword(v) ? (v.keyword === 'now' ? now : startOfDay(now)) : v);

/** IN and NOT IN: the list as one array binding; an empty item means "no value", as `=` with an empty value. */
function inList(q: Knex.QueryBuilder, column: string, values: readonly FieldValue[], negated: boolean): void {
  const list = values.filter((v) => v !== null);
  const withNull = list.length < values.length;
  // One array parameter whatever the list's length (PostgreSQL takes at most 65,535 parameters); the server
  // infers its type from the column's.
  if (!negated) q.where((w) => (withNull ? w.whereRaw('?? = ANY(?)', [column, list as Knex.Value]).orWhereNull(column) : w.whereRaw('?? = ANY(?)', [column, list as Knex.Value])));
  // NOT (x = ANY(list)) is NULL for a NULL x: "no value" is named on its own side of the OR.
  else if (withNull) q.whereNotNull(column).whereRaw('NOT (?? = ANY(?))', [column, list as Knex.Value]);
  else q.where((w) => w.whereNull(column).orWhereRaw('NOT (?? = ANY(?))', [column, list as Knex.Value]));
}

function applyCriterion(q: Knex.QueryBuilder, c: Criterion, now: Date): void {
  const column = columnOf(c.field);
  const values = c.values.map((v) => resolve(v, now));
  const value = values[0] as Knex.Value;
  switch (c.operator) {
    case '=':
      if (value === null) q.whereNull(column);
      else q.where(column, value);
      return;
    case '!=':
      if (value === null) q.whereNotNull(column);
      else q.where((w) => w.whereNot(column, value).orWhereNull(column));
      return;
    case 'IN':
    case 'NOT IN':
      inList(q, column, values, c.operator === 'NOT IN');
      return;
    // No LIKE: the caller's %, _ and \ are plain characters.
    case 'starts-with':
      q.whereRaw(STARTS, [column, value]);
      return;
    case 'ends-with':
      q.whereRaw(ENDS, [column, value, value]);
      return;
    case 'contains':
      q.whereRaw(CONTAINS, [column, values as string[]]);
      return;
    case 'GT':
      q.where(column, '>', value);
      return;
    case 'GT=':
      q.where(column, '>=', value);
      return;
    case 'LT':
      q.where(column, '<', value);
      return;
    case 'LT=':
      q.where(column, '<=', value);
      return;
    case 'between':
      q.whereBetween(column, [values[0] as Knex.Value, values[1] as Knex.Value]);
      return;
  }
}

function applyVisibility(q: Knex.QueryBuilder, element: ElementDef, p: Principal): void {
  if (p.admin || element.adminWrite) return;
  q.where((w) => {
    w.where('ownerid', p.contactId);
    if (p.groups.length) w.orWhereIn('groupid', [...p.groups]);
    if ('PUBLIC' in element.fields) w.orWhereIn('public', ['R', 'W']);
  });
}

/**
 * The elements the principal may read that match the blocks. Deleted elements (ACTIVITY 0) stay out unless a
 * block asks about ACTIVITY itself. `now` and `today` mean one moment for the whole statement.
 */
export function filtered(knex: Knex, element: ElementDef, blocks: Blocks, p: Principal): Knex.QueryBuilder {
  const q = knex(element.table);
  applyVisibility(q, element, p);
  const now = new Date();
  q.where((outer) => {
    for (const block of blocks.length ? blocks : [[]]) {
      outer.orWhere((inner) => {
        if (!block.some((c) => c.field === 'ACTIVITY')) inner.where('activity', 1);
        for (const c of block) applyCriterion(inner, c, now);
      });
    }
  });
  return q;
}
