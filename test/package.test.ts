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

/** The Node.js lines nori supports: one fact in package.json's engines, the exact releases CI runs in .ci/run. */
describe('the supported Node.js versions', () => {
  const engines = (JSON.parse(readFileSync('package.json', 'utf8')) as { engines: { node: string } }).engines.node;
  const minimum = /^>=(\d+)\.(\d+)$/.exec(engines);
  const parse = (v: string) => v.replace(/^v/, '').split('.').map(Number) as [number, number, number];
  const accepted = (v: string) => {
    const [major, minor] = parse(v);
    return major > Number(minimum![1]) || (major === Number(minimum![1]) && minor >= Number(minimum![2]));
  };
  const pinned = [...readFileSync('.ci/run', 'utf8').matchAll(/^NODE_(\d+)=(\d+\.\d+\.\d+)$/gm)].map((m) => ({ line: Number(m[1]), version: m[2]! }));

  it('engines says >=MAJOR.MINOR, and this run is on a Node it accepts', () => {
    assert.ok(minimum, `engines.node is "${engines}", not ">=MAJOR.MINOR"`);
    assert.ok(accepted(process.version), `this run is on Node ${process.version}, which engines ("${engines}") refuses`);
  });

  it('CI runs an exact release of each maintained line (22 and 24), each one engines accepts, each named in README', () => {
    assert.deepEqual(pinned.map((p) => p.line).sort(), [22, 24], '.ci/run pins NODE_22 and NODE_24');
    const readme = readFileSync('README.md', 'utf8');
    for (const { line, version } of pinned) {
      assert.equal(parse(version)[0], line, `NODE_${line}=${version} is of its line`);
      assert.ok(accepted(version), `${version} is refused by engines "${engines}"`);
      assert.ok(readme.includes(version), `README.md names Node ${version}, the release CI tests`);
    }
  });
});
