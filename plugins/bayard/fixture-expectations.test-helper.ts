/**
 * @module plugins/bayard/fixture-expectations
 * For the fixture-driven test: which CALL each example request of test/fixtures/bayard/index.json is, and what
 * its result must say, derived from the example's XML by the rule of docs/plugins/bayard.md ("Results"),
 * written here on the test's own parser (xmldom) so the plugin's reader is not trusted to check itself.
 */
import type { Element } from '@xmldom/xmldom';
import { childElements } from '../../test/helpers/xml.js';
import type { XmlNode } from '../../test/peers/bayard/xml-tree.js';
import type { Params } from './harness.test-helper.js';

export interface IndexEntry {
  readonly operation: string;
  readonly case: string;
  readonly request: { readonly method: string; readonly path: string; readonly concretePath?: string; readonly form?: Readonly<Record<string, string>> };
  readonly response?: string;
  readonly note?: string;
}

/** Data as the comparison sees it: nori writes arrays as ITEMs, and an empty list or object as an empty element. */
export type Plain = string | Plain[] | { [key: string]: Plain };

/** A CALL's result element as data: ITEM children are an array, other children an object, a leaf its text. */
export function readResult(el: Element): Plain {
  const kids = childElements(el);
  if (!kids.length) return el.textContent ?? '';
  if (kids.every((k) => k.tagName === 'ITEM')) return kids.map(readResult);
  return Object.fromEntries(kids.map((k) => [k.tagName, readResult(k)]));
}

/** What nori writes for a value, read back: [] and {} are empty elements. */
export function normalize(v: unknown): Plain {
  if (Array.isArray(v)) return v.length ? v.map(normalize) : '';
  if (typeof v === 'object' && v !== null) return Object.keys(v).length ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, normalize(x)])) : '';
  return String(v);
}

/** The CALL for an example: [method, params], from the request's decoded path arguments and form. */
type ToCall = (args: readonly string[], form: Readonly<Record<string, string>>, password: (hash: string) => string) => [string, Params];
export const TO_CALL: Readonly<Record<string, ToCall>> = {
  'user/lookup': ([id]) => ['LOOKUP', { IDENTIFIER: id! }],
  'user/login': ([email, hash], _f, password) => ['LOGIN', { EMAIL: email!, PASSWORD: password(hash!) }],
  'user/forgot_password': ([email]) => ['FORGOTPASSWORD', { EMAIL: email! }],
  'user/create': ([email], form) => ['CREATEACCOUNT', { EMAIL: email!, ...(Object.keys(form).length ? { FIELDS: form } : {}) }],
  'user/set_password': ([email], form) => ['SETPASSWORD', { EMAIL: email!, PASSWORD: form.password! }],
  // The list goes as the example has it (",," and " NAME" included): nori's list parameter drops and trims.
  'user/get': ([email, fields]) => ['GETFIELDS', { EMAIL: email!, FIELDS: fields! }],
  'user/set': ([email], form) => ['SETFIELDS', { EMAIL: email!, FIELDS: form }],
  'user/create_child': ([pseudo, code, parent]) => ['CREATECHILD', { PSEUDO: pseudo!, SECRET_CODE: code!, PARENT: parent! }],
  'user/child_pseudo_exist': ([pseudo]) => ['CHILDPSEUDOEXISTS', { PSEUDO: pseudo! }],
  'user/child_accounts': ([parent, fields]) => ['CHILDACCOUNTS', { IDENTIFIER: parent!, FIELDS: fields! }],
  'user/parent_accounts': ([child]) => ['PARENTACCOUNTS', { IDENTIFIER: child! }],
  'user/child_login': ([pseudo, code]) => ['CHILDLOGIN', { PSEUDO: pseudo!, SECRET_CODE: code! }],
  'advantage/search': ([name, first, postal, country]) => ['ADVANTAGESEARCH', { NAME: name!, FIRSTNAME: first!, POSTAL_CODE: postal!, COUNTRY: country!, MANY: 'false' }],
  'advantage/search_many': ([name, first, postal, country]) => ['ADVANTAGESEARCH', { NAME: name!, FIRSTNAME: first!, POSTAL_CODE: postal!, COUNTRY: country! }],
  'access/get': ([email, host]) => ['GETACCESS', { EMAIL: email!, HOST_CODE: host! }],
  'advantage/all_subscriptions': ([id]) => ['ALLSUBSCRIPTIONS', { IDENTIFIER: id! }],
  'advantage/all_subscriptions_an': ([n]) => ['ALLSUBSCRIPTIONSAN', { NUMBER: n! }],
  'advantage/subscription_list': ([n]) => ['SUBSCRIPTIONLIST', { NUMBER: n! }],
  'advantage/subscription_list_active': ([n]) => ['SUBSCRIPTIONLISTACTIVE', { NUMBER: n! }],
  'advantage/subscription_gifts_list': ([n]) => ['SUBSCRIPTIONGIFTSLIST', { NUMBER: n! }],
  'advantage/subscription_gifts_list_active': ([n]) => ['SUBSCRIPTIONGIFTSLISTACTIVE', { NUMBER: n! }],
};

const OUTCOMES: Readonly<Record<string, string>> = { RESPONSE_SUCCESS: 'success', RESPONSE_FAILURE: 'failure', RESPONSE_WARNING: 'warning' };
const find = (n: XmlNode, name: string) => n.children.find((c) => c.name === name);
/** Children by name, `read` each; a name given more than once is the list of every occurrence, in order. */
function byName(n: XmlNode, read: (c: XmlNode) => Plain): Record<string, Plain> {
  const named = new Map<string, Plain[]>();
  for (const c of n.children) named.set(c.name, [...(named.get(c.name) ?? []), read(c)]);
  return Object.fromEntries([...named].map(([k, v]) => [k, v.length === 1 ? v[0]! : v]));
}
const data = (n: XmlNode): Plain => (n.children.length ? byName(n, data) : n.text);

/** A field: its value, its error code, or its validation error with the value and the description. */
function field(n: XmlNode): Plain {
  const [detail] = n.children;
  if (detail) return { error: detail.name, ...Object.fromEntries(detail.children.map((c) => [c.name, c.text])) };
  return n.text.startsWith('ERROR_EAV_') ? { error: n.text } : { value: n.text };
}
const fields = (n: XmlNode) => byName(n, field);
const item = (n: XmlNode): Plain => byName(n, (c) => (c.name === 'fields' ? fields(c) : data(c)));
/** One item as itself, several as key_N inside one element, none as nothing. */
const list = (n: XmlNode): Plain[] => n.children.flatMap((c) => (c.children.length && c.children.every((k) => /^key_\d+$/.test(k.name)) ? c.children : [c])).map((c) => (c.children.length ? item(c) : c.text));

/** What the result of `method` must be for an example's XML (the method element is the one holding <status>). */
export function expectedResult(root: XmlNode, method: string): Plain {
  const m = root.children.find((c) => find(c, 'status'))!;
  const response = find(m, 'response');
  const out: Record<string, Plain> = { outcome: response ? OUTCOMES[response.text]! : 'success' };
  if (method === 'CHILDPSEUDOEXISTS') out.exists = String(out.outcome === 'success');
  const user = find(m, 'user');
  if (user && user.children.length) out.user = data(user);
  else if (user) out.error = user.text;
  const f = find(m, 'fields');
  if (f) out.fields = fields(f);
  const keyed = m.children.filter((c) => /^key_\d+$/.test(c.name)).map(item);
  const itemsName = method === 'CHILDACCOUNTS' ? 'children' : method === 'PARENTACCOUNTS' ? 'parents' : undefined;
  if (itemsName && out.outcome !== 'failure') out[itemsName] = keyed;
  const search = find(m, 'SearchResult');
  if (search) for (const c of search.children) out[c.name] = c.text;
  const access = find(m, 'CustomerAccess');
  if (access) for (const c of access.children) out[c.name] = list(c);
  return normalize(out);
}
