import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ELEMENTS } from '../../schemas/index.js';
import { GENERATED } from '../../src/docs/generate.js';
import { MESSAGES } from '../../src/errors.js';
import { ADMIN, useEngine } from '../helpers/engine.js';
import { replies } from '../helpers/xml.js';

const FIXTURES = 'test/fixtures/requests';
const fixtures = (kind: 'valid' | 'invalid') => readdirSync(join(FIXTURES, kind)).map((f) => join(FIXTURES, kind, f));

function xsdAccepts(file: string): boolean {
  const r = spawnSync('xmllint', ['--noout', '--schema', 'schemas/nori.xsd', file], { encoding: 'utf8' });
  assert.ok(!r.error, 'xmllint is missing: apt-get install libxml2-utils (.ci/run does)');
  return r.status === 0;
}

describe('generated files and the XSD', () => {
  for (const { path, render } of GENERATED) {
    it(`${path} is what the definitions generate`, () => {
      assert.equal(readFileSync(path, 'utf8'), render(), `${path} is stale: run npm run docs`);
    });
  }

  it('xmllint itself judges the XSD a valid schema', () => {
    execFileSync('xmllint', ['--noout', '--schema', 'schemas/nori.xsd', join(FIXTURES, 'valid', 'brief-batch.xml')], { stdio: 'pipe' });
  });

  it('docs list every field of every element and every message code', () => {
    const elements = readFileSync('docs/elements.md', 'utf8');
    for (const e of ELEMENTS.values()) for (const f of Object.keys(e.fields)) assert.match(elements, new RegExp(`^\\| ${f} \\|`, 'm'), `${e.name}.${f}`);
    const errors = readFileSync('docs/errors.md', 'utf8');
    for (const code of Object.keys(MESSAGES)) assert.ok(errors.includes(`| \`${code}\` |`), code);
  });

  describe('the XSD and the engine agree on the example requests', () => {
    const t = useEngine();
    for (const file of fixtures('valid')) {
      it(`accepts ${file}`, async () => {
        assert.ok(xsdAccepts(file), 'the XSD refuses it');
        const answers = replies(await t.engine.execute(readFileSync(file), ADMIN));
        assert.deepEqual(answers.filter((a) => a.attrs.line !== undefined).map((a) => a.text), [], 'the engine finds it invalid');
      });
    }
    for (const file of fixtures('invalid')) {
      it(`refuses ${file}`, async () => {
        assert.ok(!xsdAccepts(file), 'the XSD accepts it');
        const answers = replies(await t.engine.execute(readFileSync(file), ADMIN));
        assert.ok(answers.some((a) => a.attrs.msgType === '1' && a.attrs.line !== undefined), `the engine accepts it: ${JSON.stringify(answers)}`);
      });
    }
  });
});
