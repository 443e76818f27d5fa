/**
 * @module xml/build
 * Writes the RESPONSE document, by escaped string building: every text and attribute value goes through
 * `text()` or `attr()` here, and every element name is nori's own (schemas, plugin definitions) or checked
 * against XML_NAME. Measured on 1,000 accounts, xmlbuilder2's DOM took 80-110 ms where this takes a few, on
 * the path every SEARCH takes (docs/performance.md). Secret fields are filtered here as a last line of defence,
 * whatever a handler returns.
 */
import { MESSAGES, describe, type Failure } from '../errors.js';
import { decodeMap, formatDatetime, writeValue } from '../field-types.js';
import type { Answer, Called, Results } from '../outcome.js';
import type { ResultValue } from '../sdk/types.js';

/** Characters XML 1.0 cannot carry at all (controls, non-characters, lone surrogates): written as U+FFFD. */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const INVALID = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const INVALID_ALL = new RegExp(INVALID.source, 'g');
const TEXT_SPECIAL = /[&<>]/;
const TEXT_SPECIAL_ALL = /[&<>]/g;
const ATTR_SPECIAL = /[&<>"\t\n\r]/;
const ATTR_SPECIAL_ALL = /[&<>"\t\n\r]/g;
const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', '\t': '&#9;', '\n': '&#10;', '\r': '&#13;' };
const entity = (c: string) => ENTITIES[c]!;

// Most values need no change: a test first keeps them cheap.
const clean = (s: string) => (INVALID.test(s) ? s.replace(INVALID_ALL, '\ufffd') : s);
export const text = (s: string) => {
  const c = clean(s);
  return TEXT_SPECIAL.test(c) ? c.replace(TEXT_SPECIAL_ALL, entity) : c;
};
export const attr = (s: string) => {
  const c = clean(s);
  return ATTR_SPECIAL.test(c) ? c.replace(ATTR_SPECIAL_ALL, entity) : c;
};

type Attrs = Readonly<Record<string, string | number | undefined>>;

/** Writes an element; `body` writes its content, and an element left empty closes itself (`<X/>`). */
function element(out: string[], name: string, attrs: Attrs | undefined, body?: string | ((out: string[]) => void)): void {
  let open = `<${name}`;
  if (attrs) for (const k in attrs) if (attrs[k] !== undefined) open += ` ${k}="${attr(String(attrs[k]))}"`;
  if (body === undefined || body === '') {
    out.push(`${open}/>`);
    return;
  }
  if (typeof body === 'string') {
    out.push(`${open}>${text(body)}</${name}>`);
    return;
  }
  out.push(`${open}>`);
  const at = out.length;
  body(out);
  if (out.length === at) out[at - 1] = `${open}/>`;
  else out.push(`</${name}>`);
}

const lastPage = (r: Results) => (r.lastPage === undefined ? undefined : r.lastPage ? 'true' : 'false');

function writeResults(out: string[], answer: Answer, r: Results): void {
  const names = (r.fields ?? Object.keys(r.element.fields)).filter((f) => r.element.fields[f]?.type !== 'secret');
  element(out, 'RESULTS', { command: answer.verb, name: answer.name, hits: r.hits, page: r.page, pages: r.pages, 'last-page': lastPage(r) }, (out) => {
    for (const [i, row] of r.rows.entries()) {
      element(out, r.element.name, { ID: String(row.ID), security: r.security[i] }, (out) => {
        // RETURN NOTHING: the IDs only.
        if (!names.length) return;
        element(out, 'INFO', undefined, (out) => {
          for (const field of names) {
            const def = r.element.fields[field]!;
            const value = row[field] ?? null;
            if (def.type === 'map') element(out, field, undefined, (out) => { for (const [k, v] of Object.entries(decodeMap(value))) element(out, k, undefined, v); });
            else element(out, field, undefined, value === null ? undefined : writeValue(value, def));
          }
        });
        const transitions = r.history?.get(row.ID as number);
        if (transitions) {
          element(out, 'HISTORY', undefined, (out) => {
            for (const t of transitions) element(out, 'TRANSITION', { from: t.from, to: t.to, event: t.event, contactID: t.contactId ?? undefined, date: formatDatetime(t.at) }, t.reason ?? undefined);
          });
        }
      });
    }
  });
}

/** An XML name a JSON key can be written as; other keys become <ENTRY key="…">. */
const XML_NAME = /^(?!xml)[a-z_][\w.-]*$/i;
/** What nori's own attributes say about an element (a null, bytes, an ENTRY's key): no `@name` of a result writes them. */
const OWN_ATTRIBUTES: ReadonlySet<string> = new Set(['null', 'encoding', 'key']);

type Scalar = string | number | boolean;
const isScalar = (v: ResultValue): v is Scalar => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/**
 * An object's `@name` keys that are attributes (a name, a text, number or boolean, and not one of nori's own
 * nor one `attrs` already has), and its `#text` if that is a text, number or boolean; everything else is content.
 */
function split(value: Readonly<Record<string, ResultValue>>, attrs: Attrs | undefined) {
  let own: Record<string, string | number> | undefined;
  let body: Scalar | undefined;
  const content: [string, ResultValue][] = [];
  for (const [k, v] of Object.entries(value)) {
    const name = k.slice(1);
    if (k.charCodeAt(0) === 0x40 && isScalar(v) && XML_NAME.test(name) && !OWN_ATTRIBUTES.has(name) && !(attrs && Object.hasOwn(attrs, name))) (own ??= {})[name] = typeof v === 'boolean' ? String(v) : v;
    else if (k === '#text' && isScalar(v)) body = v;
    else content.push([k, v]);
  }
  return { attrs: own ? { ...own, ...attrs } : attrs, body, content };
}

/**
 * A method's result as XML, by one rule (docs/plugins.md, "Results"): an object's keys become child elements
 * in their order (a key that is no XML name becomes <ENTRY key="…">), `@name` keys its attributes and `#text`
 * its text (what the SDK's XML reader gives, written back as the service wrote it), an array's items become
 * <ITEM>s, strings and numbers their text, booleans true/false, null an empty element with null="true", and
 * bytes base64 text with encoding="base64". Undefined values are left out.
 */
function writeJson(out: string[], name: string, attrs: Attrs | undefined, value: ResultValue): void {
  if (value === undefined) return;
  if (value === null) element(out, name, { ...attrs, null: 'true' });
  else if (value instanceof Uint8Array) element(out, name, { ...attrs, encoding: 'base64' }, Buffer.from(value).toString('base64'));
  else if (Array.isArray(value)) element(out, name, attrs, (out) => { for (const item of value as ResultValue[]) writeJson(out, 'ITEM', undefined, item); });
  else if (typeof value === 'object') {
    const parts = split(value as Readonly<Record<string, ResultValue>>, attrs);
    element(out, name, parts.attrs, (out) => {
      if (parts.body !== undefined && parts.body !== '') out.push(text(String(parts.body)));
      for (const [k, v] of parts.content) {
        if (XML_NAME.test(k)) writeJson(out, k, undefined, v);
        else writeJson(out, 'ENTRY', { key: k }, v);
      }
    });
  } else element(out, name, attrs, String(value));
}

function writeCalled(out: string[], answer: Answer, c: Called): void {
  element(out, 'RESULTS', { command: answer.verb, name: answer.name, hits: c.answers.length }, (out) => {
    for (const a of c.answers) {
      element(out, 'WEBACCOUNT', { ID: String(a.accountId) }, (out) => {
        for (const w of a.warnings) element(out, 'WARNING', { code: w.code }, w.message);
        if ('value' in a.result) writeJson(out, a.method, a.attributes, a.result.value);
        else writeFailure(out, a.result.failure, { ...a.attributes });
      });
    }
  });
}

/** nori's own attributes come last, so a plugin's note can never stand in for them. */
function writeFailure(out: string[], f: Failure, extra: Attrs): void {
  element(out, 'MESSAGE', { ...extra, msgType: MESSAGES[f.code].msgType, errorCode: f.code, line: f.line, column: f.column }, describe(f));
}

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>';

/** One command's answer (its RESULTS or MESSAGE) as a fragment of the RESPONSE, written as soon as it is known. */
export function buildAnswer(answer: Answer): string {
  const out: string[] = [];
  const o = answer.outcome;
  const common = { command: answer.verb, name: answer.name };
  if (o.kind === 'results') writeResults(out, answer, o);
  else if (o.kind === 'called') writeCalled(out, answer, o);
  else if (o.kind === 'failed') writeFailure(out, o.failure, { ...o.attributes, ...common, elementID: o.elementID });
  else element(out, 'MESSAGE', { ...o.attributes, ...common, msgType: 0, elementID: o.elementID, hits: o.hits }, describe({ code: o.code, params: o.params }));
  return out.join('');
}

/** What surrounds the answers of a RESPONSE; a batch with none is `<RESPONSE/>`. */
export const RESPONSE_OPEN = `${DECLARATION}<RESPONSE>`;
export const RESPONSE_CLOSE = '</RESPONSE>';

/** The RESPONSE of fragments built by buildAnswer, in order. */
export const joinResponse = (fragments: readonly string[]): string =>
  fragments.length ? RESPONSE_OPEN + fragments.join('') + RESPONSE_CLOSE : `${DECLARATION}<RESPONSE/>`;

/** The RESPONSE for a batch that ran: one RESULTS or MESSAGE per command, in order. */
export function buildResponse(answers: readonly Answer[]): string {
  return joinResponse(answers.map(buildAnswer));
}

/** The RESPONSE for a request refused as a whole (malformed XML, a limit, no API key). */
export function buildRequestFailure(f: Failure): string {
  const out: string[] = [DECLARATION];
  element(out, 'RESPONSE', undefined, (out) => writeFailure(out, f, {}));
  return out.join('');
}
