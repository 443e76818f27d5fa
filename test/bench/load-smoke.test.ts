import assert from 'node:assert/strict';
import { runLoad, trend } from '../../bench/load.js';

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

describe('the leak check of npm run load', () => {
  it('reads the trend through the samples, not the first and last one', () => {
    const flat = [200, 160, 175, 162, 170, 165, 171, 163, 168, 199].map((v, i) => ({ t: i * 10, v }));
    const rising = [160, 161, 163, 166, 168, 170, 173, 175, 177, 160].map((v, i) => ({ t: i * 10, v }));
    assert.ok(Math.abs(trend(flat)) < 10, `flat: ${trend(flat)}`);
    assert.ok(trend(rising) > 8, `rising: ${trend(rising)}`);
    assert.equal(trend([{ t: 0, v: 1 }]), 0);
    assert.equal(Math.round(trend([0, 1, 2, 3].map((v) => ({ t: v * 5, v })))), 3);
  });
});
