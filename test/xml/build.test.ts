import assert from 'node:assert/strict';
import { DOMParser } from '@xmldom/xmldom';
import { readXml } from '../../src/sdk/index.js';
import type { ResultValue } from '../../src/sdk/types.js';
import { ours, type Scrubbed } from '../../src/scrub.js';
import { attr, buildResponse, text } from '../../src/xml/build.js';

const called = (value: ResultValue, attributes: Record<string, Scrubbed> = {}) =>
  buildResponse([{ verb: 'CALL', name: undefined, outcome: { kind: 'called', answers: [{ accountId: 1, method: 'READ', attributes, warnings: [], result: { value } }] } }]);
const resultOf = (xml: string) => /<READ[^>]*>.*<\/READ>|<READ[^>]*\/>/s.exec(xml)![0];

describe('the response writer', () => {
  it('escapes text and attribute values, and replaces what XML 1.0 cannot carry', () => {
    const cases: [string, string, string][] = [
      ['plain', 'plain', 'plain'],
      ['a & b <c> "d"', 'a &amp; b &lt;c&gt; "d"', 'a &amp; b &lt;c&gt; &quot;d&quot;'],
      [']]>', ']]&gt;', ']]&gt;'],
      ['tab\tline\nret\r', 'tab\tline\nret\r', 'tab&#9;line&#10;ret&#13;'],
      ['nul\u0000bell\u0007', 'nul\ufffdbell\ufffd', 'nul\ufffdbell\ufffd'],
      ['lone \ud800 high, lone \udc00 low, pair \ud83d\ude00', 'lone \ufffd high, lone \ufffd low, pair \ud83d\ude00', 'lone \ufffd high, lone \ufffd low, pair \ud83d\ude00'],
      ['\ufffe\uffff', '\ufffd\ufffd', '\ufffd\ufffd'],
    ];
    for (const [input, asText, asAttr] of cases) {
      assert.equal(text(input), asText, input);
      assert.equal(attr(input), asAttr, input);
    }
  });

  it('writes a document an independent parser reads back to the same values', () => {
    const nasty = ours('x & y < z > "q" \u0001 \ud800 é 😀\t\n');
    const xml = buildResponse([{ verb: 'CALL', name: nasty, outcome: { kind: 'called', answers: [{ accountId: 1, method: 'READ', attributes: { note: nasty }, warnings: [{ code: ours('W'), message: nasty }], result: { value: { a: nasty, 'not a name': [1, null, true, new Uint8Array([0, 255])], empty: {} } } }] } }]);
    const errors: string[] = [];
    const doc = new DOMParser({ onError: (level, msg) => { if (level !== 'warning') errors.push(msg); } }).parseFromString(xml, 'text/xml');
    assert.deepEqual(errors, []);
    const clean = 'x & y < z > "q" \ufffd \ufffd é 😀\t\n';
    assert.equal(doc.getElementsByTagName('RESULTS')[0]!.getAttribute('name'), clean);
    assert.equal(doc.getElementsByTagName('READ')[0]!.getAttribute('note'), clean);
    assert.equal(doc.getElementsByTagName('a')[0]!.textContent, clean);
    assert.equal(doc.getElementsByTagName('WARNING')[0]!.textContent, clean);
    assert.equal(doc.getElementsByTagName('ENTRY')[0]!.getAttribute('key'), 'not a name');
    assert.match(xml, /<ENTRY key="not a name"><ITEM>1<\/ITEM><ITEM null="true"\/><ITEM>true<\/ITEM><ITEM encoding="base64">AP8=<\/ITEM><\/ENTRY><empty\/>/);
  });

  it('writes a service\'s XML read as data back as it was: attributes as attributes, #text as text, every repeated element', () => {
    const service = '<personalData family="contact"><contact type="home"><email>a@x</email></contact><contact type="work"><email>b@x</email></contact><note lang="fr">à voir</note></personalData>';
    assert.equal(
      resultOf(called(readXml(service))),
      '<READ><personalData family="contact"><contact><ITEM type="home"><email>a@x</email></ITEM><ITEM type="work"><email>b@x</email></ITEM></contact><note lang="fr">à voir</note></personalData></READ>',
    );
    assert.equal(
      resultOf(called(readXml('<Subscriptions><Subscription><Code>PAP</Code></Subscription><Subscription><Code>PEL</Code></Subscription></Subscriptions>'))),
      '<READ><Subscriptions><Subscription><ITEM><Code>PAP</Code></ITEM><ITEM><Code>PEL</Code></ITEM></Subscription></Subscriptions></READ>',
    );
    assert.equal(resultOf(called({ p: { '#text': 'Hello  world', b: 'big' } })), '<READ><p>Hello  world<b>big</b></p></READ>');
    assert.equal(resultOf(called({ n: { '@unit': 'kg', '@count': 2, '@exact': true, '#text': 12 } })), '<READ><n unit="kg" count="2" exact="true">12</n></READ>');
  });

  it('never lets data stand in for nori\'s own attributes, nor write one that is no name or no text', () => {
    // null, encoding and key say what nori wrote (a null, bytes, an ENTRY's key): from data they stay entries.
    assert.equal(
      resultOf(called({ x: { '@null': 'true', '@encoding': 'base64', '@key': 'k', '#text': 'QUJD' } })),
      '<READ><x>QUJD<ENTRY key="@null">true</ENTRY><ENTRY key="@encoding">base64</ENTRY><ENTRY key="@key">k</ENTRY></x></READ>',
    );
    assert.equal(
      resultOf(called({ x: { '@a b': '1', '@': '2', '@xmlns': '3', '@o': { deep: '4' }, '@n': null, '#text': ['5'] } })),
      '<READ><x><ENTRY key="@a b">1</ENTRY><ENTRY key="@">2</ENTRY><ENTRY key="@xmlns">3</ENTRY><ENTRY key="@o"><deep>4</deep></ENTRY><ENTRY key="@n" null="true"/><ENTRY key="#text"><ITEM>5</ITEM></ENTRY></x></READ>',
    );
    // The plugin's notes are attributes of the method's element: a result's own @name does not replace one.
    assert.equal(resultOf(called({ '@contextId': 'from-data', '@other': 'kept', v: '1' }, { contextId: ours('note') })), '<READ other="kept" contextId="note"><ENTRY key="@contextId">from-data</ENTRY><v>1</v></READ>');
    const escaped = resultOf(called({ x: { '@q': 'a"<&>\n', '#text': '<&>' } }));
    assert.equal(escaped, '<READ><x q="a&quot;&lt;&amp;&gt;&#10;">&lt;&amp;&gt;</x></READ>');
  });
});
