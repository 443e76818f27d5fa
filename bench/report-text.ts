/**
 * @module bench/report-text
 * The prose of docs/performance.md around the generated figures: how to run the suite, what the floors are,
 * and how the numbers are taken.
 */

export const INTRO = `# Performance

Speed is a feature of nori, so it is measured, repeatably, by \`npm run bench\` (code in \`bench/\`). These
machines are shared and absolute times drift by a factor of two from one hour to the next, so **every figure is
a ratio of nori against a floor measured in the same run on the same machine**: the least work that must be done
for the same result. A target says how close to its floor nori must stay. This page is written by
\`bench/report.ts\` from \`bench/results/latest.json\`; run the suite again rather than editing it.

## Running it

\`\`\`sh
npm run bench                  # the full suite, a few minutes; writes bench/results/<date>.json and latest.json,
                               # then this page and docs/performance-throughput.png
npm run bench -- --quick       # the smoke run (small sizes, one repetition): table on stdout, bench/results/quick.tmp
npm run bench -- --only writes,reads   # some of: writes, reads, parsing, small, call, growth (bench/results/partial.tmp)
npm run bench:report           # this page and the chart again, from bench/results/latest.json
\`\`\`

It needs PostgreSQL (\`BENCH_DATABASE_URL\`, else \`TEST_DATABASE_URL\`, default
\`postgres://postgres@127.0.0.1:5432/test\`; every benchmark works in a fresh schema and drops it) and, for the
chart, Chromium (the suite's: \`test/helpers/chromium.ts\`). Everything runs on 127.0.0.1. The test
suite runs the quick mode once (\`test/bench/smoke.test.ts\`) to check that every benchmark still produces
numbers; it never asserts a speed.

## The floors

1. **Batch writes**: nori answers a POST of 1,000 CREATE WEBACCOUNT over HTTP; the floor is one bare saxes pass
   over the same document that collects the rows, then one multi-row knex INSERT of those rows (no HTTP).
2. **Batch reads**: nori answers a SEARCH of 1,000 accounts over HTTP; the floor is one SELECT of the same rows
   with the same visibility rule, written to the same bytes (checked) by plain escaped string building.
3. **Parsing**: nori's \`parseXml\` over a 20 MB batch from a Buffer, validating each command with
   \`validateCommand\` as it closes, as \`src/engine.ts\` does; the floor decodes the Buffer and makes one bare
   saxes pass that only counts events. Each side runs in its own fresh process: saxes is one module, and the
   handlers one side installs slow the other down when they share a process. Memory: peak RSS of a fresh process
   that parses, validates and builds the RESPONSE for a 5, 10 and 20 MB batch, against the batch and the
   response it must hold (at most 2× their size), and per batch MB from the smallest to the largest (at most
   1.1×, so that it grows no faster than the batch). Where nori's time goes is measured the same way: the parse
   alone, then with each command validated and dropped, then validated and kept for the run, as the engine must.
4. **Small requests**: autocannon (a child process, 10 keep-alive connections) POSTs a one-command GET to a
   \`nori serve\` process (request log at warn); the floor is a bare \`node:http\` server, in a process of its own
   too, that runs the same SELECT through a \`pg\` pool of the same size and sends the same bytes (checked), with
   no API key and no transaction. nori's read is a named prepared
   statement (planned once per connection); beside the floor, the same bare server preparing its statement too
   is measured as a reference.
5. **CALL overhead**: a CALL through nori over HTTP to a peer process on 127.0.0.1 (\`bench/plugins/bench\`, an
   API key in a header, authorized through its \`checkKey\`); the floor is the same request sent straight to
   the peer from the same process with undici, through a keep-alive pool set up as nori's. As a reference, a
   bare \`node:http\` server that reads the account's row (one round trip) and sends the same request to the
   peer: the least any server that runs CALLs must add, measured in the same turns.
6. **Growth**: batches of 1,000, 10,000 and 100,000 CREATEs to a \`nori serve\` child process configured
   through the environment; time and peak memory must grow no faster than the work (10× the commands, at most
   11× the time, 11× the memory). Then a stream of 1,000-command batches, four in flight, through two
   \`nori serve\` processes on one PostgreSQL schema against one, every acknowledged row checked afterwards.
   Its target, at least 1×, asks that a second process add throughput and never contend with the first; on a
   machine whose two cores also run PostgreSQL and the client, near 2× is out of reach whatever nori does. The
   chart puts nori's throughput beside the floor of benchmark 1 (one saxes pass, multi-row INSERTs of 1,000
   rows in one transaction) at each size.
`;

export const METHOD = `
## How the numbers are taken

- Each comparison warms both sides up first, then runs them in turns (nori then floor, floor then nori, …) so
  that the machine's drift falls on both, with a full garbage collection before each measured turn; figures are
  medians (and p99 where a target asks for it).
- Latency is measured one request at a time; throughput with several requests in flight.
- Memory is the kernel's peak resident set (\`VmHWM\`, reset through \`/proc/<pid>/clear_refs\`), read for a
  child process, above its resident set before the batch; for \`nori serve\`, in a fresh process after one
  small batch, since V8 keeps the heap a batch grew and the peak of the next would depend on what came before.
- Where a target is missed, the benchmark profiles nori's side (V8's CPU profiler: through the inspector in the
  benchmark's own process, or \`--cpu-prof\` on a \`nori serve\` child with module loading left out) and records
  the five functions with most self time and the modules they belong to. "Busy" is the share of the profiled
  time the process was running JavaScript or collecting garbage rather than waiting on PostgreSQL or a socket.
- Every benchmark checks its answers (all CREATEd, the same bytes as the floor, every acknowledged row stored):
  a fast wrong answer would measure nothing.
`;
