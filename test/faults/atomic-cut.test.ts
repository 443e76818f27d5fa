import assert from 'node:assert/strict';
import knexFactory from 'knex';
import pino from 'pino';
import { createEngine } from '../../src/engine.js';
import { ADMIN, TEST_KEY, describeIn } from '../helpers/engine.js';
import { startCluster } from '../helpers/pg-cluster.js';
import { replies } from '../helpers/xml.js';

describeIn('postgres')('an atomic batch cut by a database outage', function () {
  this.timeout(60_000);
  it('names the command that failed: ROLLED_BACK before it, NOT_RUN after it, never a success that did not run', async () => {
    const cluster = await startCluster();
    const engine = await createEngine({ database: { url: cluster.url }, secretKeys: [TEST_KEY], plugins: { builtins: false }, logger: pino({ level: 'silent' }) });
    const watch = knexFactory({ client: 'pg', connection: cluster.url, pool: { min: 0, max: 1 } });
    try {
      // A GET between CREATEs keeps each CREATE its own command (not grouped), so the id sequence shows progress.
      const body = `<QUERY atomic="true">${Array.from({ length: 3000 }, (_, i) => `<CREATE><WEBAPI><INFO><DENOMINATION>a-${i}</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE></INFO></WEBAPI></CREATE><GET><WEBAPI ID="1"/></GET>`).join('')}</QUERY>`;
      const running = engine.execute(body, ADMIN);
      const seq = async () => Number((await watch.raw('SELECT last_value FROM webapi_id_seq')).rows[0].last_value);
      while ((await seq()) < 300) await new Promise((r) => setTimeout(r, 2));
      await watch.destroy();
      await cluster.stop('fast');
      const answers = replies(await running);
      const failedAt = answers.findIndex((r) => r.attrs.errorCode !== 'ROLLED_BACK');
      assert.ok(failedAt >= 599 && failedAt < 6000, `the failure is put on command ${failedAt + 1}`);
      assert.equal(answers[failedAt]!.attrs.errorCode, 'INTERNAL_ERROR');
      assert.ok(answers.slice(failedAt + 1).every((r) => r.attrs.errorCode === 'NOT_RUN'), 'every command after it did not run');
    } finally {
      await engine.close();
      await cluster.destroy();
    }
  });
});
