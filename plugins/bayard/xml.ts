/**
 * @module plugins/bayard/xml
 * Reads the service's answers, Zend_Rest_Server XML: `<ApiUser generator="zend"><method>…<status>success</status>
 * </method></ApiUser>`, into results. One rule for every method (docs/plugins/bayard.md, "Results"):
 * - `outcome` is the service's own answer to the question: RESPONSE_SUCCESS → success, RESPONSE_FAILURE →
 *   failure, RESPONSE_WARNING → warning; an answer without `<response>` (Advantage, access) is a success.
 * - `<user>` with elements is the `user`; with a code only (ERROR_USER_EXISTS, ERROR_USER_NOT_EXIST) it is `error`.
 * - `<fields>` become one entry per field: `{ value }`, or `{ error }`, or `{ error: 'validation_error', value, description }`.
 * - key_0, key_1… (a PHP array as Zend writes it) become an array, named per method (children, parents).
 * - SoapClient lists (…List holding one item, or one element holding key_N items, or nothing) become arrays.
 * - Everything else is the SDK's one reading of XML (xmlData): an element repeated among its siblings is the list of
 *   every occurrence, in order, wherever it is (inside <user>, <fields>, a list item, the method itself), and
 *   attributes are kept as `@name`.
 * `<status>failed</status>` is a Zend fault: the method threw, and there is no answer to the question. Any other
 * status but `success` is a failure too (STATUS_NOT_SUCCESS), never an answer.
 */
import { ServiceError, xmlChildren, xmlData, type ResultValue, type ServiceFailure, type XmlElement } from '../../src/sdk/index.js';

export type Outcome = 'success' | 'failure' | 'warning';
export type Result = { [key: string]: ResultValue };

const OUTCOMES: ReadonlyMap<string, Outcome> = new Map([
  ['RESPONSE_SUCCESS', 'success'],
  ['RESPONSE_FAILURE', 'failure'],
  ['RESPONSE_WARNING', 'warning'],
]);
const KEY = /^key_\d+$/;
// A field's value and its error share one element in get's answer; only the EAV codes the spec lists are errors.
const FIELD_ERROR = /^ERROR_EAV_[A-Z0-9_]+$/;
const CODE = /^[A-Z][A-Z0-9_]*$/;
// The url_key and MD5 hashes are 32 hexadecimal characters: never let one through into a message.
const HEX32 = /[0-9a-f]{32}/gi;

export const redact = (s: string) => s.replace(HEX32, '[redacted]');
const child = (el: XmlElement, name: string) => el.children.find((c) => c.name === name);
const trimmed = (el: XmlElement) => el.text.trim();

/** The method element: the one holding <status> (the spec shows a stray <SCRIPT/> beside it); a fault without class is the root itself. */
function methodOf(root: XmlElement): XmlElement | undefined {
  return root.children.find((c) => child(c, 'status')) ?? (child(root, 'status') ? root : undefined);
}

/**
 * The service's failure, if the answer is one: any `<status>` but `success` ("un statut success indique que
 * l'application SSO a fonctionné correctement"; nothing else does). A Zend fault is `failed`, with its message in
 * `<response><message>`; for another status the message is the first of `<response><message>`, `<message>`,
 * `<response>`. Surrounding whitespace aside, the status is compared exactly: `Success` is not what Zend writes.
 */
export function faultOf(root: XmlElement): ServiceFailure | undefined {
  const method = methodOf(root);
  const status = method && trimmed(child(method, 'status')!);
  if (!method || status === 'success') return undefined;
  const response = child(method, 'response');
  const message = (response && child(response, 'message')) ?? child(method, 'message') ?? response;
  const text = (message && trimmed(message)) || 'no message';
  if (status === 'failed') return faultFailure(text);
  return { error: 'STATUS_NOT_SUCCESS', message: redact(text).slice(0, 300), data: `status "${redact(status!).slice(0, 40)}"` };
}

/** What a Zend fault means, for SERVICE_ERROR's serviceError and serviceMessage, or for AUTHORIZE's reason. */
function faultFailure(message: string): ServiceFailure {
  if (message === 'ERROR_URL_KEY') return { error: message, message: 'the service does not know the WEBACCOUNT\'s TOKEN as a url_key, or not from this IP address', rejectsCredentials: true };
  return CODE.test(message) ? { error: message } : { error: 'ZEND_FAULT', message: redact(message).slice(0, 300) };
}

/** A field's detail element (validation_error): its name is the error, its children the details. */
const detailOf = (detail: XmlElement): ResultValue => ({ error: detail.name, ...xmlChildren(detail, xmlData) });

/** A field: its value, its error code, or its detail (a list of them, should the service give several). */
function fieldOf(el: XmlElement): ResultValue {
  if (el.children.length) return el.children.length === 1 ? detailOf(el.children[0]!) : el.children.map(detailOf);
  return FIELD_ERROR.test(trimmed(el)) ? { error: trimmed(el) } : { value: el.text };
}
const fieldsOf = (el: XmlElement) => xmlChildren(el, fieldOf);

/** One item of a list or of key_N: its data, `fields` read as fields. */
const itemOf = (el: XmlElement): ResultValue => xmlData(el, (c) => (c.name === 'fields' ? fieldsOf(c) : xmlData(c)));

/** PHP's SoapClient gives one item as itself and several as an array, which Zend writes as key_N inside one element. */
const listOf = (el: XmlElement): ResultValue[] =>
  el.children.flatMap((c) => (c.children.length > 0 && c.children.every((k) => KEY.test(k.name)) ? c.children : [c])).map(itemOf);

type Entries = readonly (readonly [string, ResultValue])[];
const entriesOf = (data: ResultValue): Entries => (typeof data === 'object' && data !== null && !Array.isArray(data) ? Object.entries(data) : []);

/** What each element of a method's answer adds to the result; any other element is its data under its name. */
const READERS: ReadonlyMap<string, (el: XmlElement) => Entries> = new Map<string, (el: XmlElement) => Entries>([
  ['status', () => []],
  ['response', () => []],
  ['user', (el) => [el.children.length ? ['user', xmlData(el)] : ['error', trimmed(el)]]],
  ['fields', (el) => [['fields', fieldsOf(el)]]],
  ['SearchResult', (el) => entriesOf(xmlData(el))],
  ['CustomerAccess', (el) => entriesOf(xmlChildren(el, listOf))],
  ['SubscriptionList', (el) => [['SubscriptionList', listOf(el)]]],
]);

/**
 * The result of an answer. `items` names the array key_N elements go into (children, parents).
 * @example
 * readAnswer(res.xml()) // { outcome: 'success', user: { email: 'cedric@nilly.fr', id: '33', registered: 'FULL' } }
 */
export function readAnswer(root: XmlElement, items = 'items'): Result {
  const method = methodOf(root);
  if (!method) throw new ServiceError({ error: 'UNEXPECTED_ANSWER', message: `<${root.name}> holds no <status>: not an answer of the Bayard webservices` });
  const fault = faultOf(root);
  if (fault !== undefined) throw new ServiceError(fault);
  const response = child(method, 'response');
  const outcome = response ? OUTCOMES.get(trimmed(response)) : 'success';
  if (!outcome) throw new ServiceError({ error: 'UNEXPECTED_ANSWER', message: `unknown response ${redact(trimmed(response!)).slice(0, 60)}` });
  // A name given twice (two <message>, a container's children spread twice) is the list of both, in order.
  const read = new Map<string, ResultValue[]>();
  const add = (name: string, value: ResultValue) => {
    const seen = read.get(name);
    if (seen) seen.push(value);
    else read.set(name, [value]);
  };
  const keyed: ResultValue[] = [];
  for (const el of method.children) {
    const reader = READERS.get(el.name);
    if (reader) for (const [name, value] of reader(el)) add(name, value);
    else if (KEY.test(el.name)) keyed.push(itemOf(el));
    else add(el.name, xmlData(el));
  }
  const out: Result = { outcome, ...Object.fromEntries([...read].map(([name, values]) => [name, values.length === 1 ? values[0] : values])) };
  // An answer to the question lists its items, none included; a failure lists nothing.
  if (keyed.length || (items !== 'items' && outcome !== 'failure')) out[items] = keyed;
  return out;
}
