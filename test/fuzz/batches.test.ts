/**
 * The fuzzer: generated and mutated batches (test/fuzz/arbitraries.ts) sent to nori as an admin and as a plain
 * user, through the engine and over HTTP. Every answer is a well-formed RESPONSE under 200 or a clear 4xx,
 * never an INTERNAL_ERROR, never a secret; no log line holds a secret or an error; no URL a caller sent is
 * fetched. NORI_FUZZ_RUNS sets the number of cases (`npm run fuzz` runs 100,000); NORI_FUZZ_SEED and
 * NORI_FUZZ_PATH replay a failure (the tables are reset every RESET_EVERY cases, so replaying the whole seed
 * reproduces a failure that depends on what earlier cases wrote).
 */
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fuzzCase, SENT_SECRET, type FuzzCase } from './arbitraries.js';
import { checkResponse } from './response.js';
import { startTarget, type FuzzTarget } from './target.js';

const RUNS = Number(process.env.NORI_FUZZ_RUNS ?? 5000);
const SEED = process.env.NORI_FUZZ_SEED === undefined ? Date.now() % 2 ** 31 : Number(process.env.NORI_FUZZ_SEED);
const PATH = process.env.NORI_FUZZ_PATH;
/** About one case in six goes over HTTP; the rest through engine.run, which is several times faster. */
const HTTP_SHARE = 1 / 6;
const RESET_EVERY = 250;

describe('fuzz: generated and mutated batches', function () {
  this.timeout(Math.max(180_000, RUNS * 100));
  let target: FuzzTarget;
  before(async function () {
    this.timeout(60_000);
    target = await startTarget();
    await target.reset();
  });
  after(async () => target?.close());

  it(`answers ${RUNS} hostile batches with a well-formed RESPONSE or a clear 4xx, and leaks no secret`, async () => {
    console.log(`      fuzz seed ${SEED}, ${RUNS} runs (NORI_FUZZ_SEED=${SEED} NORI_FUZZ_RUNS=${RUNS} replays this run)`);
    const started = Date.now();
    const tally = { cases: 0, http: 0, statuses: new Map<number, number>(), codes: new Map<string, number>() };
    const property = fc.asyncProperty(fuzzCase(target.context, HTTP_SHARE), async (c: FuzzCase) => {
      if (++tally.cases % RESET_EVERY === 0) await target.reset();
      const [leaks, errors] = [target.logLeaks.length, target.logErrors.length];
      const answer = await target.send(c);
      if (c.transport.kind === 'http') {
        tally.http++;
        assert.equal(answer.contentType, 'text/xml; charset=utf-8');
      }
      let codes: string[];
      try {
        codes = checkResponse(answer.status, answer.xml, target.secrets);
        assert.ok(!answer.xml.toUpperCase().includes(SENT_SECRET), 'a secret the caller sent is in the response');
      } catch (e) {
        // What nori logged for this case (an incident's cause) is the first thing to know about a failure.
        throw new Error(`${(e as Error).message}\nlogged at level error: ${target.logErrors.slice(errors).join('\n') || 'nothing'}`, { cause: e });
      }
      tally.statuses.set(answer.status, (tally.statuses.get(answer.status) ?? 0) + 1);
      for (const code of codes) tally.codes.set(code, (tally.codes.get(code) ?? 0) + 1);
      assert.deepEqual(target.logLeaks.slice(leaks), [], 'a secret in the log');
      assert.deepEqual(target.logErrors.slice(errors), [], 'an error in the log');
    });
    await fc.assert(property, { numRuns: RUNS, seed: SEED, ...(PATH ? { path: PATH } : {}), timeout: 20_000 });
    const seconds = (Date.now() - started) / 1000;
    const top = [...tally.codes].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} ${n}`);
    console.log(`      ${tally.cases} cases (${tally.http} over HTTP) in ${seconds.toFixed(1)} s; statuses ${JSON.stringify(Object.fromEntries(tally.statuses))}`);
    console.log(`      ${tally.codes.size} codes: ${top.join(', ')}`);
    if (target.lookups.length) console.log(`      names nori tried to resolve, refused: ${[...new Set(target.lookups)].join(', ')}`);
    assert.ok(tally.http > 0 || RUNS < 20, 'the HTTP path was exercised');
    assert.deepEqual([target.logLeaks.length, target.logErrors.length], [0, 0], 'secrets or errors in the log');
    assert.equal(target.trap.count(), 0, `nori fetched a URL a caller sent: ${target.trap.requests.map((r) => r.url).join(', ')}`);
  });
});
