// Mocha's spec reporter, plus the plain closing line CI reads ("N passed, N failed, N skipped"),
// and the counts written to $NORI_TEST_STATS so scripts/test.sh can add up the two database runs.
const Mocha = require('mocha');
const fs = require('node:fs');

class NoriReporter extends Mocha.reporters.Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const s = runner.stats;
      const line = `${s.passes} passed, ${s.failures} failed, ${s.pending} skipped`;
      console.log(`\n${process.env.NORI_TEST_DB ?? 'pglite'}: ${line}`);
      if (process.env.NORI_TEST_STATS) fs.writeFileSync(process.env.NORI_TEST_STATS, JSON.stringify({ passes: s.passes, failures: s.failures, pending: s.pending }));
    });
  }
}
module.exports = NoriReporter;
