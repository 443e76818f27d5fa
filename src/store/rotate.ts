/**
 * @module store/rotate
 * Re-encrypts every stored secret under the current key, so an old key can be retired. Rows are read and
 * rewritten in batches, each batch in its own transaction with its rows locked, so a concurrent writer never
 * loses a value and a crash leaves every row readable (old or new key).
 */
import type { Knex } from 'knex';
import { ENCRYPTED_COLUMNS, openColumn, sealColumn } from './encrypted-columns.js';
import type { Keyring } from './secrets.js';

export interface RotationReport {
  /** Values re-encrypted, by `table.column`. */
  readonly rewritten: Readonly<Record<string, number>>;
}

export async function rotateSecrets(knex: Knex, keyring: Keyring, batchSize = 500): Promise<RotationReport> {
  const rewritten: Record<string, number> = {};
  const current = `v1.${keyring.currentId}.`;
  for (const c of ENCRYPTED_COLUMNS) {
    const { table, column, keyColumn: key } = c;
    let count = 0;
    for (;;) {
      const done = await knex.transaction(async (trx) => {
        const rows = (await trx(table).select(key, column).whereNotNull(column).andWhereRaw('left(??, ?) <> ?', [column, current.length, current]).orderBy(key).limit(batchSize).forUpdate()) as Record<string, unknown>[];
        for (const row of rows) {
          const id = row[key] as number;
          await trx(table).update({ [column]: sealColumn(keyring, c, openColumn(keyring, c, row[column] as string, id)) }).where(key, id);
        }
        count += rows.length;
        return rows.length < batchSize;
      });
      if (done) break;
    }
    rewritten[c.context] = count;
  }
  return { rewritten };
}
