/**
 * Oversized and deeply nested documents over HTTP, with the default limits: one past each limit is refused with
 * its LIMIT_* code (413 for the body, 400 for the rest) and quickly; exactly at the limit is not.
 */
import assert from 'node:assert/strict';
import pino from 'pino';
import type { Engine } from '../../src/engine.js';
import { createServer } from '../../src/http/server.js';
import { DEFAULT_LIMITS } from '../../src/xml/parse.js';
import { ADMIN, makeEngine } from '../helpers/engine.js';
import { expectError, only, replies } from '../helpers/xml.js';

const L = DEFAULT_LIMITS;
/** A document whose only content is what the limit counts; commands are unknown verbs, so nothing runs. */
const nested = (depth: number) => `<QUERY>${'<X>'.repeat(depth - 1)}${'</X>'.repeat(depth - 1)}</QUERY>`;
const elements = (n: number) => `<QUERY><X>${'<Y/>'.repeat(n - 2)}</X></QUERY>`;
const attributes = (n: number) => `<QUERY><X ${Array.from({ length: n }, (_, i) => `a${i}="1"`).join(' ')}/></QUERY>`;
const attributeOf = (n: number) => `<QUERY><X a="${'x'.repeat(n)}"/></QUERY>`;
const textOf = (n: number) => `<QUERY><X>${'x'.repeat(n)}</X></QUERY>`;
const commands = (n: number) => `<QUERY>${'<X/>'.repeat(n)}</QUERY>`;

const LIMITS: { name: string; code: string; at: string; over: string }[] = [
  { name: `nesting deeper than ${L.maxDepth}`, code: 'LIMIT_DEPTH', at: nested(L.maxDepth), over: nested(L.maxDepth + 1) },
  { name: `more than ${L.maxElements} elements`, code: 'LIMIT_ELEMENTS', at: elements(L.maxElements), over: elements(L.maxElements + 1) },
  { name: `more than ${L.maxAttributes} attributes`, code: 'LIMIT_ATTRIBUTES', at: attributes(L.maxAttributes), over: attributes(L.maxAttributes + 1) },
  { name: `an attribute longer than ${L.maxAttributeLength}`, code: 'LIMIT_ATTRIBUTE_LENGTH', at: attributeOf(L.maxAttributeLength), over: attributeOf(L.maxAttributeLength + 1) },
  { name: `a text longer than ${L.maxTextLength}`, code: 'LIMIT_TEXT_LENGTH', at: textOf(L.maxTextLength), over: textOf(L.maxTextLength + 1) },
  { name: `more than ${L.maxCommands} commands`, code: 'LIMIT_COMMANDS', at: commands(L.maxCommands), over: commands(L.maxCommands + 1) },
];

describe('security: oversized and deeply nested documents', function () {
  this.timeout(60_000);
  let engine: Engine;
  let base: string;
  let key: string;
  let close: () => Promise<void>;
  const post = async (body: BodyInit, type = 'application/xml') => {
    const started = Date.now();
    const res = await fetch(base, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': type }, body });
    return { status: res.status, text: await res.text(), ms: Date.now() - started };
  };

  before(async function () {
    this.timeout(60_000);
    engine = await makeEngine({ plugins: { builtins: false } });
    const app = createServer({ engine, logger: pino({ level: 'silent' }), maxBodyBytes: L.maxBytes });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    key = (await engine.keys.create({ contactId: ADMIN.contactId, admin: true })).key;
    close = async () => {
      await app.close();
      await engine.close();
    };
  });
  after(() => close());

  for (const limit of LIMITS) {
    it(`refuses ${limit.name} with ${limit.code}, and accepts the limit itself`, async () => {
      const over = await post(limit.over);
      assert.equal(over.status, 400, over.text.slice(0, 200));
      expectError(only(over.text), limit.code);
      assert.ok(over.ms < 3000, `refused in ${over.ms} ms`);
      const at = await post(limit.at);
      assert.equal(at.status, 200, at.text.slice(0, 200));
      for (const r of replies(at.text)) assert.ok(!r.attrs.errorCode?.startsWith('LIMIT_'), r.text);
    });
  }

  it(`refuses a body over ${L.maxBytes} bytes with 413, as XML and as a form, before parsing it`, async () => {
    // Blanks after the root: no element holds them, so only the size limit counts them.
    const padded = (n: number) => {
      const body = Buffer.alloc(n, 0x20);
      body.write('<QUERY/>');
      return body;
    };
    const over = await post(new Uint8Array(padded(L.maxBytes + 1)));
    assert.equal(over.status, 413);
    assert.match(expectError(only(over.text), 'LIMIT_BODY_SIZE').text, new RegExp(`limit of ${L.maxBytes} bytes`));
    assert.equal((await post(new Uint8Array(padded(L.maxBytes)))).status, 200, 'exactly the limit passes');
    // A form may be three times larger on the wire (percent-encoding); the document it carries is held to the limit.
    const form = await post(new URLSearchParams({ NQL: `<QUERY>${' '.repeat(L.maxBytes)}</QUERY>` }).toString(), 'application/x-www-form-urlencoded');
    assert.equal(form.status, 413);
    expectError(only(form.text), 'LIMIT_BODY_SIZE');
    const wire = await post(`NQL=${'%20'.repeat(L.maxBytes + 1)}`, 'application/x-www-form-urlencoded');
    assert.equal(wire.status, 413, 'a form that is too large even encoded');
  });

  it('refuses 100,000-deep nesting and a million attributes quickly, and keeps serving', async () => {
    const deep = await post('<QUERY>' + '<X>'.repeat(100_000) + '</X>'.repeat(100_000) + '</QUERY>');
    assert.equal(deep.status, 400);
    assert.equal(expectError(only(deep.text), 'LIMIT_DEPTH').attrs.column, String(L.maxDepth * 3 + 5), 'at the first element past the limit');
    assert.ok(deep.ms < 2000, `${deep.ms} ms`);
    const wide = await post(attributes(1_000_000).slice(0, L.maxBytes - 100) + '/></QUERY>');
    assert.equal(wide.status, 400);
    expectError(only(wide.text), 'LIMIT_ATTRIBUTES');
    assert.ok(wide.ms < 2000, `${wide.ms} ms`);
    assert.equal((await post('<QUERY><COUNT><WEBAPI/></COUNT></QUERY>')).status, 200);
  });
});
