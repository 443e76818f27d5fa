import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ELEMENTS } from '../../schemas/index.js';
import { GENERATED } from '../../src/docs/generate.js';
import { MESSAGES } from '../../src/errors.js';
import { ADMIN, useEngine } from '../helpers/engine.js';
import { replies } from '../helpers/xml.js';
import { loadXsd, type Xsd } from '../helpers/xsd.js';

const FIXTURES = 'test/fixtures/requests';
const fixtures = (kind: 'valid' | 'invalid') => readdirSync(join(FIXTURES, kind)).map((f) => join(FIXTURES, kind, f));

describe('generated files and the XSD', () => {
  for (const { path, render } of GENERATED) {
    it(`${path} is what the definitions generate`, () => {
      assert.equal(readFileSync(path, 'utf8'), render(), `${path} is stale: run npm run docs`);
    });
  }

  it('libxml2 itself judges the XSD a valid schema', () => {
    loadXsd(readFileSync('schemas/nori.xsd')).dispose();
  });

  it('libxml2 refuses an XSD that is no valid schema, with its own message', () => {
    const broken = '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:element name="QUERY" type="xs:nosuchtype"/></xs:schema>';
    assert.throws(() => loadXsd(Buffer.from(broken)), /^Error: not a valid XML Schema: line 1: .*nosuchtype/);
  });

  it('docs list every field of every element and every message code', () => {
    const elements = readFileSync('docs/elements.md', 'utf8');
    for (const e of ELEMENTS.values()) for (const f of Object.keys(e.fields)) assert.match(elements, new RegExp(`^\\| ${f} \\|`, 'm'), `${e.name}.${f}`);
    const errors = readFileSync('docs/errors.md', 'utf8');
    for (const code of Object.keys(MESSAGES)) assert.ok(errors.includes(`| \`${code}\` |`), code);
  });

  describe('the XSD and the engine agree on the example requests', () => {
    const t = useEngine();
    let xsd: Xsd;
    before(() => void (xsd = loadXsd(readFileSync('schemas/nori.xsd'))));
    after(() => xsd?.dispose());
    for (const file of fixtures('valid')) {
      it(`accepts ${file}`, async () => {
        assert.deepEqual(xsd.errors(readFileSync(file)), [], 'the XSD refuses it');
        const answers = replies(await t.engine.execute(readFileSync(file), ADMIN));
        assert.deepEqual(answers.filter((a) => a.attrs.line !== undefined).map((a) => a.text), [], 'the engine finds it invalid');
      });
    }
    for (const file of fixtures('invalid')) {
      it(`refuses ${file}`, async () => {
        assert.notDeepEqual(xsd.errors(readFileSync(file)), [], 'the XSD accepts it');
        const answers = replies(await t.engine.execute(readFileSync(file), ADMIN));
        assert.ok(answers.some((a) => a.attrs.msgType === '1' && a.attrs.line !== undefined), `the engine accepts it: ${JSON.stringify(answers)}`);
      });
    }
  });
});
