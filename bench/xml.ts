/**
 * @module bench/xml
 * The documents the benchmarks send, and the floors' side of XML: a bare saxes pass that collects the rows of
 * a batch of CREATEs, and plain escaped string building of the RESULTS nori would answer, byte for byte.
 */
import { SaxesParser } from 'saxes';
import { WEBACCOUNT } from '../schemas/index.js';
import { columnOf } from '../schemas/types.js';
import type { Principal } from '../src/principal.js';
import { validateCommand } from '../src/validate.js';
import { DEFAULT_LIMITS, parseXml, type XmlLimits } from '../src/xml/parse.js';

/** Limits raised for the big batches of the parsing and growth benchmarks. */
export const BIG_LIMITS: Readonly<XmlLimits> = Object.freeze({ ...DEFAULT_LIMITS, maxBytes: 256 << 20, maxElements: 10_000_000, maxCommands: 1_000_000 });

/** One CREATE of an account of the bench WEBAPI; escapes included, since real names have them. */
export const createCommand = (i: number) =>
  `<CREATE><WEBACCOUNT><INFO><API>bench</API><DENOMINATION>Account ${i} &amp; co &lt;shop&gt;</DENOMINATION><LOGIN>user${i}@example.com</LOGIN><PUBLIC>R</PUBLIC></INFO></WEBACCOUNT></CREATE>`;

/** A QUERY of n CREATEs. */
export function createBatch(n: number): string {
  const parts: string[] = ['<QUERY>'];
  for (let i = 0; i < n; i++) parts.push(createCommand(i));
  parts.push('</QUERY>');
  return parts.join('\n');
}

/** A batch of CREATEs of about `bytes` bytes. */
export function batchOfSize(bytes: number): string {
  return createBatch(Math.ceil(bytes / (createCommand(99_999).length + 1)));
}

/** The floor's parse: one saxes pass collecting each INFO's field texts. */
export function saxesRows(doc: string): Record<string, string>[] {
  const parser = new SaxesParser({ xmlns: false });
  const rows: Record<string, string>[] = [];
  let row: Record<string, string> | undefined;
  let field: string | undefined;
  let text = '';
  parser.on('opentag', (t) => {
    if (t.name === 'INFO') row = {};
    else if (row) {
      field = t.name;
      text = '';
    }
  });
  parser.on('text', (t) => {
    if (field) text += t;
  });
  parser.on('closetag', (t) => {
    if (t.name === 'INFO' && row) {
      rows.push(row);
      row = undefined;
    } else if (row && field === t.name) {
      row[field] = text;
      field = undefined;
    }
  });
  parser.write(doc).close();
  return rows;
}

/**
 * What the engine does with a body before anything touches the database, as src/engine.ts does it: parse,
 * validating each command as it closes (the engine then lets its elements go), keeping the commands.
 */
export function parseAndValidate(body: Buffer): ReturnType<typeof validateCommand>[] {
  const items: ReturnType<typeof validateCommand>[] = [];
  parseXml(body, BIG_LIMITS, (node) => void items.push(validateCommand(node, { maxPageSize: 1000, maxIds: 1000 })));
  return items;
}

/** A bare saxes pass that does nothing but count: the throughput floor of parsing. */
export function saxesCount(doc: string): number {
  const parser = new SaxesParser({ xmlns: false });
  let n = 0;
  parser.on('opentag', () => n++);
  parser.on('text', () => n++);
  parser.on('closetag', () => n++);
  parser.write(doc).close();
  return n;
}

/**
 * The columns nori writes for a CREATE by `who`, so the floor stores the same rows with the same INSERT
 * (ACTIVITY, ISLOCKED and AUTHORIZATION_STATE come from the columns' defaults, for both).
 */
export function accountRecord(row: Record<string, string>, who: Principal, now: Date): Record<string, unknown> {
  return {
    api: row.API,
    denomination: row.DENOMINATION,
    login: row.LOGIN,
    public: row.PUBLIC,
    creatorid: who.contactId,
    modifierid: who.contactId,
    ownerid: who.contactId,
    creationdate: now,
    modificationdate: now,
  };
}

const TEXT_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };
const escapeText = (s: string) => s.replace(/[&<>]/g, (c) => TEXT_ESCAPES[c]!);
const escapeAttribute = (s: string) => s.replace(/[&<"]/g, (c) => TEXT_ESCAPES[c]!);

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const datetime = (d: Date) =>
  `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}.${pad(d.getUTCMilliseconds(), 3)}`;

/** The readable fields of WEBACCOUNT in nori's order, with their columns. */
export const ACCOUNT_FIELDS = Object.entries(WEBACCOUNT.fields)
  .filter(([, def]) => def.type !== 'secret')
  .map(([name]) => [name, columnOf(name)] as const);

export const ACCOUNT_COLUMNS = ACCOUNT_FIELDS.map(([, column]) => column);

/**
 * The RESPONSE nori answers for one RESULTS of accounts, by plain string building from database rows read by
 * `reader` (not an admin): W on the rows it owns, R on the others.
 */
export function resultsXml(command: string, rows: readonly Record<string, unknown>[], attributes: Record<string, number | string>, reader: Principal): string {
  const head = Object.entries({ command, ...attributes }).map(([k, v]) => ` ${k}="${escapeAttribute(String(v))}"`).join('');
  const out: string[] = [`<?xml version="1.0" encoding="UTF-8"?><RESPONSE><RESULTS${head}>`];
  for (const row of rows) {
    out.push(`<WEBACCOUNT ID="${row.id}" security="${row.ownerid === reader.contactId ? 'W' : 'R'}"><INFO>`);
    for (const [field, column] of ACCOUNT_FIELDS) {
      const v = row[column];
      if (v === null || v === undefined) out.push(`<${field}/>`);
      else out.push(`<${field}>${v instanceof Date ? datetime(v) : escapeText(String(v))}</${field}>`);
    }
    out.push('</INFO></WEBACCOUNT>');
  }
  out.push('</RESULTS></RESPONSE>');
  return out.join('');
}
