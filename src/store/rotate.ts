/**
 * @module store/rotate
 * Re-encrypts every stored secret under the current key, so an old key can be retired. Rows are read and
 * rewritten in batches, each batch in its own transaction with its rows locked, so a concurrent writer never
 * loses a value and a crash leaves every row readable (old or new key).
 */
import type { Knex } from 'knex';
import { ELEMENTS, columnOf } from '../../schemas/index.js';
import type { Keyring } from './secrets.js';

export interface RotationReport {
  /** Values re-encrypted, by `table.column`. */
  readonly rewritten: Readonly<Record<string, number>>;
}

const EXTRA_SECRET_COLUMNS: readonly (readonly [string, string])[] = [['nori_pending_flows', 'secret']];

function secretColumns(): (readonly [string, string])[] {
  const out: (readonly [string, string])[] = [];
  for (const element of ELEMENTS.values()) {
    for (const [field, def] of Object.entries(element.fields)) if (def.type === 'secret') out.push([element.table, columnOf(field)]);
  }
  return [...out, ...EXTRA_SECRET_COLUMNS];
}

export async function rotateSecrets(knex: Knex, keyring: Keyring, batchSize = 500): Promise<RotationReport> {
  const rewritten: Record<string, number> = {};
  const current = `v1.${keyring.currentId}.`;
  for (const [table, column] of secretColumns()) {
    const context = `${table}.${column}`;
    let count = 0;
    for (;;) {
      const done = await knex.transaction(async (trx) => {
        const rows = (await trx(table).select('id', column).whereNotNull(column).andWhereRaw('left(??, ?) <> ?', [column, current.length, current]).orderBy('id').limit(batchSize).forUpdate()) as Record<string, unknown>[];
        for (const row of rows) {
          const id = row.id as number;
          const plain = keyring.decrypt(row[column] as string, context, { element: table, id });
          await trx(table).update({ [column]: keyring.encrypt(plain, context) }).where('id', id);
        }
        count += rows.length;
        return rows.length < batchSize;
      });
      if (done) break;
    }
    rewritten[context] = count;
  }
  return { rewritten };
}
