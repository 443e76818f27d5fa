import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { main } from '../../src/cli/main.js';
import { createEngine } from '../../src/engine.js';
import { checkPlugin, PluginLoadError } from '../../src/plugins/check.js';
import { BUILTIN_PLUGINS, loadPlugins } from '../../src/plugins/loader.js';
import { definePlugin } from '../../src/sdk/define.js';
import type { PluginDefinition } from '../../src/sdk/types.js';

const base = { name: 'good', description: 'A service.', baseUrl: 'https://good.example', authType: 'oauth2', auth: { oauth2: { authorizeUrl: 'https://good.example/a', tokenUrl: 'https://good.example/t' } }, methods: { PING: { doc: 'Pings.', params: { N: { type: 'integer', doc: 'n' } } } } } as const;
const build = (d: Record<string, unknown>, impl: Record<string, unknown> = { PING: async () => null }, hooks = {}) => definePlugin(d as unknown as PluginDefinition, impl as never, hooks);

describe('plugins: loading and checking', function () {
  this.timeout(60_000);
  const tmp = mkdtempSync(join(resolve('test'), '.plugins-'));
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it('refuses a broken definition with a message naming the plugin and the problem', () => {
    const cases: [Record<string, unknown>, RegExp, Record<string, unknown>?, Record<string, unknown>?][] = [
      [{ ...base, name: 'Bad Name' }, /name must be lower case/],
      [{ ...base, baseUrl: 'ftp://x' }, /"good": baseUrl must be an absolute http or https URL/],
      [{ ...base, authType: 'magic' }, /authType must be one of oauth1, oauth2, apikey, consent/],
      [{ ...base, auth: { oauth2: { authorizeUrl: 'https://good.example/a' } } }, /auth.oauth2 needs tokenUrl/],
      [{ ...base, methods: { ping: base.methods.PING } }, /method name "ping" must be upper case/],
      [{ ...base, methods: { PING: { doc: 'x', params: { N: { type: 'float', doc: 'n' } } } } }, /parameter PING\/N has unknown type "float"/],
      [{ ...base, methods: { PING: { doc: 'x', params: { N: { type: 'enum', doc: 'n' } } } } }, /enum parameter PING\/N needs values/],
      [{ ...base, methods: { PING: { doc: 'x', params: { N: { type: 'text', doc: 'n', pattern: '(' } } } } }, /PING\/N has an invalid pattern/],
      [{ ...base, methods: { PING: { params: {} } } }, /method PING needs a doc/],
      [base, /method PING has no implementation/, {}],
      [base, /implements PONG, which its definition does not declare/, { PING: async () => null, PONG: async () => null }],
      [{ ...base, authType: 'apikey', auth: { apikey: {} } }, /an apikey plugin needs a checkKey hook/],
      [{ ...base, settings: { url: { doc: 'x', type: 'url' } } }, /setting "url" must be upper case/],
      [base, /hook revoke names auth type oauth1, which auth does not describe/, undefined, { revoke: { oauth1: async () => {} } }],
      [base, /hook revoke.oauth2 must be a function/, undefined, { revoke: { oauth2: 'https://good.example/revoke' } }],
      [base, /hook revoke must be a function/, undefined, { revoke: 'https://good.example/revoke' }],
    ];
    for (const [def, message, impl, hooks] of cases) {
      assert.throws(() => checkPlugin(build(def, impl, hooks)), (e: Error) => e instanceof PluginLoadError && message.test(e.message), String(message));
    }
    checkPlugin(build(base));
    checkPlugin(build(base, undefined, { revoke: { oauth2: async () => {} } }));
  });

  it('refuses a folder without a plugin, a plugin named unlike its folder, and two plugins of one name, before the database opens', async () => {
    const dir = (name: string, files: Record<string, string>) => {
      const d = join(tmp, name);
      for (const [f, text] of Object.entries(files)) {
        mkdirSync(join(d, f, '..'), { recursive: true });
        writeFileSync(join(d, f), text);
      }
      return d;
    };
    const sdk = resolve('src/sdk/index.js');
    const plugin = (name: string) => `import { definePlugin } from '${sdk}';\nexport default definePlugin(${JSON.stringify({ ...base, name })}, { PING: async () => null });\n`;
    await assert.rejects(loadPlugins({ builtins: false, dirs: [dir('a', { 'x/index.ts': 'export default 42;\n' })] }), /must export default definePlugin/);
    await assert.rejects(loadPlugins({ builtins: false, dirs: [dir('b', { 'x/README.md': 'no code' })] }), /has no index.ts or index.js/);
    await assert.rejects(loadPlugins({ builtins: false, dirs: [dir('c', { 'x/index.ts': plugin('y') })] }), /plugin "y" .*its folder must be named y/);
    await assert.rejects(loadPlugins({ builtins: false, dirs: [dir('d', { 'z/index.ts': plugin('z') }), dir('e', { 'z/index.ts': plugin('z') })] }), /plugin "z" is defined twice/);
    await assert.rejects(loadPlugins({ builtins: false, dirs: [join(tmp, 'nowhere')] }), /does not exist/);
    await assert.rejects(createEngine({ database: { url: 'postgres://nobody@127.0.0.1:1/none' }, secretKeys: ['x'], plugins: { builtins: false, dirs: [join(tmp, 'a')] } }), PluginLoadError);
  });

  it('every built-in plugin passes the checks and has a docs page naming each method and parameter', async () => {
    const registry = await loadPlugins({ builtins: true });
    assert.ok(registry.size >= 3, `${[...registry.keys()]} under ${BUILTIN_PLUGINS}`);
    for (const [name, plugin] of registry) {
      const doc = readFileSync(`docs/plugins/${name}.md`, 'utf8');
      for (const [method, def] of Object.entries(plugin.definition.methods)) {
        assert.ok(doc.includes(method), `docs/plugins/${name}.md names ${method}`);
        for (const p of Object.keys(def.params)) assert.ok(doc.includes(p), `docs/plugins/${name}.md names ${method}/${p}`);
      }
    }
  });

  it('nori plugin new writes a plugin whose own test passes, and refuses a bad name or an existing folder', async () => {
    const dir = join(tmp, 'scaffold');
    assert.equal(await main(['plugin', 'new', 'acme-notes', '--dir', dir]), 0);
    const run = spawnSync('npx', ['mocha', join(dir, 'acme-notes', 'acme-notes.test.ts')], { encoding: 'utf8', env: { ...process.env, NORI_TEST_STATS: '' } });
    assert.equal(run.status, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /2 passed, 0 failed/);
    assert.equal(await main(['plugin', 'new', 'acme-notes', '--dir', dir]), 2, 'an existing folder is never overwritten');
    assert.equal(await main(['plugin', 'new', 'Acme Notes', '--dir', dir]), 2);
  });
});
