/**
 * @module store/elements
 * Reading and writing elements. Every value travels as a query binding; identifiers come only from the
 * element definitions, never from a request.
 */
import type { Knex } from 'knex';
import { columnOf, type ElementDef, type FieldDef } from '../../schemas/types.js';
import type { FieldValue } from '../field-types.js';
import type { Principal } from '../principal.js';
import { selectRows } from './prepared.js';
import { encryptedColumn, openColumn, sealColumn } from './encrypted-columns.js';
import type { Keyring } from './secrets.js';
import { filtered, type Blocks } from './criteria.js';

export type { Blocks, Criterion, CriterionValue, DateKeyword, Operator } from './criteria.js';

/** A stored element by field name; secret fields are never read into it. */
export type Row = Record<string, FieldValue>;

export interface Sort {
  readonly field: string;
  readonly descending: boolean;
}

export interface SearchQuery {
  /** Blocks ORed together; criteria inside one block ANDed. Empty: everything visible. */
  readonly blocks: Blocks;
  readonly sort: readonly Sort[];
  readonly limit: number;
  readonly offset: number;
}

const readableColumns = new WeakMap<ElementDef, readonly (readonly [string, string])[]>();

/** [field, column] of every field a read returns: all but secrets. */
function readable(element: ElementDef): readonly (readonly [string, string])[] {
  let cols = readableColumns.get(element);
  if (!cols) {
    cols = Object.entries(element.fields)
      .filter(([, def]) => def.type !== 'secret')
      .map(([name]) => [name, columnOf(name)] as const);
    readableColumns.set(element, cols);
  }
  return cols;
}

function toRow(element: ElementDef, record: Record<string, unknown>): Row {
  const row: Row = {};
  for (const [field, column] of readable(element)) row[field] = (record[column] ?? null) as FieldValue;
  return row;
}

/** Values by column, secrets encrypted with the table and column as context. */
function toRecord(element: ElementDef, values: ReadonlyMap<string, FieldValue>, keyring: Keyring): Record<string, unknown> {
  const record: Record<string, unknown> = {};
  for (const [field, value] of values) {
    const def = element.fields[field] as FieldDef;
    const column = columnOf(field);
    record[column] = def.type === 'secret' && typeof value === 'string' ? sealColumn(keyring, encryptedColumn(element.table, column), value) : value;
  }
  return record;
}

export async function insertElement(trx: Knex.Transaction, element: ElementDef, values: ReadonlyMap<string, FieldValue>, keyring: Keyring): Promise<number> {
  const [inserted] = await trx(element.table).insert(toRecord(element, values, keyring)).returning('id');
  return Number((inserted as { id: number }).id);
}

/** Many elements of one type in one INSERT; their ids in the order given (PostgreSQL numbers VALUES rows in order). */
export async function insertElements(trx: Knex, element: ElementDef, rows: readonly ReadonlyMap<string, FieldValue>[], keyring: Keyring): Promise<number[]> {
  // knex writes DEFAULT for a column a row leaves out; batches of 1000 rows keep the bindings under PostgreSQL's 65535.
  const ids: number[] = [];
  for (let i = 0; i < rows.length; i += 1000) {
    const inserted = (await trx(element.table).insert(rows.slice(i, i + 1000).map((v) => toRecord(element, v, keyring))).returning('id')) as { id: number }[];
    ids.push(...inserted.map((r) => Number(r.id)));
  }
  return ids;
}

// The SQL of a read by IDs, by element, extra columns, lock and number of IDs: a GET by ID is most requests and
// a CALL reads its account, and building the same statement with the query builder each time cost as much as
// the rest of nori's share of a small GET. Lists of up to 16 IDs are kept and prepared (store/prepared.ts);
// longer ones, rarer and of up to a thousand lengths, are built each time and not prepared.
const byIdsSql = new WeakMap<ElementDef, Map<string, string>>();
const KEPT_IDS = 16;

function selectByIdsSql(knex: Knex, element: ElementDef, count: number, forUpdate: boolean, extra: readonly string[] = []): string {
  let sqls = byIdsSql.get(element);
  if (!sqls) byIdsSql.set(element, (sqls = new Map()));
  const key = `${count}|${forUpdate ? 'for update' : ''}|${extra.join(',')}`;
  let sql = sqls.get(key);
  if (sql === undefined) {
    const columns = [...new Set([...readable(element).map(([, c]) => c), ...extra])];
    const q = knex(element.table).select(columns).whereIn('id', new Array<number>(count).fill(0)).orderBy('id');
    if (forUpdate) q.forUpdate();
    sql = q.toSQL().sql;
    if (count <= KEPT_IDS) sqls.set(key, sql);
  }
  return sql;
}

export async function selectByIds(trx: Knex, element: ElementDef, ids: readonly number[], forUpdate = false): Promise<Row[]> {
  return (await selectRows(trx, selectByIdsSql(trx, element, ids.length, forUpdate), ids, ids.length <= KEPT_IDS)).map((r) => toRow(element, r));
}

/** selectByIds, with more columns read raw beside each row (a secret stays encrypted): one query where two were. */
export async function selectByIdsWith<C extends string>(knex: Knex, element: ElementDef, ids: readonly number[], columns: readonly C[]): Promise<{ row: Row; raw: Record<C, unknown> }[]> {
  const records = await selectRows(knex, selectByIdsSql(knex, element, ids.length, false, columns), ids, ids.length <= KEPT_IDS);
  return records.map((r) => ({ row: toRow(element, r), raw: r as Record<C, unknown> }));
}

/**
 * Writes the values and moves MODIFICATIONDATE forward: to now, and always at least a millisecond past the
 * stored one, so optimistic locking tells two quick writes apart even across processes with skewed clocks.
 */
export async function updateElement(trx: Knex.Transaction, element: ElementDef, ids: readonly number[], values: ReadonlyMap<string, FieldValue>, keyring: Keyring): Promise<void> {
  const record = toRecord(element, values, keyring);
  record.modificationdate = trx.raw(`GREATEST(?::timestamptz, modificationdate + interval '1 millisecond')`, [new Date()]);
  await trx(element.table).update(record).whereIn('id', ids);
}

export async function killElements(trx: Knex.Transaction, element: ElementDef, ids: readonly number[]): Promise<void> {
  await trx(element.table).delete().whereIn('id', ids);
}

/** Whether an active element has this value in this field (references, uniqueness). */
export async function activeValueExists(trx: Knex.Transaction, element: ElementDef, field: string, value: FieldValue, exceptIds: readonly number[] = []): Promise<boolean> {
  const q = trx(element.table).first('id').where(columnOf(field), value).andWhere('activity', 1);
  if (exceptIds.length) q.whereNotIn('id', exceptIds);
  return (await q) !== undefined;
}

export async function countWhere(trx: Knex.Transaction, element: ElementDef, field: string, values: readonly FieldValue[], activeOnly: boolean): Promise<number> {
  const q = trx(element.table).count({ n: '*' }).whereIn(columnOf(field), values as string[]);
  if (activeOnly) q.andWhere('activity', 1);
  const [r] = await q;
  return Number((r as { n: number }).n);
}

/** Decrypts one element's secret fields, for the parts of nori that use them (never for a response). */
export async function readSecrets(trx: Knex | Knex.Transaction, element: ElementDef, id: number, keyring: Keyring): Promise<Record<string, string | null>> {
  const secrets = Object.entries(element.fields).filter(([, d]) => d.type === 'secret').map(([n]) => n);
  const record = await trx(element.table).first(secrets.map(columnOf)).where('id', id);
  const out: Record<string, string | null> = {};
  for (const field of secrets) {
    const column = columnOf(field);
    const stored = record?.[column] as string | null | undefined;
    out[field] = stored ? openColumn(keyring, encryptedColumn(element.table, column), stored, id) : null;
  }
  return out;
}

export async function countElements(trx: Knex.Transaction, element: ElementDef, query: Pick<SearchQuery, 'blocks'>, p: Principal): Promise<number> {
  const [r] = await filtered(trx, element, query.blocks, p).count({ n: '*' });
  return Number((r as { n: number }).n);
}

export async function searchElements(trx: Knex.Transaction, element: ElementDef, query: SearchQuery, p: Principal): Promise<{ rows: Row[]; hits: number }> {
  const q = filtered(trx, element, query.blocks, p)
    .select([...readable(element).map(([, c]) => c), trx.raw('count(*) OVER () AS nori_hits')])
    .limit(query.limit)
    .offset(query.offset);
  for (const s of query.sort) q.orderBy(columnOf(s.field), s.descending ? 'desc' : 'asc', s.descending ? 'last' : 'first');
  q.orderBy('id', 'asc');
  const records: Record<string, unknown>[] = await q;
  // count(*) OVER () gives the total in the same query; a page past the end has no row to carry it.
  const hits = records.length ? Number(records[0]!.nori_hits) : query.offset > 0 ? await countElements(trx, element, query, p) : 0;
  return { rows: records.map((r) => toRow(element, r)), hits };
}

/**
 * The elements a WHERE addresses: visible to the principal and matching the blocks, at most `limit`, locked FOR
 * UPDATE in ID order. Two commands locking overlapping sets take their locks in the same order, so one waits for
 * the other instead of both deadlocking (a deadlock would still be run again, src/batch.ts).
 */
export async function selectMatching(trx: Knex.Transaction, element: ElementDef, blocks: Blocks, p: Principal, limit: number): Promise<Row[]> {
  const records: Record<string, unknown>[] = await filtered(trx, element, blocks, p)
    .select(readable(element).map(([, c]) => c))
    .orderBy('id', 'asc')
    .limit(limit)
    .forUpdate();
  return records.map((r) => toRow(element, r));
}
