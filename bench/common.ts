/**
 * @module bench/common
 * What every benchmark shares: the shape of a result, statistics, verdicts against targets, engines and
 * servers on PostgreSQL in a fresh schema that is dropped afterwards, and a keep-alive HTTP client.
 */
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import knexFactory, { type Knex } from 'knex';
import pino from 'pino';
import { Agent, request } from 'undici';
import { createEngine, type Engine, type EngineOptions } from '../src/engine.js';
import { createServer } from '../src/http/server.js';
import type { Principal } from '../src/principal.js';

export const PG_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** The checkout's root, with a trailing slash. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The bench plugin (an API-key service), which also gives the WEBAPI `bench` every account names. */
export const BENCH_PLUGIN = fileURLToPath(new URL('./plugins/bench', import.meta.url));
export const SECRET_KEY = randomBytes(32).toString('base64');
/** The caller of every benchmark: an ordinary (non-admin) owner, so permissions are checked as in production. */
export const OWNER: Principal = Object.freeze({ contactId: 2, groups: [], admin: false });

/** How a run is sized: `quick` is the smoke run (small sizes, one repetition). */
export interface Settings {
  readonly quick: boolean;
  /** Measured repetitions of each side of a comparison. */
  readonly reps: number;
  /** Unmeasured repetitions first. */
  readonly warmup: number;
  readonly log: (line: string) => void;
}

export interface Target {
  readonly op: '<=' | '>=';
  readonly value: number;
}

/** One reported figure: a ratio of nori against its floor (or an added latency), with its target. */
export interface Figure {
  readonly label: string;
  readonly value: number;
  /** `x`: a ratio; `ms`: milliseconds added. */
  readonly unit: 'x' | 'ms';
  readonly target: Target;
  readonly pass: boolean;
  /** Where a miss comes from, in a line: the profile's hot spot, or what holds the memory. */
  readonly cause?: string;
}

export interface Frame {
  readonly fn: string;
  readonly where: string;
  readonly selfMs: number;
  /** Share of the profile's busy (non-idle) time. */
  readonly share: number;
}

/** What a CPU profile of nori's side found. */
export interface Hotspots {
  readonly profiled: string;
  /** Share of the profiled wall time the process was busy (the rest it waited: on PostgreSQL, on the network). */
  readonly busy: number;
  readonly frames: readonly Frame[];
  readonly modules: readonly { readonly module: string; readonly share: number }[];
}

export interface BenchResult {
  readonly id: string;
  readonly title: string;
  /** What nori does, and what the floor does, in a sentence each. */
  readonly nori: string;
  readonly floor: string;
  /** Raw quantities (ms, requests per second, bytes, MB): finite and positive, memory growths at least 0. */
  readonly measurements: Readonly<Record<string, number>>;
  readonly figures: readonly Figure[];
  readonly hotspots?: Hotspots;
  readonly notes?: readonly string[];
  /** Why the benchmark could not finish (the run goes on with the others, and fails at the end). */
  readonly error?: string;
  /** Throughput against batch size, for the chart (growth only). */
  readonly series?: { readonly sizes: readonly number[]; readonly nori: readonly number[]; readonly floor: readonly number[] };
}

export function figure(label: string, value: number, unit: Figure['unit'], op: Target['op'], target: number, cause?: string): Figure {
  const pass = Number.isFinite(value) && (op === '<=' ? value <= target : value >= target);
  return { label, value, unit, target: { op, value: target }, pass, ...(cause && !pass ? { cause } : {}) };
}

export const missed = (r: Pick<BenchResult, 'figures'>) => r.figures.some((f) => !f.pass);

export function percentile(values: readonly number[], p: number): number {
  if (!values.length) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

export const median = (values: readonly number[]) => percentile(values, 50);

/** Runs `fn` and returns how long it took in ms. */
export async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

// A full collection between measurements, so that one side never pays for the garbage the other left.
setFlagsFromString('--expose-gc');
export const collectGarbage = runInNewContext('gc') as () => void;

/**
 * Runs the two sides of a comparison in turns, A B then B A, so that drift of the shared machine falls on
 * both; each function returns the ms it measured (its setup excluded). Warm-up turns are thrown away.
 */
export async function alternate(settings: Settings, a: () => Promise<number>, b: () => Promise<number>): Promise<{ a: number[]; b: number[] }> {
  const out = { a: [] as number[], b: [] as number[] };
  for (let i = 0; i < settings.warmup + settings.reps; i++) {
    const keep = i >= settings.warmup;
    const order = i % 2 === 0 ? (['a', 'b'] as const) : (['b', 'a'] as const);
    for (const side of order) {
      collectGarbage();
      const ms = await (side === 'a' ? a : b)();
      if (keep) out[side].push(ms);
    }
  }
  return out;
}

let schemas = 0;
const RUN = `nori_bench${process.pid}_${randomBytes(3).toString('hex')}`;

/** A fresh schema name for this process. */
export const freshSchema = () => `${RUN}_${schemas++}`;

export async function dropSchema(schema: string): Promise<void> {
  const knex = knexFactory({ client: 'pg', connection: PG_URL });
  try {
    await knex.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
  } finally {
    await knex.destroy();
  }
}

export interface Bed {
  readonly engine: Engine;
  readonly schema: string;
  /** http://127.0.0.1:port/ of a nori server over the engine. */
  readonly url: string;
  /** An API key of OWNER. */
  readonly key: string;
  close(): Promise<void>;
}

/** A nori engine on PostgreSQL in a fresh schema, with only the bench plugin, served over HTTP. */
export async function openBed(options: Partial<EngineOptions> = {}, maxBodyBytes = 64 << 20): Promise<Bed> {
  const schema = freshSchema();
  const engine = await createEngine({
    database: { url: PG_URL, schema },
    secretKeys: [SECRET_KEY],
    logger: pino({ level: 'silent' }),
    plugins: { builtins: false, folders: [BENCH_PLUGIN] },
    ...options,
  });
  const app = createServer({ engine, logger: pino({ level: 'silent' }), maxBodyBytes });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const { key } = await engine.keys.create({ contactId: OWNER.contactId, label: 'bench' });
  return {
    engine,
    schema,
    url: `${url}/`,
    key,
    async close() {
      await app.close();
      await engine.close();
      await dropSchema(schema);
    },
  };
}

/** Empties the tables a benchmark writes, between repetitions. */
export const truncate = (engine: Engine) => engine.database.knex.raw('TRUNCATE webaccount RESTART IDENTITY CASCADE');

let agent: Agent | undefined;

/** POSTs a batch with a key; returns the status and the whole body (read to the end, so timing includes it). */
export async function post(url: string, key: string, body: string | Buffer): Promise<{ status: number; body: string }> {
  const res = await request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/xml', authorization: `Bearer ${key}` },
    body,
    dispatcher: (agent ??= new Agent({ keepAliveTimeout: 30_000, connections: 64 })),
  });
  return { status: res.statusCode, body: await res.body.text() };
}

/** The SQL statements knex sends (BEGIN and COMMIT included) while `work` runs, each cut to its first words. */
export async function statementsOf(knex: Knex, work: () => Promise<unknown>): Promise<string[]> {
  const seen: string[] = [];
  const listen = (q: { sql?: string }) => void seen.push(String(q.sql ?? '').replace(/\s+/g, ' ').slice(0, 60));
  knex.on('query', listen);
  try {
    await work();
  } finally {
    knex.off('query', listen);
  }
  return seen;
}

/** The statements as a note: how many, and which. */
export const statementsNote = (what: string, sql: readonly string[]) => `nori sent ${sql.length} SQL statements for ${what}: ${sql.map((q) => `\`${q}\``).join(', ')}.`;

/** Fails loudly when a response is not what the benchmark expects: a fast wrong answer measures nothing. */
export function expect(ok: boolean, what: string): void {
  if (!ok) throw new Error(`bench: ${what}`);
}

export async function closeClient(): Promise<void> {
  const a = agent;
  agent = undefined;
  await a?.close();
}

export type Defer = <R>(value: R, undo: (value: R) => Promise<unknown>) => R;

/**
 * Runs `body` with `defer`, whose undo steps run last first however `body` ends, so that no child process,
 * server or schema outlives a benchmark that failed halfway.
 */
export async function withCleanup<T>(body: (defer: Defer) => Promise<T>): Promise<T> {
  const steps: (() => Promise<unknown>)[] = [];
  try {
    return await body((value, undo) => {
      steps.push(() => undo(value));
      return value;
    });
  } finally {
    for (const step of steps.reverse()) await step();
  }
}
