/**
 * @module bench/growth
 * 6. Growth: batches of 1k, 10k and 100k CREATEs to a `nori serve` process (time and the process's peak
 * memory, against the floor at each size: a saxes pass plus multi-row INSERTs), then the same work through two
 * nori processes on one PostgreSQL against one.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { dropSchema, expect, figure, freshSchema, median, missed, OWNER, PG_URL, post, timed, withCleanup, type BenchResult, type Settings } from './common.js';
import { heapGrowth, peakGrowth, prepareSchema, rssOf, startNori, type NoriProcess } from './processes.js';
import { hotspots, readProfile, withHotspots } from './profile.js';
import { accountRecord, createBatch, saxesRows } from './xml.js';

const created = (xml: string) => xml.split('msgType="0"').length - 1;

async function send(nori: NoriProcess, key: string, doc: string, n: number): Promise<void> {
  const r = await post(nori.url, key, doc);
  expect(r.status === 200 && created(r.body) === n, `nori answered ${r.status} with ${created(r.body)} of ${n} created: ${r.body.slice(0, 200)}`);
}

/** The floor at any size: one saxes pass, then multi-row INSERTs of 1,000 rows (PostgreSQL's 65,535 bindings) in one transaction. */
async function floor(knex: Knex, doc: string): Promise<void> {
  const now = new Date();
  const rows = saxesRows(doc).map((row) => accountRecord(row, OWNER, now));
  await knex.transaction(async (trx) => {
    for (let i = 0; i < rows.length; i += 1000) await trx('webaccount').insert(rows.slice(i, i + 1000));
  });
}

/** `batches` batches of `n` CREATEs, `inFlight` at a time, spread over the processes in turn: commands per second. */
async function spread(processes: readonly NoriProcess[], key: string, doc: string, n: number, batches: number, inFlight: number): Promise<number> {
  let next = 0;
  const ms = await timed(() =>
    Promise.all(Array.from({ length: inFlight }, async () => {
      for (let i = next++; i < batches; i = next++) await send(processes[i % processes.length]!, key, doc, n);
    })),
  );
  return (batches * n) / (ms / 1000);
}

export const growth = (settings: Settings): Promise<BenchResult> => withCleanup(async (defer) => {
  const sizes = settings.quick ? [100, 1000] : [1000, 10_000, 100_000];
  const repsOf = (n: number) => (settings.quick ? 1 : n >= 100_000 ? 3 : 5);
  const schema = defer(freshSchema(), dropSchema);
  const key = await prepareSchema(schema);
  const knex = defer(knexFactory({ client: 'pg', connection: PG_URL, searchPath: [schema], pool: { min: 0, max: 2 } }), (k) => k.destroy());
  const truncate = () => knex.raw('TRUNCATE webaccount RESTART IDENTITY CASCADE');
  const docs = new Map(sizes.map((n) => [n, createBatch(n)]));
  const a = defer(await startNori(schema), (p) => p.stop());
  const b = defer(await startNori(schema), (p) => p.stop());
  settings.log(`growth: ${sizes.join(', ')} commands in one batch to a nori process`);
  await send(a, key, docs.get(sizes[0]!)!, sizes[0]!);
  await send(b, key, docs.get(sizes[0]!)!, sizes[0]!);
  const time = new Map<number, number>();
  const memory = new Map<number, number>();
  const floorRate = new Map<number, number>();
  const rssPeak = new Map<number, number>();
  for (const n of sizes) {
    const doc = docs.get(n)!;
    const ms: number[] = [];
    const floors: number[] = [];
    for (let i = 0; i < repsOf(n); i++) {
      await truncate();
      ms.push(await timed(() => send(a, key, doc, n)));
      await truncate();
      floors.push(await timed(() => floor(knex, doc)));
    }
    // Memory in fresh processes, after one small batch: the JS memory a batch needs at its peak, and the RSS.
    const peaks: number[] = [];
    const rss: number[] = [];
    for (let i = 0; i < (settings.quick ? 1 : 3); i++) {
      const fresh = await startNori(schema, [], true);
      try {
        await send(fresh, key, docs.get(sizes[0]!)!, sizes[0]!);
        await truncate();
        const idle = rssOf(fresh.pid);
        rss.push(await peakGrowth(fresh.pid, idle, async () => peaks.push(await heapGrowth(fresh, () => send(fresh, key, doc, n)))));
      } finally {
        await fresh.stop();
      }
    }
    rssPeak.set(n, median(rss));
    time.set(n, median(ms));
    memory.set(n, median(peaks));
    floorRate.set(n, (n / median(floors)) * 1000);
    settings.log(`  ${n}: nori ${median(ms).toFixed(0)} ms, +${(median(peaks) / 2 ** 20).toFixed(0)} MB; floor ${median(floors).toFixed(0)} ms`);
  }

  const n = sizes[0]!;
  const batches = settings.quick ? 4 : 60;
  const inFlight = 4;
  settings.log(`growth: ${batches} batches of ${n}, ${inFlight} in flight, one process against two`);
  const rates = { one: [] as number[], two: [] as number[] };
  for (let i = 0; i < settings.reps; i++) {
    for (const side of i % 2 === 0 ? (['one', 'two'] as const) : (['two', 'one'] as const)) {
      await truncate();
      rates[side].push(await spread(side === 'one' ? [a] : [a, b], key, docs.get(n)!, n, batches, inFlight));
      const stored = Number(((await knex('webaccount').count({ count: '*' })) as { count: string | number }[])[0]?.count);
      expect(stored === batches * n, `${stored} rows after ${batches * n} acknowledged CREATEs`);
    }
  }

  const [s0, s1] = sizes;
  const last = sizes.at(-1)!;
  const before = sizes.at(-2)!;
  const figures = [
    figure(`time, ${s1!.toLocaleString('en')} ÷ ${s0!.toLocaleString('en')} commands (10× the work)`, time.get(s1!)! / time.get(s0!)!, 'x', '<=', 11),
    ...(sizes.length > 2 ? [figure(`time, ${last.toLocaleString('en')} ÷ ${before.toLocaleString('en')} commands`, time.get(last)! / time.get(before)!, 'x', '<=', 11)] : []),
    figure(
      `peak memory, ${last.toLocaleString('en')} ÷ ${before.toLocaleString('en')} commands`,
      memory.get(last)! / memory.get(before)!,
      'x',
      '<=',
      11,
      `peak JS memory +${(memory.get(last)! / 2 ** 20).toFixed(0)} MB for ${last.toLocaleString('en')} commands against +${(memory.get(before)! / 2 ** 20).toFixed(0)} MB for ${before.toLocaleString('en')} (what holds it: see Parsing)`,
    ),
    figure(
      'two processes ÷ one, commands/s',
      median(rates.two) / median(rates.one),
      'x',
      '>=',
      1,
      `one process ${median(rates.one).toFixed(0)}/s, two ${median(rates.two).toFixed(0)}/s, on ${cpus().length} cores shared with PostgreSQL and the client`,
    ),
  ];
  const measurements: Record<string, number> = { oneProcessPerSecond: median(rates.one), twoProcessesPerSecond: median(rates.two) };
  for (const size of sizes) {
    Object.assign(measurements, { [`ms_${size}`]: time.get(size)!, [`heapPeakGrowthMB_${size}`]: memory.get(size)! / 2 ** 20, [`rssPeakGrowthMB_${size}`]: rssPeak.get(size)! / 2 ** 20, [`floorPerSecond_${size}`]: floorRate.get(size)! });
  }
  const result: BenchResult = {
    id: 'growth',
    title: 'Growth',
    nori: `one POST of ${sizes.map((s) => s.toLocaleString('en')).join(', ')} CREATEs to a \`nori serve\` child process (time; and, in fresh processes after one small batch, the peak of V8's heap plus external memory, and of RSS); then ${batches} batches of ${n.toLocaleString('en')}, ${inFlight} in flight, to one process or spread over two on the same schema`,
    floor: 'at each size, a saxes pass plus multi-row INSERTs of 1,000 rows in one transaction (for the chart); linearity is nori against itself',
    measurements,
    figures,
    series: { sizes, nori: sizes.map((s) => (s / time.get(s)!) * 1000), floor: sizes.map((s) => floorRate.get(s)!) },
    notes: sizes.map((s) => `${s.toLocaleString('en')} commands: ${time.get(s)!.toFixed(0)} ms (${((s / time.get(s)!) * 1000).toFixed(0)}/s), peak JS memory +${(memory.get(s)! / 2 ** 20).toFixed(0)} MB (RSS +${(rssPeak.get(s)! / 2 ** 20).toFixed(0)} MB); medians of ${repsOf(s)} batches and of ${settings.quick ? 1 : 3} fresh processes.`),
  };
  if (!missed(result)) return result;
  // The profile: a fresh process with --cpu-prof, sent the largest batch.
  const profiled = sizes.at(-1)!;
  const dir = defer(mkdtempSync(join(tmpdir(), 'nori-prof-')), async (d) => rmSync(d, { recursive: true, force: true }));
  const c = defer(await startNori(schema, ['--cpu-prof', `--cpu-prof-dir=${dir}`]), (p) => p.stop());
  await truncate();
  await send(c, key, docs.get(profiled)!, profiled);
  await c.stop(); // the profile is written on the way out
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  expect(file !== undefined, 'the profiled nori process wrote no profile');
  // The database grows a little faster than the work too: the floor's own steps put nori's in proportion.
  const floorSteps = sizes.slice(1).map((s, i) => `${((floorRate.get(sizes[i]!)! / floorRate.get(s)!) * (s / sizes[i]!)).toFixed(1)}× from ${sizes[i]!.toLocaleString('en')} to ${s.toLocaleString('en')}`);
  const found = hotspots(readProfile(join(dir, file!)), `a nori serve process (--cpu-prof; module loading left out), sent one batch of ${profiled.toLocaleString('en')}`);
  return withHotspots(result, found, `the floor's time grows ${floorSteps.join(' and ')}`);
});
