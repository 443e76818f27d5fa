import assert from 'node:assert/strict';
import { ELEMENTS, columnOf } from '../../schemas/index.js';
import { sqlTypeOf } from '../../src/store/columns.js';
import { useEngine } from '../helpers/engine.js';

interface ColumnInfo {
  column_name: string;
  data_type: string;
  is_nullable: 'YES' | 'NO';
  character_maximum_length: number | null;
}

describe('storage follows the element definitions', () => {
  const t = useEngine();

  for (const element of ELEMENTS.values()) {
    it(`table ${element.table} has exactly the columns of ${element.name}, with their types, lengths and nullability`, async () => {
      const { rows } = (await t.engine.database.knex.raw(
        `SELECT column_name, data_type, is_nullable, character_maximum_length FROM information_schema.columns
          WHERE table_name = ? AND table_schema = current_schema() ORDER BY ordinal_position`,
        [element.table],
      )) as { rows: ColumnInfo[] };
      const byName = new Map(rows.map((r) => [r.column_name, r]));
      assert.deepEqual([...byName.keys()].sort(), Object.keys(element.fields).map(columnOf).sort());
      for (const [field, def] of Object.entries(element.fields)) {
        const col = byName.get(columnOf(field))!;
        assert.equal(col.data_type, sqlTypeOf(def), `${field} type`);
        if (col.data_type === 'character varying') assert.equal(Number(col.character_maximum_length), def.maxLength, `${field} length`);
        if (def.required || def.default !== undefined) assert.equal(col.is_nullable, 'NO', `${field} is NOT NULL`);
      }
    });
  }

  it('the database itself refuses an enum value the schema refuses', async () => {
    await assert.rejects(
      t.engine.database.knex('webapi').insert({ denomination: 'x', auth_type: 'telepathy', creationdate: new Date(), modificationdate: new Date() }),
      (e: { code?: string }) => e.code === '23514',
    );
  });
});
