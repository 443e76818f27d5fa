import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';

/** What a CMS backend gets from `npm install nori`: the built entry, its types, and the CLI. Needs `npm run build`. */
describe('the published package', () => {
  it("exports createEngine, createServer and the schema from 'nori', with declarations", async () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { exports: { '.': { types: string; default: string } }; bin: { nori: string } };
    assert.ok(existsSync(pkg.exports['.'].default), `${pkg.exports['.'].default} is missing: run npm run build`);
    assert.ok(existsSync(pkg.exports['.'].types));
    const nori = (await import('nori')) as Record<string, unknown>;
    for (const name of ['createEngine', 'createServer', 'loadConfig', 'NoriError']) assert.equal(typeof nori[name], 'function', name);
    assert.ok((nori.ELEMENTS as Map<string, unknown>).has('WEBACCOUNT'));
    const dts = readFileSync(pkg.exports['.'].types, 'utf8');
    assert.match(dts, /createEngine/);
    assert.match(readFileSync(pkg.bin.nori, 'utf8'), /^#!\/usr\/bin\/env node/);
  });
});
