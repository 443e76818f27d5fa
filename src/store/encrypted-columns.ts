/**
 * @module store/encrypted-columns
 * The one list of the columns that hold ciphertext. Writing and reading go through it (the keyring refuses a
 * context that is not listed here), and `nori secrets rotate` re-encrypts exactly these columns: a column that
 * is encrypted but missing here cannot exist, because its values could not have been written.
 * test/store/encrypted-columns.test.ts scans a database filled by real flows for any value in the ciphertext's
 * format outside these columns, and classifies every text column of every table.
 */
import { ELEMENTS, columnOf } from '../../schemas/index.js';
import type { Keyring } from './secrets.js';

export interface EncryptedColumn {
  readonly table: string;
  readonly column: string;
  /** The column that names a row: rotation locks and rewrites by it, SECRET_UNREADABLE reports it. */
  readonly keyColumn: 'id';
  /** What SECRET_UNREADABLE calls the row's owner: an element's name, or "pending flow". */
  readonly owner: string;
  /** The associated data bound to every value: `table.column`, so a value moved to another column does not open. */
  readonly context: string;
}

const column = (table: string, name: string, owner: string): EncryptedColumn =>
  Object.freeze({ table, column: name, keyColumn: 'id', owner, context: `${table}.${name}` });

export const ENCRYPTED_COLUMNS: readonly EncryptedColumn[] = Object.freeze([
  // Every `secret` field of every element, from the element definitions.
  ...[...ELEMENTS.values()].flatMap((element) =>
    Object.entries(element.fields)
      .filter(([, def]) => def.type === 'secret')
      .map(([field]) => column(element.table, columnOf(field), element.name)),
  ),
  // The PKCE verifier (OAuth 2.0) or the request-token secret (OAuth 1.0a) of a flow (auth/pending-flows.ts).
  column('nori_pending_flows', 'secret', 'pending flow'),
  // A CALL kept across a consent page, which may carry a password, and what running it again gave (call/consents.ts).
  column('nori_pending_flows', 'pending_call', 'pending flow'),
  column('nori_pending_flows', 'result', 'pending flow'),
  // Where a flow's start link sends the browser: the provider's URL carries the state (auth/pending-flows.ts).
  column('nori_pending_flows', 'provider_url', 'pending flow'),
]);

const BY_CONTEXT: ReadonlyMap<string, EncryptedColumn> = new Map(ENCRYPTED_COLUMNS.map((c) => [c.context, c]));

/** Whether `table.column` is a registered encrypted column (the keyring's guard). */
export const isEncryptedContext = (context: string): boolean => BY_CONTEXT.has(context);

/** The registered column; throws (a programmer error) for one that is not registered. */
export function encryptedColumn(table: string, name: string): EncryptedColumn {
  const found = BY_CONTEXT.get(`${table}.${name}`);
  if (!found) throw new Error(`${table}.${name} is not a registered encrypted column (store/encrypted-columns.ts)`);
  return found;
}

/** Encrypts a value for the column. */
export const sealColumn = (keyring: Keyring, c: EncryptedColumn, plaintext: string): string => keyring.encrypt(plaintext, c.context);

/** Decrypts a value of the column's row `id`; throws NoriError SECRET_UNREADABLE when no configured key opens it. */
export const openColumn = (keyring: Keyring, c: EncryptedColumn, envelope: string, id: number): string => keyring.decrypt(envelope, c.context, { element: c.owner, id });
