/**
 * Every log line nori writes is bounded: the error of a huge statement, a huge field, a deep object.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, MAX_LOG_STRING } from '../../src/log.js';
import { makeEngine, ADMIN } from '../helpers/engine.js';
import { q } from '../helpers/xml.js';

/** A real pino logger writing to memory, and its lines. */
function captured() {
  const lines: string[] = [];
  let rest = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop()!;
      lines.push(...parts);
      done();
    },
  });
  return { logger: createLogger({ level: 'info' }, sink), lines };
}

const LINE_CAP = 16 * 1024;

describe('log lines', function () {
  this.timeout(60_000);

  it('a huge string, a huge message, a wide and a deep object each make one bounded JSON line', () => {
    const { logger, lines } = captured();
    const huge = 'x'.repeat(1_700_000);
    let deep: Record<string, unknown> = { leaf: huge };
    for (let i = 0; i < 20; i++) deep = { deep };
    logger.error({ sql: huge, err: new Error(huge), wide: Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`k${i}`, i])), deep }, huge);
    logger.warn({ list: Array.from({ length: 100_000 }, () => 'y'.repeat(100)) }, 'a long list');
    assert.equal(lines.length, 2);
    for (const line of lines) {
      assert.ok(line.length < LINE_CAP, `a line of ${line.length} characters`);
      const fields = JSON.parse(line) as Record<string, unknown>;
      assert.ok(typeof fields.msg === 'string');
    }
    const first = JSON.parse(lines[0]!) as { sql: string; msg: string; err: { message: string } };
    assert.ok(first.sql.startsWith('x'.repeat(MAX_LOG_STRING)) && first.sql.includes(`${1_700_000 - MAX_LOG_STRING} more characters cut`));
    assert.ok(first.msg.includes('more characters cut') && first.err.message.includes('more characters cut'));
  });

  it('an unexpected database error of a huge request is logged in one bounded line', async () => {
    const { logger, lines } = captured();
    const engine = await makeEngine({ logger });
    try {
      // A statement the database refuses for a reason nori does not foresee (a column gone): knex puts the whole
      // statement in the error's message, here 1,000 criteria long.
      await engine.database.knex.raw('ALTER TABLE webaccount RENAME COLUMN denomination TO gone');
      const blocks = Array.from({ length: 1000 }, (_, i) => `<INFO><DENOMINATION>name-${i}</DENOMINATION></INFO>`).join('');
      await engine.execute(q(`<COUNT><WEBACCOUNT>${blocks}</WEBACCOUNT></COUNT>`), ADMIN);
      const incident = lines.find((l) => l.includes('command failed unexpectedly'));
      assert.ok(incident, lines.join('\n').slice(0, 500));
      assert.ok(incident.length < LINE_CAP, `a line of ${incident.length} characters`);
      assert.match(incident, /more characters cut/);
      for (const line of lines) assert.ok(line.length < LINE_CAP);
    } finally {
      await engine.close();
    }
  });
});
