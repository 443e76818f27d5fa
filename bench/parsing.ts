/**
 * @module bench/parsing
 * 3. Parsing: the engine's parse and validation of a 20 MB batch against a bare saxes pass over it, and the
 * memory parsing, validating and answering a 5, 10 and 20 MB batch takes. Every measurement runs in a fresh
 * child process (bench/parse-child.ts), the two sides in turns.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, figure, median, missed, type BenchResult, type Settings } from './common.js';
import { runNode } from './processes.js';
import { hotspots, readProfile, withHotspots } from './profile.js';
import { batchOfSize, parseAndValidate } from './xml.js';

interface Memory {
  readonly batchMB: number;
  readonly responseMB: number;
  readonly commands: number;
  readonly peakGrowthMB: number;
  readonly commandsMB: number;
  readonly responseHeapMB: number;
}

const child = async <T>(args: string[]): Promise<T> => JSON.parse((await runNode(['--expose-gc', 'bench/parse-child.ts', ...args])).trim().split('\n').pop()!) as T;

/** The ms of each pass of each mode of parse-child, `processes` fresh processes of each, the modes in turns. */
async function inTurns(modes: readonly string[], processes: number, file: string, passes: string): Promise<number[][]> {
  const out = modes.map(() => [] as number[]);
  for (let i = 0; i < processes; i++) {
    for (const [k, mode] of modes.entries()) out[k]!.push(...(await child<number[]>([mode, file, passes])));
  }
  return out;
}

const label = (mb: number) => (mb < 1 ? mb.toFixed(2) : mb.toFixed(0));

export async function parsing(settings: Settings): Promise<BenchResult> {
  const mb = settings.quick ? 1 : 20;
  const sizes = settings.quick ? [0.25, 0.5, 1] : [5, 10, 20];
  const dir = mkdtempSync(join(tmpdir(), 'nori-bench-'));
  try {
    const file = (size: number) => join(dir, `batch-${size}.xml`);
    for (const size of new Set([...sizes, mb])) writeFileSync(file(size), batchOfSize(size * 2 ** 20));
    const body = Buffer.from(batchOfSize(mb * 2 ** 20));
    const commands = body.toString('utf8').split('<CREATE>').length - 1;
    const valid = parseAndValidate(body).filter((c) => !('code' in c)).length;
    expect(valid === commands, `${valid} of ${commands} commands validate`);

    settings.log(`parsing: ${(body.length / 2 ** 20).toFixed(1)} MB, ${commands} commands, ${Math.ceil(settings.reps / 2)} processes each side`);
    const passes = String(settings.quick ? 1 : 2);
    const [nori = [], saxes = []] = await inTurns(['time-nori', 'time-saxes'], Math.max(1, Math.ceil(settings.reps / 2)), file(mb), passes);
    const mbs = (ms: number[]) => body.length / 2 ** 20 / (median(ms) / 1000);
    const noriMBs = mbs(nori);
    const saxesMBs = mbs(saxes);
    // Where the time goes: the parse alone, then validation with each command dropped; what remains of nori's
    // time is keeping the validated commands until the batch runs (their allocation and the collector's copying).
    const [parseOnly = [], dropped = []] = await inTurns(['time-parse', 'time-drop'], Math.max(1, Math.ceil(settings.reps / 4)), file(mb), passes);
    const parseOnlyMBs = mbs(parseOnly);
    const droppedMBs = mbs(dropped);

    const memory: Memory[] = [];
    for (const size of sizes) memory.push(await child<Memory>(['memory', file(size)]));
    const small = memory[0]!;
    const large = memory[memory.length - 1]!;
    const perMB = (m: Memory) => m.peakGrowthMB / m.batchMB;
    const measurements: Record<string, number> = { batchBytes: body.length, commands, noriMs: median(nori), saxesMs: median(saxes), noriMBs, saxesMBs, parseOnlyMBs, validatedDroppedMBs: droppedMBs };
    for (const [i, m] of memory.entries()) {
      const k = `${label(sizes[i]!)}MB`;
      Object.assign(measurements, { [`peakGrowthMB_${k}`]: m.peakGrowthMB, [`commandsHeapMB_${k}`]: m.commandsMB, [`responseMB_${k}`]: m.responseMB });
    }
    const result: BenchResult = {
      id: 'parsing',
      title: `Parsing (${label(mb)} MB batch)`,
      nori: 'parseXml (saxes, limits, positions) validating each command as it closes, as the engine does, from the Buffer the HTTP layer hands over; in a fresh process',
      floor: 'decoding the same Buffer and one bare saxes pass over it (default options, counting events), in a fresh process',
      measurements,
      figures: [
        figure('nori throughput ÷ saxes throughput', noriMBs / saxesMBs, 'x', '>=', 0.6),
        figure(
          `peak memory ÷ (batch + response), ${label(sizes.at(-1)!)} MB`,
          large.peakGrowthMB / (large.batchMB + large.responseMB),
          'x',
          '<=',
          2,
          `of the ${large.peakGrowthMB.toFixed(0)} MB peak for the ${large.batchMB.toFixed(0)} MB batch, the validated commands keep ${large.commandsMB.toFixed(0)} MB of heap, ` +
            `the answers and the ${large.responseMB.toFixed(0)} MB response ${large.responseHeapMB.toFixed(0)} MB; the rest is garbage made on the way`,
        ),
        figure(`peak memory per batch MB, ${label(sizes.at(-1)!)} MB ÷ ${label(sizes[0]!)} MB`, perMB(large) / perMB(small), 'x', '<=', 1.1),
      ],
      notes: [
        `Where nori's time goes: parseXml alone runs at ${parseOnlyMBs.toFixed(0)} MB/s (${(parseOnlyMBs / saxesMBs).toFixed(2)}× saxes); validating each command and dropping it, ` +
          `${droppedMBs.toFixed(0)} MB/s (${(droppedMBs / saxesMBs).toFixed(2)}×); keeping the ${commands} validated commands for the run, as the engine must, ${noriMBs.toFixed(0)} MB/s ` +
          `(${(noriMBs / saxesMBs).toFixed(2)}×): ${(median(nori) - median(dropped)).toFixed(0)} of nori's ${median(nori).toFixed(0)} ms go to allocating and keeping the commands.`,
        ...memory.map(
          (m) =>
            `${m.batchMB.toFixed(1)} MB batch (${m.commands} commands): peak RSS +${m.peakGrowthMB.toFixed(0)} MB; heap kept by the validated commands ` +
            `${m.commandsMB.toFixed(0)} MB, by the answers and the ${m.responseMB.toFixed(1)} MB response ${m.responseHeapMB.toFixed(0)} MB.`,
        ),
      ],
    };
    if (!missed(result)) return result;
    // Profiled in a fresh process too: in this one, the floors of other benchmarks have used saxes already.
    const profiles = join(dir, 'profiles');
    await runNode(['--expose-gc', '--cpu-prof', `--cpu-prof-dir=${profiles}`, 'bench/parse-child.ts', 'time-nori', file(mb), passes]);
    const found = hotspots(readProfile(join(profiles, readdirSync(profiles)[0]!)), `a fresh process (--cpu-prof) parsing and validating the ${label(mb)} MB batch ${Number(passes) + 1} times`);
    return withHotspots(result, found, `keeping the validated commands for the run costs ${(median(nori) - median(dropped)).toFixed(0)} of ${median(nori).toFixed(0)} ms`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
