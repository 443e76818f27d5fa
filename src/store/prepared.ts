/**
 * @module store/prepared
 * The hottest reads (an element by ID for a GET, a CALL's account and token) as named prepared statements on a
 * pooled PostgreSQL connection: the server parses and plans each once per connection instead of once per
 * request, and knex's query path (compiling, placeholder rewriting, its runner) is skipped. Measured with ten
 * reads in flight, one account by ID took 60 µs instead of 95, most of the difference the server's planning.
 *
 * Inside a transaction, and on PGlite, the statement goes through knex as any other. Observers of knex's
 * `query` event still see each statement. Prepared statements belong to a server session: nori talks to
 * PostgreSQL directly or through a pooler in session mode, not one in transaction mode.
 */
import type { Knex } from 'knex';

/** What knex's pool hands out for PostgreSQL: a `pg` client. */
interface PgConnection {
  query(config: { name: string; text: string; values: readonly unknown[] }): Promise<{ rows: Record<string, unknown>[] }>;
  __knexUid?: string;
}

/**
 * Each statement's name and its text with PostgreSQL's `$n` placeholders, the same in every connection of the
 * process (pg refuses one name for two texts).
 */
const statements = new Map<string, { name: string; text: string }>();

function statementOf(sql: string): { name: string; text: string } {
  let found = statements.get(sql);
  if (found === undefined) {
    let n = 0;
    found = { name: `nori_${statements.size + 1}`, text: sql.replace(/\?/g, () => `$${++n}`) };
    statements.set(sql, found);
  }
  return found;
}

const isPgPool = (knex: Knex) => !(knex as Knex.Transaction).isTransaction && (knex.client as { pglite?: unknown }).pglite === undefined;

/**
 * The rows of one read-only statement written with knex's `?` placeholders, each `?` one value of `values`
 * (no `??` identifiers: the text is nori's own, built once by the caller). With `prepare`, prepared on the
 * connection when the database is a PostgreSQL server and `knex` is not a transaction; a statement prepared
 * stays in each server session for its life, so only a few texts may be: the caller's fixed shapes.
 */
export async function selectRows(knex: Knex, sql: string, values: readonly unknown[], prepare: boolean): Promise<Record<string, unknown>[]> {
  if (!prepare || !isPgPool(knex)) return ((await knex.raw(sql, values as Knex.RawBinding[])) as { rows: Record<string, unknown>[] }).rows;
  const { name, text } = statementOf(sql);
  const client = knex.client as Knex.Client & { acquireConnection(): Promise<PgConnection>; releaseConnection(c: PgConnection): Promise<void> };
  const connection = await client.acquireConnection();
  try {
    client.emit('query', { method: 'select', sql: text, bindings: values, __knexUid: connection.__knexUid });
    return (await connection.query({ name, text, values })).rows;
  } finally {
    await client.releaseConnection(connection);
  }
}
