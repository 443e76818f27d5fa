/**
 * @module bench/profile
 * Where nori's time goes when a target is missed: a V8 CPU profile (the same .cpuprofile JSON that
 * `node --cpu-prof` writes), taken in this process through the inspector or read from a child's file, reduced
 * to the top self-time frames and the modules they belong to.
 */
import { readFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { findSourceMap } from 'node:module';
import { ROOT, type BenchResult, type Figure, type Frame, type Hotspots } from './common.js';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber: number;
}

export interface CpuProfile {
  readonly nodes: readonly { readonly id: number; readonly callFrame: CallFrame; readonly children?: readonly number[] }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** Profiles `work` in this process (sampling every 250 µs). */
export async function profileInProcess(work: () => Promise<unknown>): Promise<CpuProfile> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 250 });
    await session.post('Profiler.start');
    const outcome = await work().then(() => undefined, (e: unknown) => ({ e }));
    const { profile } = await session.post('Profiler.stop');
    if (outcome) throw outcome.e;
    return profile as unknown as CpuProfile;
  } finally {
    session.disconnect();
  }
}

export const readProfile = (file: string): CpuProfile => JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;

/**
 * A frame's place: a path in the checkout, a package, or a node internal. tsx compiles nori's TypeScript to
 * one line per module, so the line comes from the module's source map when this process loaded it too.
 */
function where(frame: CallFrame): string {
  const url = frame.url.replace(/^file:\/\//, '');
  if (!url) return '';
  const local = url.startsWith(ROOT) ? url.slice(ROOT.length) : url;
  let line = frame.lineNumber + 1;
  if (/\.ts$/.test(url)) {
    const entry = findSourceMap(frame.url)?.findEntry(frame.lineNumber, frame.columnNumber) as { originalLine?: number } | undefined;
    if (entry?.originalLine !== undefined) line = entry.originalLine + 1;
  }
  return `${local}:${line}`;
}

/** The module of a frame with a script: an npm package, a nori source file, or node itself. */
function moduleOf(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path);
  if (pkg) return pkg[1]!;
  if (path.startsWith('node:')) return 'node';
  return path.startsWith(ROOT) ? path.slice(ROOT.length) : path;
}

const IDLE = new Set(['(idle)', '(root)']);
/** V8's own buckets: their time is nobody's call. */
const V8_BUCKETS = new Set(['(garbage collector)', '(program)']);

interface Tree {
  readonly frame: (id: number) => CallFrame | undefined;
  readonly parent: (id: number) => number | undefined;
  readonly children: (id: number) => readonly number[];
}

function treeOf(profile: CpuProfile): Tree {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parents = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parents.set(c, n.id);
  return { frame: (id) => byId.get(id)?.callFrame, parent: (id) => parents.get(id), children: (id) => byId.get(id)?.children ?? [] };
}

/**
 * Nodes that are not the work profiled: the inspector's own calls (starting and stopping the profiler), and
 * loading modules (a child profiled with --cpu-prof from its start).
 */
function setUpNodes(profile: CpuProfile, tree: Tree): Set<number> {
  const out = new Set<number>();
  const mark = (id: number): void => {
    out.add(id);
    for (const c of tree.children(id)) mark(c);
  };
  const isSetUp = ({ url }: CallFrame) => url === 'node:inspector' || url.startsWith('node:internal/modules/') || url.includes('/node_modules/tsx/');
  for (const n of profile.nodes) if (isSetUp(n.callFrame) && !out.has(n.id)) mark(n.id);
  return out;
}

/**
 * Who asked for the work of a node: the nearest frame, itself or a caller, in a package or in nori's code.
 * Native functions (writev, string builtins) and node's internals count for the module that called them, so
 * a socket write shows as pg's or fastify's.
 */
function ownerOf(tree: Tree, id: number, memo: Map<number, string>): string {
  const known = memo.get(id);
  if (known !== undefined) return known;
  const frame = tree.frame(id);
  let owner: string;
  if (frame && V8_BUCKETS.has(frame.functionName)) owner = frame.functionName;
  else if (frame?.url && !frame.url.startsWith('node:')) owner = moduleOf(frame.url);
  else {
    const up = tree.parent(id);
    owner = up === undefined ? 'node' : ownerOf(tree, up, memo);
    if (owner === '(root)' || owner === '(idle)') owner = 'node';
  }
  memo.set(id, owner);
  return owner;
}

/** The top self-time frames, and the modules that asked for the busy time, as shares of the busy time. */
export function hotspots(profile: CpuProfile, profiled: string, top = 5): Hotspots {
  const tree = treeOf(profile);
  const setUp = setUpNodes(profile, tree);
  const owners = new Map<number, string>();
  const self = new Map<string, { frame: CallFrame; us: number; callers: Map<string, number> }>();
  const modules = new Map<string, number>();
  let idle = 0;
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const frame = tree.frame(id);
    const us = profile.timeDeltas[i] ?? 0;
    if (!frame || us <= 0 || setUp.has(id)) return;
    if (IDLE.has(frame.functionName)) {
      idle += us;
      return;
    }
    busy += us;
    const owner = ownerOf(tree, id, owners);
    const key = `${frame.functionName}|${frame.url}|${frame.lineNumber}`;
    const entry = self.get(key) ?? { frame, us: 0, callers: new Map<string, number>() };
    entry.us += us;
    entry.callers.set(owner, (entry.callers.get(owner) ?? 0) + us);
    self.set(key, entry);
    modules.set(owner, (modules.get(owner) ?? 0) + us);
  });
  const share = (us: number) => (busy ? us / busy : 0);
  const frames: Frame[] = [...self.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map(({ frame, us, callers }) => {
      // A native function or node internal works for whoever called it: name the main callers.
      const asked = [...callers.entries()].sort((a, b) => b[1] - a[1]).slice(0, 2).map(([m, t]) => `${m} ${((t / us) * 100).toFixed(0)} %`).join(', ');
      const native = !frame.url && !V8_BUCKETS.has(frame.functionName);
      const place = native ? `native, for ${asked}` : frame.url.startsWith('node:') ? `${where(frame)}, for ${asked}` : where(frame);
      return { fn: frame.functionName || '(anonymous)', where: place, selfMs: us / 1000, share: share(us) };
    });
  return {
    profiled,
    busy: busy + idle ? busy / (busy + idle) : 0,
    frames,
    modules: [...modules.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([module, us]) => ({ module, share: share(us) })),
  };
}

/** The hot spot in one line: the module with most self time, and the frame. */
export function hotspotLine(h: Hotspots): string {
  const m = h.modules[0];
  const f = h.frames[0];
  const pct = (share: number) => `${(share * 100).toFixed(0)} %`;
  const waiting = h.busy < 0.7 ? `busy ${pct(h.busy)} of the time (the rest waiting on PostgreSQL or the network); ` : '';
  return `${waiting}${m ? `\`${m.module}\` ${pct(m.share)} of busy time` : ''}${f ? `, top frame \`${f.fn}\` ${pct(f.share)}` : ''}`;
}

/** The result with its hot spots, each missed figure without a cause of its own naming them (after `lead`). */
export function withHotspots(result: BenchResult, found: Hotspots, lead = ''): BenchResult {
  const cause = `${lead ? `${lead}; ` : ''}${hotspotLine(found)}`;
  const figures: Figure[] = result.figures.map((f) => (f.pass || f.cause ? f : { ...f, cause }));
  return { ...result, figures, hotspots: found };
}
