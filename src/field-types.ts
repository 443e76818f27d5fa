/**
 * @module field-types
 * One codec per field type: how XML text becomes a value, and how a value is written back to XML.
 * Values in memory: numbers for id and flag, Date for datetime, strings for the rest.
 */
import type { FieldDef, FieldType } from '../schemas/types.js';

export type FieldValue = string | number | Date | null;

/** What went wrong reading a value: fills INVALID_VALUE's `expected`, or VALUE_TOO_LONG. */
export type ReadError = { kind: 'invalid'; expected: string } | { kind: 'too-long'; limit: number };

interface Codec {
  read(text: string, def: FieldDef): FieldValue | ReadError;
  write(value: Exclude<FieldValue, null>): string;
}

const MAX_ID = 2_147_483_647; // PostgreSQL integer

const DATETIME = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?(Z|[+-]00:?00)?$/;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `YYYY-MM-DD hh:mm:ss.SSS`, UTC: Sushee's format, with milliseconds so optimistic locking can tell writes apart. */
export function formatDatetime(d: Date): string {
  return (
    `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
    `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`
  );
}

export function parseDatetime(text: string): Date | undefined {
  const m = DATETIME.exec(text);
  if (!m) return undefined;
  const [, y, mo, d, h = '0', mi = '0', s = '0', frac = ''] = m;
  const ms = frac ? Math.floor(Number(frac.padEnd(6, '0')) / 1000) : 0;
  const date = new Date(Date.UTC(+y!, +mo! - 1, +d!, +h, +mi, +s, ms));
  // Date.UTC rolls 2024-02-31 over to March: refuse instead of guessing.
  if (date.getUTCMonth() !== +mo! - 1 || date.getUTCDate() !== +d! || +h > 23 || +mi > 59 || +s > 59) return undefined;
  return date;
}

// eslint-disable-next-line no-control-regex -- finding control characters is the point
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;

function readText(text: string, def: FieldDef): string | ReadError {
  if (def.maxLength !== undefined && text.length > def.maxLength) return { kind: 'too-long', limit: def.maxLength };
  // Control characters other than tab and newlines have no place in a stored field and break some consumers.
  if (CONTROL.test(text)) return { kind: 'invalid', expected: 'text without control characters' };
  return text;
}

const CODECS: ReadonlyMap<FieldType, Codec> = new Map<FieldType, Codec>([
  ['id', {
    read: (text) => {
      const n = /^[0-9]{1,10}$/.test(text) ? Number(text) : NaN;
      return n >= 1 && n <= MAX_ID ? n : { kind: 'invalid', expected: `a whole number from 1 to ${MAX_ID}` };
    },
    write: String,
  }],
  ['flag', {
    read: (text) => (text === '0' || text === '1' ? Number(text) : { kind: 'invalid', expected: '0 or 1' }),
    write: String,
  }],
  ['text', { read: readText, write: String }],
  ['secret', { read: readText, write: () => '' }],
  ['reference', { read: readText, write: String }],
  ['url', {
    read: (text, def) => {
      const checked = readText(text, def);
      if (typeof checked !== 'string') return checked;
      let url: URL;
      try {
        url = new URL(checked);
      } catch {
        return { kind: 'invalid', expected: 'an absolute http or https URL' };
      }
      return url.protocol === 'http:' || url.protocol === 'https:'
        ? checked
        : { kind: 'invalid', expected: 'an absolute http or https URL' };
    },
    write: String,
  }],
  ['enum', {
    read: (text, def) => (def.values?.includes(text) ? text : { kind: 'invalid', expected: `one of ${def.values?.join(', ')}` }),
    write: String,
  }],
  // A map arrives as child elements, which validate reads (readMap); as bare text it can only be empty.
  ['map', {
    read: () => ({ kind: 'invalid', expected: 'one child element per setting, e.g. <CONTENT_URL>…</CONTENT_URL>' }),
    write: String,
  }],
  ['datetime', {
    read: (text) => parseDatetime(text) ?? { kind: 'invalid', expected: 'a date as YYYY-MM-DD hh:mm:ss (UTC)' },
    write: (value) => formatDatetime(value as Date),
  }],
]);

function codec(type: FieldType): Codec {
  const c = CODECS.get(type);
  if (!c) throw new Error(`no codec for field type ${type}`);
  return c;
}

/** Names a map's entries may have: upper-case XML names, as Sushee's fields. */
export const MAP_KEY = /^[A-Z][A-Z0-9_]{0,63}$/;

/** A map's stored form: JSON with sorted keys, so equal maps store equal text. */
export function encodeMap(entries: Readonly<Record<string, string>>): string {
  return JSON.stringify(Object.fromEntries(Object.entries(entries).sort(([a], [b]) => (a < b ? -1 : 1))));
}

export function decodeMap(stored: FieldValue): Record<string, string> {
  if (typeof stored !== 'string' || stored === '') return {};
  return JSON.parse(stored) as Record<string, string>;
}

export function isReadError(v: FieldValue | ReadError): v is ReadError {
  return v !== null && typeof v === 'object' && !(v instanceof Date);
}

/** Reads a field from its XML text. Empty text means no value (null), whatever the type. */
export function readValue(text: string, def: FieldDef): FieldValue | ReadError {
  if (text === '') return null;
  return codec(def.type).read(text, def);
}

/** Writes a value back as XML text. Secrets are never written; callers leave them out before this. */
export function writeValue(value: FieldValue, def: FieldDef): string {
  return value === null ? '' : codec(def.type).write(value);
}
