/**
 * @module xml/build
 * Writes the RESPONSE document. The only module that imports xmlbuilder2, which escapes every text and
 * attribute value. Secret fields are filtered here as a last line of defence, whatever a handler returns.
 */
import { create } from 'xmlbuilder2';
import type { XMLBuilder } from 'xmlbuilder2/lib/interfaces.js';
import { MESSAGES, describe, type Failure } from '../errors.js';
import { decodeMap, formatDatetime, writeValue } from '../field-types.js';
import type { Answer, Called, Results } from '../outcome.js';
import type { ResultValue } from '../sdk/types.js';

function attrs(pairs: Record<string, string | number | undefined>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(pairs)) if (v !== undefined) out[k] = String(v);
  return out;
}

function writeResults(parent: XMLBuilder, answer: Answer, r: Results): void {
  const results = parent.ele('RESULTS', attrs({ command: answer.verb, name: answer.name, hits: r.hits, page: r.page, pages: r.pages }));
  const names = (r.fields ?? Object.keys(r.element.fields)).filter((f) => r.element.fields[f]?.type !== 'secret');
  for (const row of r.rows) {
    const element = results.ele(r.element.name, { ID: String(row.ID) });
    const info = element.ele('INFO');
    for (const field of names) {
      const def = r.element.fields[field]!;
      const value = row[field] ?? null;
      if (def.type === 'map') {
        const map = info.ele(field);
        for (const [k, v] of Object.entries(decodeMap(value))) map.ele(k).txt(v);
      } else if (value === null) info.ele(field);
      else info.ele(field).txt(writeValue(value, def));
    }
    const transitions = r.history?.get(row.ID as number);
    if (transitions) {
      const h = element.ele('HISTORY');
      for (const t of transitions) {
        const e = h.ele('TRANSITION', attrs({ from: t.from, to: t.to, event: t.event, contactID: t.contactId ?? undefined, date: formatDatetime(t.at) }));
        if (t.reason) e.txt(t.reason);
      }
    }
  }
}

/** An XML name a JSON key can be written as; other keys become <ENTRY key="…">. */
const XML_NAME = /^(?!xml)[A-Za-z_][A-Za-z0-9_.-]*$/i;

/**
 * A method's result as XML, by one rule (docs/plugins.md, "Results"): an object's keys become child elements
 * in their order (a key that is no XML name becomes <ENTRY key="…">), an array's items become <ITEM>s,
 * strings and numbers their text, booleans true/false, null an empty element with null="true", and bytes
 * base64 text with encoding="base64". Undefined values are left out.
 */
function writeJson(el: XMLBuilder, value: ResultValue): void {
  if (value === undefined) return;
  if (value === null) {
    el.att('null', 'true');
  } else if (value instanceof Uint8Array) {
    el.att('encoding', 'base64').txt(Buffer.from(value).toString('base64'));
  } else if (Array.isArray(value)) {
    for (const item of value as ResultValue[]) if (item !== undefined) writeJson(el.ele('ITEM'), item);
  } else if (typeof value === 'object') {
    for (const [k, v] of Object.entries(value as unknown as Record<string, ResultValue>)) {
      if (v !== undefined) writeJson(XML_NAME.test(k) ? el.ele(k) : el.ele('ENTRY', { key: k }), v);
    }
  } else {
    el.txt(String(value));
  }
}

function writeCalled(parent: XMLBuilder, answer: Answer, c: Called): void {
  const results = parent.ele('RESULTS', attrs({ command: answer.verb, name: answer.name, hits: c.answers.length }));
  for (const a of c.answers) {
    const account = results.ele('WEBACCOUNT', { ID: String(a.accountId) });
    for (const w of a.warnings) account.ele('WARNING', { code: w.code }).txt(w.message);
    if ('value' in a.result) writeJson(account.ele(a.method, a.attributes), a.result.value);
    else writeFailure(account, a.result.failure, { ...a.attributes });
  }
}

function writeFailure(parent: XMLBuilder, f: Failure, extra: Record<string, string | number | undefined>): void {
  const spec = MESSAGES[f.code];
  parent.ele('MESSAGE', attrs({ ...extra, msgType: spec.msgType, errorCode: f.code, line: f.line, column: f.column })).txt(describe(f));
}

/** The RESPONSE for a batch that ran: one RESULTS or MESSAGE per command, in order. */
export function buildResponse(answers: readonly Answer[]): string {
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('RESPONSE');
  for (const answer of answers) {
    const o = answer.outcome;
    const common = { command: answer.verb, name: answer.name };
    if (o.kind === 'results') writeResults(root, answer, o);
    else if (o.kind === 'called') writeCalled(root, answer, o);
    else if (o.kind === 'failed') writeFailure(root, o.failure, { ...common, elementID: o.elementID, ...o.attributes });
    else root.ele('MESSAGE', attrs({ ...common, msgType: 0, elementID: o.elementID, ...o.attributes })).txt(describe({ code: o.code, params: o.params }));
  }
  return root.end({ prettyPrint: false });
}

/** The RESPONSE for a request refused as a whole (malformed XML, a limit, no API key). */
export function buildRequestFailure(f: Failure): string {
  const root = create({ version: '1.0', encoding: 'UTF-8' }).ele('RESPONSE');
  writeFailure(root, f, {});
  return root.end({ prettyPrint: false });
}
