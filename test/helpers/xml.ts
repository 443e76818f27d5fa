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
