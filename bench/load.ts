/**
 * `npm run load`: a mixed workload against a real `nori serve` process on PostgreSQL, for a fixed time at a
 * fixed concurrency (NORI_LOAD_SECONDS, default 600; NORI_LOAD_CONCURRENCY, default 16). SEARCH, CREATE,
 * UPDATE, CALL against the echo peer, and full AUTHORIZE flows through nori's callback. It fails (exit 1) on
 * any failed request, and when the server's memory or open file descriptors keep growing after warm-up.
 * Results: bench/results/load.json. Loopback only.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, loadavg } from 'node:os';
import knexFactory from 'knex';
import { createEngine } from '../src/engine.js';
import { PUBLIC_URL, startEcho, type Echo } from '../test/helpers/echo.js';
import { Agent } from '../test/helpers/agent.js';
import { authorizeCode } from '../test/peers/oauth2-server.js';

const PG = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface LoadOptions {
  readonly seconds: number;
  readonly concurrency: number;
  /** Share of the run before memory and descriptors are taken as the baseline. */
  readonly warmup?: number;
}

export interface LoadReport {
  readonly date: string;
  /** The commit measured, and whether src, schemas or plugins differed from it. */
  readonly git: { readonly commit: string; readonly dirty: boolean };
  readonly machine: { readonly cpus: number; readonly loadBefore: readonly number[]; readonly loadAfter: readonly number[] };
  readonly seconds: number;
  readonly concurrency: number;
  readonly requests: number;
  readonly failures: { op: string; detail: string }[];
  readonly latency: Record<string, { count: number; p50: number; p99: number }>;
  readonly samples: { t: number; rssMb: number; fds: number }[];
  /** After warm-up, from the least-squares line through the samples: RSS growth as a share of its mean, descriptors added. */
  readonly growth: { rss: number; fds: number };
  readonly leak: boolean;
}

/** The growth over the samples' span of the least-squares line through them: robust to one high or low sample. */
export function trend(points: readonly { t: number; v: number }[]): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const mv = points.reduce((s, p) => s + p.v, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.t - mt) ** 2, 0);
  const slope = sxx === 0 ? 0 : points.reduce((s, p) => s + (p.t - mt) * (p.v - mv), 0) / sxx;
  return slope * (points[n - 1]!.t - points[0]!.t);
}

function gitState(): LoadReport['git'] {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'schemas', 'plugins'], { encoding: 'utf8' }).trim() !== '';
    return { commit, dirty };
  } catch {
    return { commit: 'unknown', dirty: false };
  }
}

const freePort = () => new Promise<number>((resolve) => {
  const s = createServer().listen(0, '127.0.0.1', () => {
    const port = (s.address() as { port: number }).port;
    s.close(() => resolve(port));
  });
});

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;

function sample(pid: number): { rssMb: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  return { rssMb: Math.round(rss * 10) / 10, fds: readdirSync(`/proc/${pid}/fd`).length };
}

async function waitFor(url: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nori did not start at ${url}`);
}

export async function runLoad(options: LoadOptions): Promise<LoadReport> {
  const date = new Date().toISOString();
  const loadBefore = loadavg();
  const schema = `nori_load_${randomBytes(3).toString('hex')}`;
  const secret = randomBytes(32).toString('base64');
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const echo: Echo = await startEcho();
  // Keys and the WEBAPI are made before the server starts, through the same database.
  const setup = await createEngine({ database: { url: PG, schema }, secretKeys: [secret], plugins: { builtins: false, dirs: ['test/fixtures/plugins'] } });
  const user = (await setup.keys.create({ contactId: 2 })).key;
  await setup.close();

  const u = echo.peer.url;
  // The echo WEBAPI is set up the way a deployment would: from the environment, at start.
  const env = {
    ...process.env, DATABASE_URL: PG, NORI_DB_SCHEMA: schema, NORI_SECRET_KEY: secret, NORI_PORT: String(port), NORI_PUBLIC_URL: PUBLIC_URL, NORI_PLUGIN_DIRS: 'test/fixtures/plugins', NORI_LOG_LEVEL: 'warn',
    NORI_WEBAPI_ECHO_CLIENT_ID: 'nori', NORI_WEBAPI_ECHO_CLIENT_SECRET: 'echo-secret', NORI_WEBAPI_ECHO_BASE_URL: u, NORI_WEBAPI_ECHO_AUTHORIZE_URL: `${u}/authorize`, NORI_WEBAPI_ECHO_TOKEN_URL: `${u}/token`,
  };
  const server: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'bench/nori-cli.ts', 'serve'], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const failures: LoadReport['failures'] = [];
  const times: Record<string, number[]> = {};
  try {
    await waitFor(`${base}/health`, 30_000);
    const post = async (key: string, body: string) => {
      const res = await fetch(`${base}/`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, body: `<QUERY>${body}</QUERY>` });
      return { status: res.status, xml: await res.text() };
    };
    // The echo peer's OAuth server only knows http://nori.test/oauth/callback: the flow is walked by hand.
    const authorize = async (): Promise<number> => {
      const created = await post(user, '<CREATE><WEBACCOUNT><INFO><API>echo</API></INFO></WEBACCOUNT></CREATE>');
      const id = Number(/elementID="(\d+)"/.exec(created.xml)?.[1]);
      const start = await post(user, `<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`);
      const url = /url="([^"]+)"/.exec(start.xml)?.[1]?.replace(/&amp;/g, '&');
      if (!url) throw new Error(`AUTHORIZE: ${start.xml.slice(0, 300)}`);
      // A browser of its own: it follows nori's start link (which binds the flow to its cookie) and comes back.
      const browser = new Agent({ [PUBLIC_URL]: base });
      const back = new URL(await authorizeCode(url, browser));
      const done = await browser.request(`${PUBLIC_URL}/oauth/callback${back.search}`);
      if (done.status !== 200) throw new Error(`callback answered ${done.status}`);
      return id;
    };
    const accounts = [await authorize()];
    let n = 0;
    const ops: [string, number, () => Promise<void>][] = [
      ['SEARCH', 30, async () => check('SEARCH', await post(user, '<SEARCH><WEBACCOUNT/><PAGINATE display="50"/></SEARCH>'), /<RESULTS /)],
      ['CREATE', 25, async () => check('CREATE', await post(user, `<CREATE><WEBACCOUNT><INFO><API>echo</API><DENOMINATION>load ${n++}</DENOMINATION></INFO></WEBACCOUNT></CREATE>`), /msgType="0"/)],
      ['UPDATE', 20, async () => check('UPDATE', await post(user, `<UPDATE><WEBACCOUNT ID="${accounts[n % accounts.length]}"><INFO><DENOMINATION>u${n++}</DENOMINATION></INFO></WEBACCOUNT></UPDATE>`), /msgType="0"/)],
      ['CALL', 20, async () => check('CALL', await post(user, `<CALL><WEBACCOUNT ID="${accounts[n++ % accounts.length]}"><READ><ID>7</ID></READ></WEBACCOUNT></CALL>`), /<READ[ >]/)],
      ['AUTHORIZE', 5, async () => void accounts.push(await authorize())],
    ];
    const total = ops.reduce((s, [, w]) => s + w, 0);
    function check(op: string, r: { status: number; xml: string }, ok: RegExp) {
      if (r.status !== 200 || !ok.test(r.xml)) failures.push({ op, detail: `${r.status} ${r.xml.slice(0, 200)}` });
    }
    const pick = () => {
      let x = Math.random() * total;
      for (const op of ops) if ((x -= op[1]) < 0) return op;
      return ops[0]!;
    };
    const samples: LoadReport['samples'] = [];
    const started = Date.now();
    const end = started + options.seconds * 1000;
    const sampler = setInterval(() => samples.push({ t: Math.round((Date.now() - started) / 1000), ...sample(server.pid!) }), Math.max(500, (options.seconds * 1000) / 60));
    await Promise.all(Array.from({ length: options.concurrency }, async () => {
      while (Date.now() < end) {
        const [name, , run] = pick();
        const t0 = performance.now();
        try {
          await run();
        } catch (e) {
          failures.push({ op: name, detail: (e as Error).message.slice(0, 200) });
        }
        (times[name] ??= []).push(performance.now() - t0);
      }
    }));
    clearInterval(sampler);
    const warm = samples.filter((s) => s.t >= options.seconds * (options.warmup ?? 0.2));
    const kept = warm.length >= 2 ? warm : samples;
    const meanRss = kept.reduce((s, x) => s + x.rssMb, 0) / kept.length;
    const growth = {
      rss: Math.round((trend(kept.map((x) => ({ t: x.t, v: x.rssMb }))) / meanRss) * 1000) / 1000,
      fds: Math.round(trend(kept.map((x) => ({ t: x.t, v: x.fds })))),
    };
    const latency = Object.fromEntries(Object.entries(times).map(([op, t]) => {
      const sorted = [...t].sort((a, b) => a - b);
      return [op, { count: t.length, p50: Math.round(percentile(sorted, 0.5) * 10) / 10, p99: Math.round(percentile(sorted, 0.99) * 10) / 10 }];
    }));
    // A leak grows with the work done: after warm-up, a trend of a quarter more memory or 20 more descriptors is one.
    const leak = growth.rss > 0.25 || growth.fds > 20;
    const machine = { cpus: cpus().length, loadBefore, loadAfter: loadavg() };
    return { date, git: gitState(), machine, seconds: options.seconds, concurrency: options.concurrency, requests: Object.values(times).reduce((s, t) => s + t.length, 0), failures, latency, samples, growth, leak };
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    await echo.peer.close();
    const knex = knexFactory({ client: 'pg', connection: PG });
    await knex.raw('DROP SCHEMA IF EXISTS ?? CASCADE', [schema]);
    await knex.destroy();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const report = await runLoad({ seconds: Number(process.env.NORI_LOAD_SECONDS ?? 600), concurrency: Number(process.env.NORI_LOAD_CONCURRENCY ?? 16) });
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/load.json', JSON.stringify(report, null, 2) + '\n');
  console.log(`${report.requests} requests in ${report.seconds} s at concurrency ${report.concurrency}; failures: ${report.failures.length}`);
  for (const [op, l] of Object.entries(report.latency)) console.log(`  ${op.padEnd(10)} ${String(l.count).padStart(7)}  p50 ${l.p50} ms  p99 ${l.p99} ms`);
  console.log(`  server after warm-up: memory ${(report.growth.rss * 100).toFixed(1)}%, descriptors ${report.growth.fds >= 0 ? '+' : ''}${report.growth.fds}`);
  for (const f of report.failures.slice(0, 10)) console.log(`  failed ${f.op}: ${f.detail}`);
  process.exitCode = report.failures.length || report.leak ? 1 : 0;
}
