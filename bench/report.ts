/**
 * @module bench/report
 * docs/performance.md and docs/performance-throughput.png, written from a results file: the page is
 * regenerated, never edited by hand. `npm run bench:report` renders bench/results/latest.json again.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { chartSvg, renderPng } from './chart.js';
import { ROOT, type BenchResult, type Figure } from './common.js';
import { hotspotLine } from './profile.js';
import type { LoadReport } from './load.js';
import { INTRO, METHOD } from './report-text.js';
import type { Results } from './run.js';

const pct = (share: number) => `${(share * 100).toFixed(0)} %`;

/** Numbers as people read them: 3 significant figures, thousands grouped. */
export function num(v: number): string {
  if (Number.isInteger(v)) return v.toLocaleString('en');
  const abs = Math.abs(v);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return v.toLocaleString('en', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

// Two decimals always, so that a figure just past its target never reads as the target itself.
const value = (f: Figure) => `${f.value.toFixed(2)}${f.unit === 'ms' ? ' ms' : '×'}`;
const target = (f: Figure) => `${f.target.op === '<=' ? '≤' : '≥'} ${f.target.value}${f.unit === 'ms' ? ' ms' : '×'}`;

/** Why a figure missed: its own cause (memory), else the benchmark's CPU hot spot. */
const cause = (b: BenchResult, f: Figure) => f.cause ?? (b.hotspots ? hotspotLine(b.hotspots) : '');

/** The results table: one row per figure, with its target and PASS or MISS (and the hot spot). */
export function renderTable(results: Results): string {
  const rows = ['| benchmark | figure | measured | target | result |', '| --- | --- | --- | --- | --- |'];
  for (const b of results.benchmarks) {
    if (b.error) rows.push(`| ${b.title} | (did not finish) | | | **FAILED**: ${b.error.split('\n')[0]} |`);
    for (const f of b.figures) {
      const verdict = f.pass ? 'PASS' : `**MISS**${cause(b, f) ? `: ${cause(b, f)}` : ''}`;
      rows.push(`| ${b.title} | ${f.label} | ${value(f)} | ${target(f)} | ${verdict} |`);
    }
  }
  return rows.join('\n');
}

function measurements(b: BenchResult): string {
  const rows = ['| measurement | value |', '| --- | --- |'];
  for (const [k, v] of Object.entries(b.measurements)) rows.push(`| ${k} | ${num(v)} |`);
  return rows.join('\n');
}

function hotspotSection(b: BenchResult): string {
  const h = b.hotspots;
  if (!h) return '';
  const frames = h.frames.map((f, i) => `| ${i + 1} | \`${f.fn}\` | ${f.where ? `\`${f.where}\`` : '(V8 / native)'} | ${num(f.selfMs)} | ${pct(f.share)} |`);
  const modules = h.modules.map((m) => `\`${m.module}\` ${pct(m.share)}`).join(', ');
  return [
    `**Hot spot** (profile of ${h.profiled}; busy ${pct(h.busy)} of its wall time): ${modules}.`,
    '',
    '| # | function (self time) | where | ms | share of busy time |',
    '| --- | --- | --- | --- | --- |',
    ...frames,
  ].join('\n');
}

function section(b: BenchResult): string {
  const missedFigures = b.figures.filter((f) => !f.pass);
  return [
    `### ${b.title}`,
    '',
    `- **nori**: ${b.nori}.`,
    `- **floor**: ${b.floor}.`,
    ...b.figures.map((f) => `- ${f.label}: **${value(f)}** (target ${target(f)}): ${f.pass ? 'PASS' : '**MISS**'}`),
    ...(b.notes ?? []).map((n) => `- ${n}`),
    '',
    measurements(b),
    '',
    missedFigures.length ? hotspotSection(b) : '',
    '',
  ].join('\n');
}

/** The last `npm run load` (bench/results/load.json), which runs apart from the benchmarks: ten minutes. */
export function loadSection(load: LoadReport | undefined): string {
  if (!load) return '## Load and soak\n\nNo run recorded yet: `npm run load` writes bench/results/load.json.\n';
  const ops = Object.entries(load.latency).map(([op, l]) => `| ${op} | ${num(l.count)} | ${num(l.p50)} | ${num(l.p99)} |`);
  const rss = load.samples.map((x) => x.rssMb);
  const fds = load.samples.map((x) => x.fds);
  const verdict = load.failures.length === 0 && !load.leak ? 'PASS' : '**FAIL**';
  return [
    '## Load and soak',
    '',
    `\`npm run load\`: a \`nori serve\` process on PostgreSQL, ${num(load.seconds)} s of a mixed workload at concurrency ${load.concurrency} ` +
      '(SEARCH 30 %, CREATE 25 %, UPDATE 20 %, CALL to the echo peer 20 %, a whole AUTHORIZE flow through the callback 5 %), from a client ' +
      'process that also runs the peer. It fails on any failed request, and on a leak: after the first fifth, a trend (the least-squares line ' +
      'through the samples) of a quarter more memory, or 20 more open descriptors (sockets included).',
    '',
    `Last run: ${load.date.slice(0, 16).replace('T', ' ')} UTC, commit \`${load.git.commit.slice(0, 12)}\`${load.git.dirty ? ' with uncommitted changes' : ''}; ` +
      `${load.machine.cpus} cores, load average ${load.machine.loadBefore.map((l) => l.toFixed(1)).join(' / ')} before and ${load.machine.loadAfter.map((l) => l.toFixed(1)).join(' / ')} after. ` +
      `**${verdict}**: ${num(load.requests)} requests (${num(load.requests / load.seconds)}/s), ${load.failures.length} failed; ` +
      `server memory ${num(Math.min(...rss))}–${num(Math.max(...rss))} MB RSS, trend after warm-up ${(load.growth.rss * 100).toFixed(1)} %; ` +
      `open descriptors ${Math.min(...fds)}–${Math.max(...fds)}, trend ${load.growth.fds >= 0 ? '+' : ''}${load.growth.fds}.`,
    '',
    '| request | count | p50 ms | p99 ms |',
    '| --- | --- | --- | --- |',
    ...ops,
    '',
  ].join('\n');
}

export function renderMarkdown(results: Results, load?: LoadReport): string {
  const m = results.machine;
  const missedAll = results.benchmarks.flatMap((b) => b.figures.filter((f) => !f.pass).map((f) => ({ b, f })));
  const growth = results.benchmarks.find((b) => b.series);
  return [
    '<!-- Generated by bench/report.ts from bench/results/latest.json: run `npm run bench`, do not edit. -->',
    INTRO,
    '## This run',
    '',
    `${results.date.slice(0, 16).replace('T', ' ')} UTC, commit \`${results.git.commit.slice(0, 12)}\`${results.git.dirty.length ? ` with uncommitted changes to ${results.git.dirty.map((d) => `\`${d}\``).join(', ')}` : ''}; ` +
      `${m.cpus} × ${m.cpu}, ${num(m.memoryGB)} GB, Node ${m.node}, PostgreSQL ${m.postgres} on the same machine; ` +
      `load average ${m.loadBefore.map((l) => l.toFixed(1)).join(' / ')} before and ${m.loadAfter.map((l) => l.toFixed(1)).join(' / ')} after (1 / 5 / 15 min); ${num(results.seconds)} s in all.${results.quick ? ' **A quick (smoke) run: sizes are small, figures are not meaningful.**' : ''}`,
    '',
    renderTable(results),
    '',
    growth ? '![Throughput against batch size](performance-throughput.png)\n' : '',
    '## Missed targets',
    '',
    missedAll.length
      ? missedAll.map(({ b, f }) => `- **${b.title}**, ${f.label}: ${value(f)} against ${target(f)}.${cause(b, f) ? ` Hot spot: ${cause(b, f)}.` : ''}`).join('\n')
      : 'None: every target is met.',
    '',
    loadSection(load),
    '## Each benchmark',
    '',
    ...results.benchmarks.map(section),
    METHOD,
  ].join('\n');
}

const subtitle = (r: Results) => `${r.date.slice(0, 10)}, commit ${r.git.commit.slice(0, 10)}, ${r.machine.cpus} cores; median of each size`;

/** The chart's SVG, when the results have the growth series. */
export function renderSvg(results: Results): string | undefined {
  const series = results.benchmarks.find((b) => b.series)?.series;
  return series && chartSvg(series, subtitle(results));
}

/** Writes docs/performance.md and docs/performance-throughput.png (or into `dir`). */
export async function renderDocs(results: Results, dir = join(ROOT, 'docs')): Promise<{ markdown: string; png?: string }> {
  const loadFile = join(ROOT, 'bench/results/load.json');
  const load = existsSync(loadFile) ? (JSON.parse(readFileSync(loadFile, 'utf8')) as Partial<LoadReport>) : undefined;
  // A load.json from before the run recorded its date and commit is not shown as if it were current.
  const markdown = renderMarkdown(results, load?.git ? (load as LoadReport) : undefined);
  writeFileSync(join(dir, 'performance.md'), markdown);
  const svg = renderSvg(results);
  if (!svg) return { markdown };
  const png = join(dir, 'performance-throughput.png');
  await renderPng(svg, png);
  return { markdown, png };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const results = JSON.parse(readFileSync(join(ROOT, 'bench/results/latest.json'), 'utf8')) as Results;
  renderDocs(results).then(
    () => console.log('docs/performance.md and docs/performance-throughput.png written from bench/results/latest.json'),
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
