/**
 * @module test/peers/bayard/zend-xml
 * What the Bayard service's framework does around its methods. The answers' `generator="zend"` root, the
 * `<status>success</status>` appended last and the `key_0`, `key_1` elements are Zend Framework 1's
 * Zend_Rest_Server: a method returns a PHP array, serialized by DOMDocument (class element, method element, one
 * element per key, numeric keys as `key_N`); an exception becomes a "fault" (HTTP 400, or 404 for an unknown
 * method, `<response><message>…</message></response><status>failed</status>`). Path parameters are decoded like
 * Zend_Controller_Router_Route does: split on '/', then PHP urldecode() per segment, where '+' means a space.
 */
import type { PeerResponse } from '../http-peer.js';

/** A PHP value as a method returns it. Arrays serialize as key_0, key_1…; objects keep their key order. */
export type Value = string | number | boolean | null | readonly Value[] | { readonly [key: string]: Value };
export type Struct = { readonly [key: string]: Value };

export type ApiClass = 'ApiUser' | 'ApiAdvantage' | 'ApiAccess';

/** An uncaught PHP error: the service answers HTTP 500 with PHP's HTML error output. */
export class PhpFatal extends Error {}

const XML_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function element(key: string, value: Value): string {
  // DOMDocument::createElement throws "Invalid Character Error" for a key that is no XML name, outside any try.
  if (!XML_NAME.test(key)) throw new PhpFatal(`Uncaught exception 'DOMException' with message 'Invalid Character Error' (element <${key}>)`);
  if (value !== null && typeof value === 'object') {
    const entries: [string, Value][] = Array.isArray(value) ? value.map((v: Value, i) => [`key_${i}`, v]) : Object.entries(value);
    // An element without children is written <x/>; a scalar always gets a text node, so an empty one is <x></x>.
    return entries.length === 0 ? `<${key}/>` : `<${key}>${entries.map(([k, v]) => element(k, v)).join('')}</${key}>`;
  }
  const text = value === true ? '1' : value === false ? '0' : value === null ? '' : String(value);
  return `<${key}>${escape(text)}</${key}>`;
}

const document = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${body}\n`;
const XML_TYPE = { 'content-type': 'text/xml; charset=utf-8' };

/** Zend_Rest_Server::_handleStruct: `<Class generator="zend" version="1.0"><method>…<status>success</status></method></Class>`. */
export function zendAnswer(api: ApiClass, method: string, struct: Struct): PeerResponse {
  const inner = Object.entries(struct).map(([k, v]) => element(k, v)).join('') + ('status' in struct ? '' : '<status>success</status>');
  return { status: 200, headers: XML_TYPE, body: document(`<${api} generator="zend" version="1.0"><${method}>${inner}</${method}></${api}>`) };
}

/**
 * Zend_Rest_Server::fault: HTTP 400 (404 for an unknown method) and status "failed". Without a class (an unknown
 * method) the method element is the root.
 */
export function zendFault(api: ApiClass | null, method: string, message: string, status: 400 | 404 = 400): PeerResponse {
  const inner = `<response><message>${escape(message)}</message></response><status>failed</status>`;
  const body = api ? `<${api} generator="zend" version="1.0"><${method}>${inner}</${method}></${api}>` : `<${method} generator="zend" version="1.0">${inner}</${method}>`;
  return { status, headers: XML_TYPE, body: document(body) };
}

/** PHP's output for an uncaught error with display_errors on, as a broken backend answers. */
export function phpFatalPage(message: string, file: string, line: number): PeerResponse {
  const body = `<br />\n<b>Fatal error</b>:  ${escape(message)} in <b>${file}</b> on line <b>${line}</b><br />\n`;
  return { status: 500, headers: { 'content-type': 'text/html; charset=UTF-8', 'x-powered-by': 'PHP/5.3.3' }, body };
}

/** The framework's page for a URL no route matches (an unknown module, too many segments). */
export const notFoundPage = (path: string): PeerResponse => ({
  status: 404,
  headers: { 'content-type': 'text/html; charset=UTF-8' },
  body: `<html><head><title>404 Not Found</title></head><body><h1>An error occurred</h1><h2>Page not found</h2><p>${escape(path)}</p></body></html>\n`,
});

/** PHP urldecode(): '+' is a space, %XX a byte; malformed escapes stay as they are. Bytes are read as UTF-8. */
export function phpUrldecode(segment: string): string {
  const bytes: number[] = [];
  const raw = Buffer.from(segment.replace(/\+/g, ' '), 'utf8');
  for (let i = 0; i < raw.length; i++) {
    const hex = raw.subarray(i + 1, i + 3).toString('latin1');
    if (raw[i] === 0x25 && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else bytes.push(raw[i]!);
  }
  return Buffer.from(bytes).toString('utf8');
}

/** PHP's $_POST: form-encoded or multipart bodies (PHP's curl sends an array as multipart), files ignored. */
export async function postFields(contentType: string | undefined, body: Buffer): Promise<[string, string][]> {
  if (!contentType || body.length === 0) return [];
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(contentType)) return [];
  try {
    const form = await new Response(new Uint8Array(body), { headers: { 'content-type': contentType } }).formData();
    return [...form].filter((e): e is [string, string] => typeof e[1] === 'string');
  } catch {
    return []; // PHP leaves $_POST empty for a body it cannot parse
  }
}
