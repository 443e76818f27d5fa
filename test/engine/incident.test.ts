import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ALICE, makeEngine } from '../helpers/engine.js';
import { seedApi } from '../helpers/seed.js';
import { expectError, q, replies } from '../helpers/xml.js';

describe('unexpected errors', () => {
  it('an unexpected database error answers INTERNAL_ERROR with an incident id that the log carries, and the batch goes on', async function () {
    this.timeout(30_000);
    const lines: string[] = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(String(chunk)); done(); } });
    const engine = await makeEngine({ logger: pino({ level: 'info' }, sink) });
    try {
      await seedApi(engine, 'mastodon');
      // Break the storage under the engine: the next command meets an error nori did not foresee.
      await engine.database.knex.raw('ALTER TABLE webaccount RENAME TO webaccount_gone');
      const xml = await engine.execute(q('<SEARCH><WEBACCOUNT/></SEARCH>', '<GET><WEBAPI ID="1"/></GET>'), ALICE);
      const r = expectError(replies(xml)[0]!, 'INTERNAL_ERROR');
      const incident = /incident ([0-9a-f]{8})/.exec(r.text)?.[1];
      assert.ok(incident, r.text);
      assert.ok(lines.some((l) => l.includes(incident!) && l.includes('"level":50')), 'the log line carries the incident id');
      assert.match(xml, /<RESULTS command="GET" hits="1">/);
    } finally {
      await engine.close();
    }
  });
});
