// Mocha's spec reporter, plus the plain closing line CI reads ("N passed, N failed, N skipped"), the slowest
// files (where the suite's time goes), and the counts written to $NORI_TEST_STATS so scripts/test.sh can add up
// the two database runs.
const Mocha = require('mocha');
const fs = require('node:fs');
const path = require('node:path');

const { EVENT_RUN_END, EVENT_SUITE_BEGIN, EVENT_SUITE_END } = Mocha.Runner.constants;
const SLOWEST = 10;

class NoriReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    // A file's time is that of its top-level suites, their before and after hooks included (engines, servers).
    const started = new Map();
    const perFile = new Map();
    runner.on(EVENT_SUITE_BEGIN, (suite) => {
      if (suite.file && suite.parent?.root) started.set(suite, performance.now());
    });
    runner.on(EVENT_SUITE_END, (suite) => {
      const t = started.get(suite);
      if (t === undefined) return;
      started.delete(suite);
      perFile.set(suite.file, (perFile.get(suite.file) ?? 0) + performance.now() - t);
    });
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats;
      const db = process.env.NORI_TEST_DB ?? 'pglite';
      const slow = [...perFile].sort((a, b) => b[1] - a[1]).slice(0, SLOWEST);
      if (slow.length > 1) {
        console.log(`\nslowest files on ${db}:`);
        for (const [file, ms] of slow) console.log(`  ${(ms / 1000).toFixed(1).padStart(6)} s  ${path.relative(process.cwd(), file)}`);
      }
      const line = `${s.passes} passed, ${s.failures} failed, ${s.pending} skipped`;
      console.log(`\n${db}: ${line}`);
      if (process.env.NORI_TEST_STATS) {
        fs.writeFileSync(process.env.NORI_TEST_STATS, JSON.stringify({ passes: s.passes, failures: s.failures, pending: s.pending, files: Object.fromEntries(perFile) }));
      }
    });
  }
}
module.exports = NoriReporter;
