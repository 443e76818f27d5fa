/**
 * @module bench/run
 * `npm run bench`: the six benchmarks of docs/performance.md, each a ratio of nori against a floor measured
 * in the same run. Writes bench/results/<date>.json and latest.json, then regenerates docs/performance.md and
 * its chart. `--quick` (or NORI_BENCH_QUICK=1) is the smoke run: small sizes, one repetition, results in
 * bench/results/quick.tmp and the table on standard output, the docs left alone. `--only writes,reads` runs
 * some. PostgreSQL: BENCH_DATABASE_URL or TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import knexFactory from 'knex';
import { callOverhead } from './call-overhead.js';
import { closeClient, PG_URL, ROOT, type BenchResult, type Settings } from './common.js';
import { growth } from './growth.js';
import { parsing } from './parsing.js';
import { batchReads } from './reads.js';
import { renderDocs, renderTable } from './report.js';
import { smallRequests } from './small-requests.js';
import { batchWrites } from './writes.js';

export const BENCHMARKS: Readonly<Record<string, (s: Settings) => Promise<BenchResult>>> = {
  writes: batchWrites,
  reads: batchReads,
  parsing,
  small: smallRequests,
  call: callOverhead,
  growth,
};

export interface Results {
  readonly version: 1;
  readonly date: string;
  readonly quick: boolean;
  readonly seconds: number;
  readonly git: { readonly commit: string; readonly dirty: readonly string[] };
  readonly machine: { readonly cpus: number; readonly cpu: string; readonly memoryGB: number; readonly node: string; readonly platform: string; readonly postgres: string; readonly loadBefore: readonly number[]; readonly loadAfter: readonly number[] };
  readonly benchmarks: readonly BenchResult[];
}

export interface RunOptions {
  readonly quick: boolean;
  readonly only?: readonly string[];
  readonly log?: (line: string) => void;
}

/** The commit measured, and the files of src, schemas and plugins that differ from it (read-only git). */
function gitState(): Results['git'] {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'schemas', 'plugins'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean).map((l) => l.slice(3));
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: [] };
  }
}

async function postgresVersion(): Promise<string> {
  const knex = knexFactory({ client: 'pg', connection: PG_URL });
  try {
    const { rows } = await knex.raw('SHOW server_version');
    return String((rows as { server_version: string }[])[0]?.server_version);
  } catch (e) {
    throw new Error(`PostgreSQL is not reachable at ${PG_URL}: ${(e as Error).message}`, { cause: e });
  } finally {
    await knex.destroy();
  }
}

/** Runs the benchmarks (all, or `only`) and returns the results; writes nothing. */
export async function runBench(options: RunOptions): Promise<Results> {
  const log = options.log ?? ((line: string) => console.log(line));
  const settings: Settings = { quick: options.quick, reps: options.quick ? 1 : 5, warmup: options.quick ? 0 : 2, log };
  const names = options.only?.length ? options.only : Object.keys(BENCHMARKS);
  for (const n of names) if (!BENCHMARKS[n]) throw new Error(`no benchmark ${n}; there are ${Object.keys(BENCHMARKS).join(', ')}`);
  const postgres = await postgresVersion();
  const loadBefore = loadavg();
  const started = performance.now();
  const benchmarks: BenchResult[] = [];
  try {
    for (const name of names) {
      const t = performance.now();
      try {
        benchmarks.push(await BENCHMARKS[name]!(settings));
        log(`${name}: done in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      } catch (e) {
        // One broken benchmark must not cost the others' numbers; the run still fails at the end.
        const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
        benchmarks.push({ id: name, title: name, nori: '', floor: '', measurements: {}, figures: [], error });
        log(`${name}: FAILED: ${error}`);
      }
    }
  } finally {
    await closeClient();
  }
  return {
    version: 1,
    date: new Date().toISOString(),
    quick: options.quick,
    seconds: (performance.now() - started) / 1000,
    git: gitState(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGB: totalmem() / 2 ** 30, node: process.version, platform: process.platform, postgres, loadBefore, loadAfter: loadavg() },
    benchmarks,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } } });
  const quick = values.quick || process.env.NORI_BENCH_QUICK === '1';
  const results = await runBench({ quick, only: values.only?.split(',').map((s) => s.trim()).filter(Boolean) });
  const dir = join(ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const json = JSON.stringify(results, null, 2) + '\n';
  console.log(`\n${renderTable(results)}\n`);
  const failed = results.benchmarks.filter((b) => b.error);
  if (failed.length) {
    process.exitCode = 1;
    console.error(`FAILED: ${failed.map((b) => b.id).join(', ')}`);
  }
  if (quick || values.only || failed.length) {
    const file = join(dir, quick ? 'quick.tmp' : failed.length ? 'failed.tmp' : 'partial.tmp');
    writeFileSync(file, json);
    console.log(`results: ${file} (a ${quick ? 'quick' : failed.length ? 'failed' : 'partial'} run leaves latest.json and the docs alone)`);
    return;
  }
  const file = join(dir, `${results.date.slice(0, 19).replace(/:/g, '-')}.json`);
  writeFileSync(file, json);
  copyFileSync(file, join(dir, 'latest.json'));
  await renderDocs(results);
  console.log(`results: ${file} and bench/results/latest.json; docs/performance.md and docs/performance-throughput.png regenerated`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
