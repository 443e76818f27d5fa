/**
 * @module test/fuzz/response
 * What every answer of nori must be, whatever it was sent: a well-formed RESPONSE (read with xmldom, not with
 * nori's own parser) of RESULTS and MESSAGEs with known codes, under HTTP 200 or the 4xx of its one refusal,
 * never an INTERNAL_ERROR, and never one of the secrets it holds.
 */
import assert from 'node:assert/strict';
import { DOMParser, type Element } from '@xmldom/xmldom';
import { MESSAGES, type MessageCode } from '../../src/errors.js';

const children = (el: Element): Element[] => Array.from(el.childNodes).filter((n): n is Element => n.nodeType === 1);
/** Codes that only a bug can produce: a crash, or a secret nori wrote and cannot read. */
const NEVER: ReadonlySet<string> = new Set<MessageCode>(['INTERNAL_ERROR', 'SECRET_UNREADABLE']);

function checkMessage(m: Element, where: string): string | undefined {
  const code = m.getAttribute('errorCode');
  const msgType = m.getAttribute('msgType');
  const text = (m.textContent ?? '').trim();
  assert.ok(msgType !== null && /^[0-3]$/.test(msgType), `${where}: msgType ${msgType}`);
  if (code === null) {
    assert.equal(msgType, '0', `${where}: a failing MESSAGE without errorCode: ${text}`);
  } else {
    assert.ok(Object.hasOwn(MESSAGES, code), `${where}: unknown errorCode ${code}`);
    assert.ok(!NEVER.has(code), `${where}: ${code}: ${text}`);
    assert.equal(msgType, String(MESSAGES[code as MessageCode].msgType), `${where}: msgType of ${code}`);
  }
  assert.ok(text.length > 10 && text.endsWith('.'), `${where}: not a sentence: "${text}"`);
  return code ?? undefined;
}

/**
 * Checks one answer and returns what each command answered: the errorCode of a MESSAGE (CALL's per-account
 * ones included), or `VERB ok` for a success.
 * @example
 * const codes = checkResponse(r.status, await r.text(), secrets);
 */
export function checkResponse(status: number, xml: string, secrets: Iterable<string>): string[] {
  assert.ok(status === 200 || (status >= 400 && status < 500), `HTTP ${status}: ${xml.slice(0, 300)}`);
  for (const s of secrets) assert.ok(!xml.includes(s), `a secret is in the response: ${s}`);
  const errors: string[] = [];
  const doc = new DOMParser({ onError: (level, msg) => { if (level !== 'warning') errors.push(msg); } }).parseFromString(xml, 'text/xml');
  assert.deepEqual(errors, [], `not well-formed: ${xml.slice(0, 300)}`);
  const root = doc.documentElement;
  assert.equal(root?.tagName, 'RESPONSE', xml.slice(0, 300));
  for (const n of Array.from(root.childNodes)) assert.ok(n.nodeType === 1 || (n.nodeType === 3 && (n.nodeValue ?? '').trim() === ''), `stray content in RESPONSE: ${xml.slice(0, 300)}`);
  const codes: string[] = [];
  for (const [i, answer] of children(root).entries()) {
    assert.ok(answer.tagName === 'RESULTS' || answer.tagName === 'MESSAGE', `<${answer.tagName}> in RESPONSE`);
    if (answer.tagName === 'MESSAGE') {
      codes.push(checkMessage(answer, `answer ${i + 1}`) ?? `${answer.getAttribute('command')} ok`);
      continue;
    }
    codes.push(`${answer.getAttribute('command')} ok`);
    if (answer.getAttribute('command') === 'CALL') {
      // A CALL's RESULTS holds one WEBACCOUNT per account; a failed account holds its own MESSAGE.
      for (const account of children(answer)) {
        const message = children(account).find((c) => c.tagName === 'MESSAGE');
        const code = message && checkMessage(message, `answer ${i + 1}, account ${account.getAttribute('ID')}`);
        if (code) codes.push(code);
      }
    }
  }
  if (status !== 200) {
    assert.equal(children(root).length, 1, `HTTP ${status} refuses the request with one MESSAGE: ${xml.slice(0, 300)}`);
    const code = codes[0] ?? '';
    assert.ok(Object.hasOwn(MESSAGES, code) && MESSAGES[code as MessageCode].status === status, `HTTP ${status} for ${code}`);
  }
  return codes;
}
