/**
 * @module sdk/xml
 * One reader for every XML service: an answer as data a method can return (docs/plugins.md, "XML answers").
 * Parsed by nori's hardened parser (xml/parse: no DOCTYPE, so no entity is declared or expanded; bounded depth,
 * attributes and text), then read by one rule:
 * - an element with neither attributes nor child elements is its text, as sent;
 * - any other element is an object: its attributes as `@name` keys (document order), its own text as `#text` when
 *   it has some beyond layout whitespace, then its child elements by name, in the order the names first appear;
 * - a name that appears more than once among siblings is a list of every occurrence, in order.
 * Objects are built with own data properties only, so `__proto__` or `constructor` are names like any other.
 */
import { NoriError } from '../errors.js';
import { DEFAULT_LIMITS, parseXml, type XmlLimits, type XmlNode } from '../xml/parse.js';
import { BadResponse } from './define.js';

/** What an XML element reads as: its text, or an object of `@attributes`, `#text` and children. */
export type XmlValue = string | XmlObject;
export interface XmlObject {
  readonly [name: string]: XmlValue | readonly XmlValue[];
}

/**
 * The limits a service's answer is parsed within. The body is already bounded by NORI_MAX_RESPONSE_BYTES; a
 * service's list may hold more elements than a request may, but never deeper, wider or longer ones.
 */
export const SERVICE_XML_LIMITS: Readonly<Omit<XmlLimits, 'maxBytes'>> = Object.freeze({
  maxDepth: DEFAULT_LIMITS.maxDepth,
  maxElements: 1_000_000,
  maxAttributes: DEFAULT_LIMITS.maxAttributes,
  maxAttributeLength: DEFAULT_LIMITS.maxAttributeLength,
  maxTextLength: DEFAULT_LIMITS.maxTextLength,
  maxCommands: Number.MAX_SAFE_INTEGER,
});

/**
 * A service's answer as an element tree; what `response.xml()` gives. Throws BadResponse (the CALL answers
 * SERVICE_BAD_RESPONSE) naming the parser's code: XML_MALFORMED, XML_FORBIDDEN_DECLARATION, LIMIT_DEPTH…
 */
export function parseServiceXml(body: string | Uint8Array): XmlNode {
  const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  try {
    return parseXml(body, { ...SERVICE_XML_LIMITS, maxBytes: Math.max(bytes, 1) });
  } catch (e) {
    if (!(e instanceof NoriError)) throw e;
    const f = e.failure;
    const what = f.code.startsWith('LIMIT_') ? 'the body\'s XML is beyond nori\'s limits' : 'the body is not well-formed XML';
    throw new BadResponse(`${what} (${f.code}${f.line === undefined ? '' : ` at line ${f.line}, column ${f.column}`})`);
  }
}

/**
 * The child elements of `el` by name, each read by `read`; a name given more than once is the list of its
 * readings, in order. Linear in the number of children.
 * @example
 * xmlChildren(fields, (f) => ({ value: f.text })) // { NAME: { value: 'Nilly' }, PHONE: [{ value: '1' }, { value: '2' }] }
 */
export function xmlChildren<T>(el: XmlNode, read: (child: XmlNode) => T): { [name: string]: T | T[] } {
  const byName = new Map<string, T[]>();
  for (const c of el.children) {
    const seen = byName.get(c.name);
    if (seen) seen.push(read(c));
    else byName.set(c.name, [read(c)]);
  }
  // fromEntries defines own properties: a child named __proto__ is a key, never the object's prototype.
  return Object.fromEntries([...byName].map(([name, values]) => [name, values.length === 1 ? values[0]! : values]));
}

/**
 * An element as data, by the rule above; `read` reads its child elements (default: this same rule), for a plugin
 * that gives some elements a meaning of its own.
 * @example
 * xmlData(parseXml('<personalData family="contact"><email>a@x</email><email>b@x</email></personalData>'))
 * // { '@family': 'contact', email: ['a@x', 'b@x'] }
 */
export function xmlData(el: XmlNode): XmlValue;
export function xmlData<T>(el: XmlNode, read: (child: XmlNode) => T): string | { [name: string]: string | T | T[] };
export function xmlData(el: XmlNode, read: (child: XmlNode) => unknown = xmlData): unknown {
  const attributes = Object.entries(el.attributes);
  if (!attributes.length && !el.children.length) return el.text;
  const own: [string, string][] = attributes.map(([name, value]) => [`@${name}`, value]);
  // Between child elements, whitespace is the document's layout; an element without children keeps its text as sent.
  if (el.children.length ? el.text.trim() !== '' : el.text !== '') own.push(['#text', el.text]);
  return { ...Object.fromEntries(own), ...xmlChildren(el, read) };
}

/**
 * A whole answer as data: `{ <root name>: <root's data> }`. Throws BadResponse as parseServiceXml does.
 * @example
 * readXml('<Subscriptions><Subscription>PAP</Subscription><Subscription>PEL</Subscription></Subscriptions>')
 * // { Subscriptions: { Subscription: ['PAP', 'PEL'] } }
 */
export function readXml(body: string | Uint8Array): XmlObject {
  const root = parseServiceXml(body);
  return Object.fromEntries([[root.name, xmlData(root)]]);
}
