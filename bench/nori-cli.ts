/**
 * @module bench/nori-cli
 * The `nori` command run from the sources through tsx, for the benchmarks' child processes (`nori serve`),
 * so that a benchmark needs no build and profiles map to src/.
 *
 * With NORI_BENCH_HEAP=1, each SIGUSR2 prints one line `{"benchHeap":{"peak":…,"now":…}}`: the most JS memory
 * (V8 heap plus external) seen since the previous signal, just before any garbage collection or now, from
 * V8's GC profiler. bench/growth.ts measures a batch's memory with it.
 */
import { GCProfiler } from 'node:v8';
import { main } from '../src/cli/main.js';

if (process.env.NORI_BENCH_HEAP === '1') {
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  let profiler = new GCProfiler();
  profiler.start();
  process.on('SIGUSR2', () => {
    const result = profiler.stop();
    const before = (result?.statistics ?? []).map((s) => s.beforeGC.heapStatistics.usedHeapSize + s.beforeGC.heapStatistics.externalMemory);
    console.log(JSON.stringify({ benchHeap: { peak: Math.max(used(), ...before), now: used() } }));
    profiler = new GCProfiler();
    profiler.start();
  });
}

process.exitCode = await main(process.argv.slice(2));
