/**
 * @module bench/processes
 * Child processes: bench scripts run through tsx, and nori as deployed (`nori serve` on one PostgreSQL schema,
 * configured through the environment as the README says, with an API key made beforehand through the
 * engine's keys API); and their memory, read from /proc (Linux).
 */
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname } from 'node:path';
import pino from 'pino';
import { createEngine } from '../src/engine.js';
import { BENCH_PLUGIN, OWNER, PG_URL, ROOT, SECRET_KEY } from './common.js';
import { BIG_LIMITS } from './xml.js';

/** Runs `node <args>` in the checkout (tsx loaded) and returns its standard output; fails with its standard error. */
export function runNode(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`node ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`))));
  });
}

export interface Child {
  readonly pid: number;
  /** The line that said it was ready. */
  readonly ready: string;
  /** The next line of standard output that passes `match`. */
  nextLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** SIGTERM, then waits for the exit (a --cpu-prof child writes its profile on the way out). */
  stop(): Promise<void>;
}

/**
 * Starts `node <args>` (tsx loaded) and waits until a line of its standard output passes `isReady`, or, for a
 * process that prints nothing when it is ready, until `isReady.probe()` says so (`ready` is then '').
 */
export function startNode(args: readonly string[], env: NodeJS.ProcessEnv, isReady: ((line: string) => boolean) | { probe: () => Promise<boolean> }, timeoutMs = 60_000): Promise<Child> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const late = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(late);
  };
  // Every line goes to whoever waits for one like it; the others are dropped (the pipe never fills).
  const waiting = new Set<{ match: (line: string) => boolean; found: (line: string) => void }>();
  let buffered = '';
  child.stdout.on('data', (c: Buffer) => {
    const lines = (buffered + c.toString()).split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      for (const w of waiting) {
        if (!w.match(line)) continue;
        waiting.delete(w);
        w.found(line);
      }
    }
  });
  const nextLine = (match: (line: string) => boolean, wait = 60_000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`node ${args.join(' ')}: no such line in ${wait} ms: ${err}`)), wait);
      waiting.add({ match, found: (line) => (clearTimeout(timer), resolve(line)) });
    });
  const early = new Promise<never>((_, reject) => child.once('close', (code) => reject(new Error(`node ${args.join(' ')} exited ${code} before it was ready: ${err}`))));
  early.catch(() => {}); // only a start that is still waiting hears of it
  const ready =
    typeof isReady === 'function'
      ? nextLine(isReady, timeoutMs)
      : (async () => {
          for (const end = Date.now() + timeoutMs; Date.now() < end; await new Promise((r) => setTimeout(r, 50))) if (await isReady.probe()) return '';
          throw new Error(`node ${args.join(' ')}: not ready in ${timeoutMs} ms: ${err}`);
        })();
  return Promise.race([ready, early]).then(
    (ready) => ({ pid: child.pid!, ready, nextLine, stop }),
    async (e: unknown) => {
      await stop();
      throw e;
    },
  );
}

/** A port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Migrates the schema (with the bench WEBAPI) and returns an API key of OWNER, before any server starts. */
export async function prepareSchema(schema: string): Promise<string> {
  const engine = await createEngine({
    database: { url: PG_URL, schema },
    secretKeys: [SECRET_KEY],
    logger: pino({ level: 'silent' }),
    plugins: { builtins: false, folders: [BENCH_PLUGIN] },
  });
  try {
    return (await engine.keys.create({ contactId: OWNER.contactId, label: 'bench' })).key;
  } finally {
    await engine.close();
  }
}

export interface NoriProcess extends Child {
  readonly url: string;
}

/**
 * `nori serve` in a child process; `node` options first (e.g. --cpu-prof); `heap` turns on heapGrowth's probe;
 * `env` adds to or overrides its environment (NORI_LOG_LEVEL is info, as shipped).
 */
export async function startNori(schema: string, nodeOptions: readonly string[] = [], heap = false, env: NodeJS.ProcessEnv = {}, attempt = 1): Promise<NoriProcess> {
  const port = await freePort();
  const environment = {
    DATABASE_URL: PG_URL,
    NORI_DB_SCHEMA: schema,
    NORI_SECRET_KEY: SECRET_KEY,
    NORI_PORT: String(port),
    NORI_PLUGIN_DIRS: dirname(BENCH_PLUGIN),
    NORI_MAX_BODY_BYTES: String(BIG_LIMITS.maxBytes),
    NORI_MAX_ELEMENTS: String(BIG_LIMITS.maxElements),
    NORI_MAX_COMMANDS: String(BIG_LIMITS.maxCommands),
    NORI_LOG_LEVEL: 'info',
    NORI_BENCH_HEAP: heap ? '1' : '',
    ...env,
  };
  try {
    // At a level above info nori says nothing when it listens: its /health is asked instead.
    const url = `http://127.0.0.1:${port}/`;
    const health = { probe: () => fetch(`${url}health`).then((r) => r.ok, () => false) };
    const child = await startNode([...nodeOptions, 'bench/nori-cli.ts', 'serve'], environment, environment.NORI_LOG_LEVEL === 'info' ? (line) => line.includes('nori is listening') : health);
    return { ...child, url };
  } catch (e) {
    // The port was free when asked for; on a shared machine another process may take it first.
    if (attempt < 3 && String(e).includes('EADDRINUSE')) return startNori(schema, nodeOptions, heap, env, attempt + 1);
    throw e;
  }
}

/**
 * The peak of a `nori serve` child's JS memory (V8 heap plus external, such as Buffers) while `work` runs,
 * above the same measure before: from V8's GC profiler in the child (bench/nori-cli.ts, NORI_BENCH_HEAP=1),
 * which records the heap just before every collection. Unlike RSS, it does not depend on what the process
 * happened to keep from before.
 */
export async function heapGrowth(nori: Child, work: () => Promise<unknown>): Promise<number> {
  const ask = async () => {
    const line = nori.nextLine((l) => l.startsWith('{"benchHeap"'));
    process.kill(nori.pid, 'SIGUSR2');
    return (JSON.parse(await line) as { benchHeap: { peak: number; now: number } }).benchHeap;
  };
  const before = await ask();
  await work();
  const during = await ask();
  return Math.max(0, during.peak - before.now);
}

/** A /proc/<pid>/status field in bytes (VmRSS now, VmHWM the peak since the last reset). */
function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no ${field} for process ${pid}`);
  return Number(m[1]) * 1024;
}

export const rssOf = (pid: number) => status(pid, 'VmRSS');

/**
 * Runs `work` and returns the process's peak RSS during it, above `baseline` (its RSS when idle after start):
 * from the kernel's peak, reset first, where Linux allows it, and from sampling every 10 ms anyway.
 */
export async function peakGrowth(pid: number, baseline: number, work: () => Promise<unknown>): Promise<number> {
  let reset = true;
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    reset = false;
  }
  let sampled = rssOf(pid);
  const timer = setInterval(() => (sampled = Math.max(sampled, rssOf(pid))), 10);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  const peak = Math.max(sampled, rssOf(pid), reset ? status(pid, 'VmHWM') : 0);
  return Math.max(0, peak - baseline);
}
