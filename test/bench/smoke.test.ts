/**
 * The benchmark suite still runs: every benchmark of `npm run bench`, in its quick mode (small sizes, one
 * repetition), produces numbers, and the report and its chart render. Speed is measured by the benchmarks,
 * never asserted here. Needs PostgreSQL and Chromium, as the rest of the suite does.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderDocs, renderTable } from '../../bench/report.js';
import { BENCHMARKS, runBench } from '../../bench/run.js';
import { describeIn } from '../helpers/engine.js';

// The benchmarks run on PostgreSQL whichever database the suite is for: once, in the PostgreSQL run, is enough
// (half a minute saved on every npm test).
describeIn('postgres')('the benchmark suite (quick mode)', function () {
  this.timeout(120_000);

  it('runs every benchmark to finite numbers, and renders the table, the page and the chart', async () => {
    const results = await runBench({ quick: true, log: () => {} });
    assert.deepEqual(results.benchmarks.map((b) => b.id), Object.keys(BENCHMARKS));
    for (const b of results.benchmarks) {
      assert.equal(b.error, undefined, `${b.id} failed`);
      assert.ok(b.figures.length > 0, `${b.id} reports no figure`);
      for (const [name, v] of Object.entries(b.measurements)) {
        // A memory growth may honestly be nothing at these sizes; everything else was measured, so is more.
        assert.ok(Number.isFinite(v) && (name.includes('Growth') ? v >= 0 : v > 0), `${b.id}.${name} = ${v}`);
      }
      for (const f of b.figures) assert.ok(Number.isFinite(f.value), `${b.id}: ${f.label} = ${f.value}`);
      if (b.hotspots) assert.ok(b.hotspots.frames.length > 0 && b.hotspots.busy > 0, `${b.id}: an empty profile`);
    }
    assert.ok(results.benchmarks.find((b) => b.id === 'growth')?.series, 'growth gives the chart its series');

    const table = renderTable(results);
    assert.equal(table.split('\n').length, 2 + results.benchmarks.reduce((n, b) => n + b.figures.length, 0), 'one row per figure');
    const dir = mkdtempSync(join(tmpdir(), 'nori-bench-docs-'));
    try {
      const { markdown, png } = await renderDocs(results, dir);
      assert.ok(markdown.includes(table), 'the page holds the table');
      assert.match(markdown, /!\[Throughput against batch size\]\(performance-throughput\.png\)/);
      assert.ok(png, 'a chart was rendered');
      assert.deepEqual([...readFileSync(png).subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'the chart is a PNG');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
