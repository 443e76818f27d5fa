import assert from 'node:assert/strict';
import { NoriError, type MessageCode } from '../../src/errors.js';
import { DEFAULT_LIMITS, parseXml, type XmlLimits, type XmlNode } from '../../src/xml/parse.js';

/** The tree as plain data, for deepEqual. */
function plain(n: XmlNode): unknown {
  return { name: n.name, attributes: { ...n.attributes }, text: n.text, at: [n.line, n.column], children: n.children.map(plain) };
}

function refusal(body: string | Uint8Array, limits?: Partial<XmlLimits>): { code: MessageCode; line?: number | undefined; column?: number | undefined; message: string } {
  try {
    parseXml(body, { ...DEFAULT_LIMITS, ...limits });
  } catch (e) {
    assert.ok(e instanceof NoriError, `expected a NoriError, got ${String(e)}`);
    return { code: e.code, line: e.failure.line, column: e.failure.column, message: e.message };
  }
  assert.fail('the document was accepted');
}

describe('xml/parse', () => {
  const accepted: { name: string; xml: string | Uint8Array; expect: unknown }[] = [
    {
      name: 'elements, attributes and positions of each start tag',
      xml: '<QUERY>\n  <GET name="g"><WEBACCOUNT ID="2"/></GET>\n</QUERY>',
      expect: { name: 'QUERY', attributes: {}, text: '\n  \n', at: [1, 1], children: [
        { name: 'GET', attributes: { name: 'g' }, text: '', at: [2, 3], children: [{ name: 'WEBACCOUNT', attributes: { ID: '2' }, text: '', at: [2, 17], children: [] }] },
      ] },
    },
    {
      name: 'predefined entities, character references and CDATA as text',
      xml: '<A>x &amp; &lt;y&gt; &#233;&#x41;<![CDATA[<raw & kept>]]></A>',
      expect: { name: 'A', attributes: {}, text: 'x & <y> éA<raw & kept>', at: [1, 1], children: [] },
    },
    {
      name: 'comments and processing instructions ignored, UTF-8 declaration and BOM accepted',
      xml: '\uFEFF<?xml version="1.0" encoding="utf-8"?><!-- c --><A><?pi x?>t<!-- d --></A>',
      expect: { name: 'A', attributes: {}, text: 't', at: [1, 49], children: [] },
    },
    {
      name: 'bytes, decoded as UTF-8 with the BOM stripped',
      xml: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('<A b="é">ü</A>')]),
      expect: { name: 'A', attributes: { b: 'é' }, text: 'ü', at: [1, 1], children: [] },
    },
    {
      name: 'positions across CR LF, a lone CR, astral characters and line breaks inside start tags',
      xml: '<A>\r\n<B/>\r<C/>\n\u{1F600}<D/><E\nx="1"/><F\r\n/></A>',
      expect: { name: 'A', attributes: {}, text: '\n\n\n\u{1F600}', at: [1, 1], children: [
        { name: 'B', attributes: {}, text: '', at: [2, 1], children: [] },
        { name: 'C', attributes: {}, text: '', at: [3, 1], children: [] },
        { name: 'D', attributes: {}, text: '', at: [4, 2], children: [] },
        { name: 'E', attributes: { x: '1' }, text: '', at: [4, 6], children: [] },
        { name: 'F', attributes: {}, text: '', at: [5, 8], children: [] },
      ] },
    },
    {
      name: 'positions of XML 1.1, whose lines also break at NEL, LS and CR NEL',
      xml: '<?xml version="1.1"?><A>\u0085<B/>\u2028<C/>\r\u0085<D/><E\u0085x="1"/></A>',
      expect: { name: 'A', attributes: {}, text: '\n\n\n', at: [1, 22], children: [
        { name: 'B', attributes: {}, text: '', at: [2, 1], children: [] },
        { name: 'C', attributes: {}, text: '', at: [3, 1], children: [] },
        { name: 'D', attributes: {}, text: '', at: [4, 1], children: [] },
        { name: 'E', attributes: { x: '1' }, text: '', at: [4, 5], children: [] },
      ] },
    },
  ];
  for (const row of accepted) {
    it(`accepts ${row.name}`, () => assert.deepEqual(plain(parseXml(row.xml)), row.expect));
  }

  it('gives attributes a null prototype: __proto__ is only a key', () => {
    const root = parseXml('<A __proto__="x" constructor="y"/>');
    assert.equal(Object.getPrototypeOf(root.attributes), null);
    assert.deepEqual(Object.keys(root.attributes), ['__proto__', 'constructor']);
  });

  const refused: { name: string; xml: string | Uint8Array; limits?: Partial<XmlLimits>; code: MessageCode; at?: [number, number]; text?: RegExp }[] = [
    { name: 'a truncated document', xml: '<QUERY><GET>', code: 'XML_MALFORMED', at: [1, 13], text: /unclosed tag/ },
    { name: 'mismatched tags', xml: '<A>\n<B></C></A>', code: 'XML_MALFORMED', at: [2, 8] },
    { name: 'text outside the root', xml: '<A/>tail', code: 'XML_MALFORMED' },
    { name: 'an empty body', xml: '', code: 'XML_MALFORMED' },
    { name: 'a duplicate attribute', xml: '<A b="1" b="2"/>', code: 'XML_MALFORMED', text: /duplicate attribute: b/ },
    { name: 'an undefined entity', xml: '<A>&foo;</A>', code: 'XML_MALFORMED', text: /undefined entity/ },
    { name: 'a DOCTYPE without entities', xml: '<!DOCTYPE QUERY><QUERY/>', code: 'XML_FORBIDDEN_DECLARATION' },
    {
      name: 'billion laughs',
      xml: '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]><lolz>&lol3;</lolz>',
      code: 'XML_FORBIDDEN_DECLARATION',
    },
    { name: 'an external entity', xml: '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><QUERY>&e;</QUERY>', code: 'XML_FORBIDDEN_DECLARATION' },
    { name: 'a non-UTF-8 declared encoding', xml: '<?xml version="1.0" encoding="ISO-8859-1"?><A/>', code: 'XML_ENCODING', text: /ISO-8859-1/ },
    { name: 'invalid UTF-8 bytes', xml: Buffer.from([0x3c, 0x41, 0x3e, 0xff, 0xfe, 0x3c, 0x2f, 0x41, 0x3e]), code: 'XML_ENCODING' },
    { name: 'a body over maxBytes (string)', xml: '<A>' + 'é'.repeat(60) + '</A>', limits: { maxBytes: 100 }, code: 'LIMIT_BODY_SIZE' },
    { name: 'nesting deeper than maxDepth', xml: '<A><B><C><D/></C></B></A>', limits: { maxDepth: 3 }, code: 'LIMIT_DEPTH', at: [1, 10] },
    { name: 'more elements than maxElements', xml: '<A><B/><B/><B/></A>', limits: { maxElements: 3 }, code: 'LIMIT_ELEMENTS' },
    { name: 'more root children than maxCommands', xml: '<Q><C/><C/><C/></Q>', limits: { maxCommands: 2 }, code: 'LIMIT_COMMANDS', at: [1, 12] },
    { name: 'more attributes than maxAttributes', xml: '<A a="1" b="2" c="3"/>', limits: { maxAttributes: 2 }, code: 'LIMIT_ATTRIBUTES', text: /<A> has more than the limit of 2 attributes/ },
    { name: 'an attribute longer than maxAttributeLength', xml: `<A a="${'x'.repeat(11)}"/>`, limits: { maxAttributeLength: 10 }, code: 'LIMIT_ATTRIBUTE_LENGTH', text: /Attribute a is longer/ },
    { name: 'text longer than maxTextLength, even split by CDATA and entities', xml: '<A>aaaa<![CDATA[bbbb]]>&amp;&amp;&amp;</A>', limits: { maxTextLength: 10 }, code: 'LIMIT_TEXT_LENGTH' },
  ];
  for (const row of refused) {
    it(`refuses ${row.name}`, () => {
      const r = refusal(row.xml, row.limits);
      assert.equal(r.code, row.code, r.message);
      if (row.at) assert.deepEqual([r.line, r.column], row.at, r.message);
      if (row.text) assert.match(r.message, row.text);
    });
  }

  it('counts text per element: long text spread over many elements passes', () => {
    const root = parseXml(`<A>${'<B>12345678</B>'.repeat(5)}</A>`, { ...DEFAULT_LIMITS, maxTextLength: 10 });
    assert.equal(root.children.length, 5);
  });

  it('refuses 10,000-deep nesting with the default limits', () => {
    const r = refusal('<A>'.repeat(10_000) + '</A>'.repeat(10_000));
    assert.equal(r.code, 'LIMIT_DEPTH');
    assert.equal(r.line, 1);
    assert.equal(r.column, DEFAULT_LIMITS.maxDepth * 3 + 1);
  });

  it('refuses a 50 MB body on its size, before decoding it', () => {
    const body = Buffer.alloc(50 * 1024 * 1024, 0x20);
    body.write('<QUERY>');
    assert.equal(refusal(body).code, 'LIMIT_BODY_SIZE');
  });

  it('refuses a start tag with a million attributes at the first one past the limit', () => {
    const parts: string[] = ['<A'];
    for (let i = 0; i < 1_000_000; i++) parts.push(` a${i}="1"`);
    parts.push('/>');
    const xml = parts.join('');
    const r = refusal(xml, { maxBytes: xml.length + 1 });
    assert.equal(r.code, 'LIMIT_ATTRIBUTES');
    assert.match(r.message, new RegExp(`limit of ${DEFAULT_LIMITS.maxAttributes} attributes`));
  });
});
