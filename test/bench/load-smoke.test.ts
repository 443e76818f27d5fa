import assert from 'node:assert/strict';
import { runLoad } from '../../bench/load.js';

describe('npm run load, in a few seconds', () => {
  it('runs every kind of request against a real nori process with no failure, and samples its memory and descriptors', async function () {
    this.timeout(90_000);
    const report = await runLoad({ seconds: 6, concurrency: 4, warmup: 0.3 });
    assert.deepEqual(report.failures, []);
    assert.deepEqual(Object.keys(report.latency).sort(), ['AUTHORIZE', 'CALL', 'CREATE', 'SEARCH', 'UPDATE'].filter((op) => op in report.latency).sort());
    for (const op of ['SEARCH', 'CREATE', 'UPDATE', 'CALL']) assert.ok(report.latency[op]!.count > 0 && report.latency[op]!.p99 >= report.latency[op]!.p50, op);
    assert.ok(report.samples.length >= 3 && report.samples.every((s) => s.rssMb > 0 && s.fds > 0));
  });
});
