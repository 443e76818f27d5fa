import assert from 'node:assert/strict';
import { DOMParser } from '@xmldom/xmldom';
import { ours } from '../../src/scrub.js';
import { attr, buildResponse, text } from '../../src/xml/build.js';

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
});
