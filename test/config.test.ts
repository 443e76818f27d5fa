import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { ConfigError, ENV_VARS, loadConfig } from '../src/config.js';

describe('configuration', () => {
  it('the README documents exactly the variables nori reads', () => {
    const readme = readFileSync('README.md', 'utf8');
    const documented = [...readme.matchAll(/^\| `([A-Z_]+)` \|/gm)].map((m) => m[1]);
    assert.deepEqual(documented.sort(), Object.keys(ENV_VARS).sort());
  });

  it('reads defaults, validates once, and freezes', () => {
    const c = loadConfig({});
    assert.deepEqual([c.host, c.port, c.publicUrl, c.dataDir, c.databaseUrl], ['127.0.0.1', 8080, 'http://127.0.0.1:8080', '.nori-data', undefined]);
    assert.ok(Object.isFrozen(c) && Object.isFrozen(c.limits));
    const [k1, k2, k3] = [0, 1, 2].map(() => randomBytes(32).toString('base64'));
    const hex = randomBytes(32).toString('hex');
    const custom = loadConfig({ NORI_SECRET_KEY: k1, NORI_SECRET_KEYS_OLD: ` ${k2}, ,${k3},${hex}`, NORI_MAX_DEPTH: '9', NORI_RETURN_URLS: 'https://x.test/a, https://y.test/' });
    assert.deepEqual([custom.secretKeys, custom.limits.maxDepth, custom.returnUrls], [[k1, k2, k3, hex], 9, ['https://x.test/a', 'https://y.test/']]);
    assert.equal(loadConfig({ NORI_HOST: '::1' }).publicUrl, 'http://[::1]:8080');
    assert.equal(loadConfig({ NORI_HOST: 'nori.internal' }).host, 'nori.internal');
    const refused = [
      ['NORI_PORT', '70000'], ['NORI_MAX_DEPTH', '0'], ['NORI_LOG_LEVEL', 'loud'], ['NORI_DB_SCHEMA', 'Bad-Name'], ['NORI_PUBLIC_URL', 'nori.test'],
      ['NORI_SECRET_KEY', 'a'], ['NORI_SECRET_KEYS_OLD', `${k2},short`], ['NORI_HOST', '999.1.1.1'], ['NORI_HOST', 'a b'], ['NORI_HOST', 'host:80'], ['NORI_HOST', '1.2'],
    ] as const;
    for (const [name, value] of refused) {
      assert.throws(() => loadConfig({ [name]: value }), (e: Error) => e instanceof ConfigError && e.message.startsWith(name), name);
    }
  });
});
