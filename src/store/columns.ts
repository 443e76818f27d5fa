/**
 * @module store/columns
 * How a field definition becomes a column. Used by migrations and by the schema conformance test.
 */
import type { Knex } from 'knex';
import { columnOf, type FieldDef } from '../../schemas/types.js';

/** The PostgreSQL type of a field's column, as information_schema names it. */
export function sqlTypeOf(def: FieldDef): string {
  switch (def.type) {
    case 'id':
      return 'integer';
    case 'flag':
      return 'smallint';
    case 'datetime':
      return 'timestamp with time zone';
    case 'secret':
    case 'enum':
    case 'map':
      return 'text';
    default:
      return def.maxLength ? 'character varying' : 'text';
  }
}

export function addElementColumns(t: Knex.CreateTableBuilder, fields: Readonly<Record<string, FieldDef>>): void {
  for (const [name, def] of Object.entries(fields)) {
    const column = columnOf(name);
    if (name === 'ID') {
      t.increments(column).primary();
      continue;
    }
    let c: Knex.ColumnBuilder;
    switch (def.type) {
      case 'id':
        c = t.integer(column);
        break;
      case 'flag':
        c = t.smallint(column);
        break;
      case 'datetime':
        c = t.timestamp(column, { useTz: true, precision: 3 });
        break;
      case 'secret':
      case 'map':
        c = t.text(column);
        break;
      case 'enum':
        // knex makes this a text column with a CHECK constraint on PostgreSQL: the database refuses what the schema does.
        c = t.enu(column, [...(def.values ?? [])]);
        break;
      default:
        c = def.maxLength ? t.string(column, def.maxLength) : t.text(column);
    }
    if (def.required || def.default !== undefined || name === 'CREATIONDATE' || name === 'MODIFICATIONDATE') c.notNullable();
    if (def.default !== undefined) c.defaultTo(def.type === 'flag' ? Number(def.default) : def.default);
  }
}
