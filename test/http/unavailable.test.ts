import assert from 'node:assert/strict';
import pino from 'pino';
import { createServer } from '../../src/http/server.js';
import { makeEngine } from '../helpers/engine.js';
import { expectError, only } from '../helpers/xml.js';

describe('database unavailable', () => {
  it('answers 503 SERVICE_UNAVAILABLE with Retry-After, and /health says unavailable', async function () {
    this.timeout(30_000);
    const engine = await makeEngine();
    const { key } = await engine.keys.create({ contactId: 1 });
    const app = createServer({ engine, logger: pino({ level: 'silent' }), maxBodyBytes: 1 << 20 });
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      await engine.database.close(); // the database goes away under a running server
      const res = await fetch(base + '/', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, body: '<QUERY/>' });
      assert.equal(res.status, 503);
      assert.equal(res.headers.get('retry-after'), '5');
      expectError(only(await res.text()), 'SERVICE_UNAVAILABLE');
      const health = await fetch(base + '/health');
      assert.equal(health.status, 503);
      assert.deepEqual(await health.json(), { status: 'unavailable', database: engine.database.kind });
    } finally {
      await app.close();
    }
  });
});
