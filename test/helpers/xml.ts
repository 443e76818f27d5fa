/**
 * Reading responses in tests with an independent parser (xmldom), so nori's own parser is not trusted to
 * check nori's output.
 */
import assert from 'node:assert/strict';
import { DOMParser, type Element } from '@xmldom/xmldom';

export interface Reply {
  readonly tag: 'RESULTS' | 'MESSAGE';
  readonly attrs: Record<string, string>;
  readonly text: string;
  /** For RESULTS: each element as { ID, fields by name }. */
  readonly elements: { type: string; id: string; fields: Record<string, string> }[];
}

function attributesOf(el: Element): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < el.attributes.length; i++) out[el.attributes[i]!.name] = el.attributes[i]!.value;
  return out;
}

const childElements = (el: Element): Element[] => Array.from(el.childNodes).filter((n): n is Element => n.nodeType === 1);

/** Parses a RESPONSE into one Reply per command, failing the test if it is not a well-formed RESPONSE. */
export function replies(xml: string): Reply[] {
  const errors: string[] = [];
  const doc = new DOMParser({ onError: (level, msg) => { if (level !== 'warning') errors.push(msg); } }).parseFromString(xml, 'text/xml');
  assert.deepEqual(errors, [], `response is not well-formed XML: ${xml.slice(0, 300)}`);
  const root = doc.documentElement!;
  assert.equal(root.tagName, 'RESPONSE');
  return childElements(root).map((el) => {
    assert.ok(el.tagName === 'RESULTS' || el.tagName === 'MESSAGE', `unexpected <${el.tagName}>`);
    const elements = el.tagName === 'RESULTS'
      ? childElements(el).map((e) => {
          const info = childElements(e).find((c) => c.tagName === 'INFO');
          const fields: Record<string, string> = {};
          for (const f of info ? childElements(info) : []) fields[f.tagName] = f.textContent ?? '';
          return { type: e.tagName, id: e.getAttribute('ID') ?? '', fields };
        })
      : [];
    return { tag: el.tagName as Reply['tag'], attrs: attributesOf(el), text: el.textContent ?? '', elements };
  });
}

/** The one reply of a one-command batch. */
export function only(xml: string): Reply {
  const all = replies(xml);
  assert.equal(all.length, 1, `expected one reply, got ${all.length}: ${xml.slice(0, 300)}`);
  return all[0]!;
}

/** Asserts a MESSAGE failure with this code (and msgType), returning it. */
export function expectError(reply: Reply, code: string, msgType = '1'): Reply {
  assert.equal(reply.tag, 'MESSAGE', `expected a MESSAGE ${code}, got ${JSON.stringify(reply)}`);
  assert.equal(reply.attrs.errorCode, code, `expected ${code}, got ${reply.attrs.errorCode}: ${reply.text}`);
  assert.equal(reply.attrs.msgType, msgType);
  assert.ok(reply.text.length > 10, 'a failure carries a human sentence');
  return reply;
}

export function expectOk(reply: Reply): Reply {
  assert.ok(reply.tag === 'RESULTS' || reply.attrs.msgType === '0', `expected success, got ${reply.attrs.errorCode}: ${reply.text}`);
  return reply;
}

export const q = (...commands: string[]) => `<QUERY>${commands.join('')}</QUERY>`;
export const qa = (...commands: string[]) => `<QUERY atomic="true">${commands.join('')}</QUERY>`;

/** One account's part of a CALL's RESULTS. */
export interface CallReply {
  readonly id: string;
  /** The method's element (e.g. <POSTMESSAGE>) on success. */
  readonly result?: Element;
  /** The account's MESSAGE on failure. */
  readonly message?: { readonly attrs: Record<string, string>; readonly text: string };
  readonly warnings: { readonly code: string; readonly text: string }[];
}

/** The accounts of a CALL's RESULTS (the only reply of the response), parsed with xmldom. */
export function callReplies(xml: string): CallReply[] {
  const reply = only(xml);
  assert.equal(reply.tag, 'RESULTS', `expected CALL results, got ${reply.attrs.errorCode}: ${reply.text}`);
  const doc = new DOMParser().parseFromString(xml, 'text/xml');
  const results = childElements(doc.documentElement!)[0]!;
  return childElements(results).map((account) => {
    const children = childElements(account);
    const message = children.find((c) => c.tagName === 'MESSAGE');
    const result = children.find((c) => c.tagName !== 'MESSAGE' && c.tagName !== 'WARNING');
    return {
      id: account.getAttribute('ID') ?? '',
      ...(result ? { result } : {}),
      ...(message ? { message: { attrs: attributesOf(message), text: message.textContent ?? '' } } : {}),
      warnings: children.filter((c) => c.tagName === 'WARNING').map((w) => ({ code: w.getAttribute('code') ?? '', text: w.textContent ?? '' })),
    };
  });
}

/** The one account's result element of a one-account CALL that succeeded. */
export function callResult(xml: string): Element {
  const [first, ...rest] = callReplies(xml);
  assert.equal(rest.length, 0, 'one account expected');
  assert.ok(first?.result, `expected a result, got ${JSON.stringify(first?.message)}`);
  return first.result;
}

/** Text of the first descendant element with this name (a path like "data/id" walks children). */
export function textAt(el: Element, path: string): string | undefined {
  let node: Element | undefined = el;
  for (const name of path.split('/')) node = node && childElements(node).find((c) => c.tagName === name);
  return node ? (node.textContent ?? '') : undefined;
}

export { childElements };
