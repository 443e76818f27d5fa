/**
 * The SDK's one reader of services' XML answers (src/sdk/xml.ts), as a data table: each document and the data it
 * must read as, then what a hostile answer gets (refused with the parser's code, or read without surprises).
 */
import assert from 'node:assert/strict';
import { isBadResponse, readXml, xmlChildren, xmlData } from '../../src/sdk/index.js';
import { parseXml } from '../../src/xml/parse.js';

const READS: readonly { readonly what: string; readonly xml: string; readonly expect: unknown }[] = [
  { what: 'a leaf is its text, as sent', xml: '<a>  x </a>', expect: { a: '  x ' } },
  { what: 'an empty element is empty text', xml: '<a/>', expect: { a: '' } },
  {
    what: 'a repeated element is every occurrence, in order',
    xml: '<Subscriptions><Subscription><Code>PAP</Code></Subscription><Subscription><Code>PEL</Code></Subscription></Subscriptions>',
    expect: { Subscriptions: { Subscription: [{ Code: 'PAP' }, { Code: 'PEL' }] } },
  },
  {
    what: 'names keep the order they first appear in; each repeated name its own order',
    xml: '<r><a>1</a><b>x</b><a>2</a><c/><a>3</a></r>',
    expect: { r: { a: ['1', '2', '3'], b: 'x', c: '' } },
  },
  {
    what: 'attributes are @name keys, first and in document order',
    xml: '<personalData family="contact" kind="full"><email>e@x</email></personalData>',
    expect: { personalData: { '@family': 'contact', '@kind': 'full', email: 'e@x' } },
  },
  { what: 'an element with attributes and text has #text', xml: '<n unit="kg">12</n>', expect: { n: { '@unit': 'kg', '#text': '12' } } },
  { what: 'an element with attributes only has no #text', xml: '<n unit="kg"/>', expect: { n: { '@unit': 'kg' } } },
  {
    what: 'repeated elements keep their attributes',
    xml: '<contacts user="u1"><contact type="home"><email>a</email></contact><contact type="work"><email>b</email></contact></contacts>',
    expect: { contacts: { '@user': 'u1', contact: [{ '@type': 'home', email: 'a' }, { '@type': 'work', email: 'b' }] } },
  },
  {
    what: 'whitespace between child elements is layout, not text',
    xml: '<r>\n  <a>1</a>\n  <a>2</a>\n</r>',
    expect: { r: { a: ['1', '2'] } },
  },
  {
    what: 'mixed content: the element\'s own text pieces joined as #text, its elements beside it',
    xml: '<p>Hello <b>big</b> world</p>',
    expect: { p: { '#text': 'Hello  world', b: 'big' } },
  },
  { what: 'CDATA and character references are text', xml: '<a><![CDATA[<b>]]>&lt;&amp;&#x41;&#233;</a>', expect: { a: '<b><&Aé' } },
  { what: 'comments and processing instructions are not data', xml: '<a><!-- no -->x<?pi no?>y</a>', expect: { a: 'xy' } },
];

describe('the SDK\'s XML reader', () => {
  for (const c of READS) {
    it(c.what, () => {
      assert.deepStrictEqual(readXml(c.xml), c.expect);
      assert.deepStrictEqual(readXml(Buffer.from(c.xml)), c.expect, 'bytes read as the text does');
    });
  }

  it('xmlData reads an element already parsed, xmlChildren its children with a reader of the plugin\'s own', () => {
    const root = parseXml('<fields><NAME>Nilly</NAME><PHONE>1</PHONE><PHONE>2</PHONE></fields>');
    assert.deepStrictEqual(xmlData(root), { NAME: 'Nilly', PHONE: ['1', '2'] });
    assert.deepStrictEqual(xmlChildren(root, (el) => ({ value: el.text })), { NAME: { value: 'Nilly' }, PHONE: [{ value: '1' }, { value: '2' }] });
  });

  it('an element or attribute named __proto__ is data like any other, and no prototype changes', () => {
    const data = readXml('<r __proto__="a"><__proto__><polluted>yes</polluted></__proto__><__proto__>2</__proto__><constructor>c</constructor></r>') as Record<string, Record<string, unknown>>;
    const r = data.r!;
    assert.equal(Object.getPrototypeOf(r), Object.prototype);
    assert.deepStrictEqual(Object.keys(r), ['@__proto__', '__proto__', 'constructor']);
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(r, '__proto__')?.value, [{ polluted: 'yes' }, '2']);
    assert.equal(r.constructor, 'c');
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    const single = readXml('<r><__proto__><polluted>yes</polluted></__proto__></r>') as Record<string, Record<string, unknown>>;
    assert.equal(Object.getPrototypeOf(single.r), Object.prototype);
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(single.r, '__proto__')?.value, { polluted: 'yes' });
    assert.equal(JSON.stringify(single), '{"r":{"__proto__":{"polluted":"yes"}}}', 'and it survives JSON (a kept CALL is stored as JSON)');
  });

  const REFUSED: readonly { readonly what: string; readonly xml: string; readonly reason: RegExp }[] = [
    { what: 'a DOCTYPE (no entity can be declared, so none can expand)', xml: '<!DOCTYPE a [<!ENTITY x "xx"><!ENTITY y "&x;&x;&x;&x;">]><a>&y;</a>', reason: /^the body is not well-formed XML \(XML_FORBIDDEN_DECLARATION at line 1, column 1\)$/ },
    { what: 'an external entity', xml: '<!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>', reason: /XML_FORBIDDEN_DECLARATION/ },
    { what: 'an undeclared entity', xml: '<a>&lol;</a>', reason: /XML_MALFORMED/ },
    { what: 'nesting deeper than 64', xml: `${'<a>'.repeat(65)}${'</a>'.repeat(65)}`, reason: /^the body's XML is beyond nori's limits \(LIMIT_DEPTH at line 1, column 193\)$/ },
    { what: 'more than 32 attributes on one element', xml: `<a ${Array.from({ length: 33 }, (_, i) => `a${i}="v"`).join(' ')}/>`, reason: /^the body's XML is beyond nori's limits \(LIMIT_ATTRIBUTES/ },
    { what: 'a text longer than 1 MiB', xml: `<a>${'x'.repeat(1_048_577)}</a>`, reason: /^the body's XML is beyond nori's limits \(LIMIT_TEXT_LENGTH/ },
    { what: 'text that is not XML', xml: '{"error": "not xml"}', reason: /^the body is not well-formed XML \(XML_MALFORMED at line 1, column \d+\)$/ },
    { what: 'two roots', xml: '<a/><b/>', reason: /XML_MALFORMED/ },
  ];
  for (const c of REFUSED) {
    it(`refuses ${c.what} as a bad response, naming why`, () => {
      assert.throws(() => readXml(c.xml), (e: unknown) => {
        assert.ok(isBadResponse(e), String(e));
        assert.match(e.reason, c.reason);
        return true;
      });
    });
  }

  it('reads many repeated elements in linear time', () => {
    const n = 100_000;
    const started = Date.now();
    const data = readXml(`<r>${'<i>x</i>'.repeat(n)}</r>`) as { r: { i: string[] } };
    assert.equal(data.r.i.length, n);
    // Copying the list at each occurrence (quadratic) takes minutes at this size; one pass takes milliseconds.
    assert.ok(Date.now() - started < 5_000, `${Date.now() - started} ms`);
  });
});
