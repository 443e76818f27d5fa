/**
 * Regular expressions that see request or service text run in time linear in that text, after its length was
 * checked: a crafted value cannot block the event loop (every other request would wait behind it). The guard
 * is eslint-plugin-regexp's super-linear rules, wired into eslint.config.js; a test here proves they still fire.
 */
import assert from 'node:assert/strict';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { PARTNERS, useBayard } from '../../plugins/bayard/harness.test-helper.js';
import { loadPlugins } from '../../src/plugins/loader.js';
import { only } from '../helpers/xml.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The largest event-loop delay (ms) while `work` runs: a blocked loop shows up here, whatever the clock says. */
async function maxLoopDelay(work: () => Promise<unknown>): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  try {
    await work();
  } finally {
    h.disable();
  }
  return h.max / 1e6;
}

describe('regular expressions on request text', function () {
  this.timeout(60_000);
  const h = useBayard();

  it('answers PARAM_INVALID for an 80,000-dot EMAIL without blocking the event loop', async () => {
    const id = await h.account(PARTNERS[0]!.name);
    const attack = `a@${'.'.repeat(80_000)}@`;
    // The baseline: as long a value, as wrong, that no pattern can be slow on.
    const harmless = 'a'.repeat(attack.length);
    const check = async (email: string) => {
      const reply = only(await h.call(id, 'LOGIN', { EMAIL: email, PASSWORD: 'secret' }));
      assert.equal(reply.attrs.errorCode, 'PARAM_INVALID', reply.text);
      assert.match(reply.text, /<LOGIN> <EMAIL> must be an e-mail address/);
    };
    await check(harmless); // warm up: the first request compiles and caches what every later one uses
    const baseline = await maxLoopDelay(() => check(harmless));
    const attacked = await maxLoopDelay(() => check(attack));
    // Quadratic matching held the loop for seconds here; linear matching costs what the baseline costs.
    assert.ok(attacked <= Math.max(4 * baseline, 150), `the loop was blocked ${attacked.toFixed(1)} ms (baseline ${baseline.toFixed(1)} ms)`);
    // A valid address of the longest length still passes the check (and is sent on).
    assert.notEqual(only(await h.call(id, 'LOGIN', { EMAIL: `${'a'.repeat(64)}@${'b'.repeat(63)}.example`, PASSWORD: 'x' })).attrs.errorCode, 'PARAM_INVALID');
  });
});

describe('the super-linear regular expression guard (eslint-plugin-regexp)', function () {
  this.timeout(60_000);
  const eslint = new ESLint({ cwd: ROOT });
  const rulesFired = async (code: string, filePath: string) =>
    new Set((await eslint.lintText(code, { filePath }))[0]!.messages.map((m) => m.ruleId));

  for (const file of ['src/guard-fixture.ts', 'plugins/bayard/guard-fixture.ts']) {
    it(`fails lint on a super-linear pattern in ${file.split('/')[0]}/`, async () => {
      const backtracking = await rulesFired('export const EMAIL = /^[^\\s@]+@[^\\s@]+\\.[^\\s@]+$/;\n', file);
      assert.ok(backtracking.has('regexp/no-super-linear-backtracking'), `fired: ${[...backtracking].join(', ')}`);
      const move = await rulesFired("export const strip = (s: string) => s.replace(/<[^>]*>/g, '');\n", file);
      assert.ok(move.has('regexp/no-super-linear-move'), `fired: ${[...move].join(', ')}`);
      assert.deepEqual([...(await rulesFired('export const ID = /^\\d{1,19}$/;\n', file))], [], 'a linear pattern passes');
    });
  }

  it('finds every shipped plugin parameter pattern linear (the lint cannot see them: they are strings)', async () => {
    const plugins = [...(await loadPlugins({ builtins: true, folders: [] })).values()];
    const patterns = plugins.flatMap((p) => Object.values(p.definition.methods).flatMap((m) => Object.values(m.params).flatMap((d) => (d.pattern === undefined ? [] : [d.pattern]))));
    assert.ok(patterns.length >= 3, `found ${patterns.length} patterns`);
    // The rules do read a pattern given to the RegExp constructor as a string:
    const bad = await rulesFired(`export const P = new RegExp(${JSON.stringify('^(?:[^\\s@]+@[^\\s@]+\\.[^\\s@]+)$')}, 'u');\n`, 'src/guard-fixture.ts');
    assert.ok(bad.has('regexp/no-super-linear-backtracking'), `fired on a bad string pattern: ${[...bad].join(', ')}`);
    // As params.ts runs them: anchored, unicode, searched anywhere in the text.
    const code = patterns.map((p, i) => `export const P${i} = new RegExp(${JSON.stringify(`^(?:${p})$`)}, 'u');\nexport const S${i} = /${p}/u;\n`).join('');
    const fired = await rulesFired(code, 'src/guard-fixture.ts');
    assert.ok(!fired.has('regexp/no-super-linear-backtracking') && !fired.has('regexp/no-super-linear-move'), `fired: ${[...fired].join(', ')}`);
  });
});
