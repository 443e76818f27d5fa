/**
 * @module bench/small-requests
 * 4. Small requests: requests per second of a one-command GET over keep-alive HTTP (autocannon, in a child
 * process), against a bare node:http server that runs the same SELECT and sends the same bytes.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import knexFactory from 'knex';
import { dropSchema, expect, figure, freshSchema, median, missed, openBed, PG_URL, post, ROOT, statementsNote, statementsOf, withCleanup, type BenchResult, type Settings } from './common.js';
import { prepareSchema, startNode, startNori, type Child } from './processes.js';
import { hotspots, readProfile, withHotspots } from './profile.js';
import { seedAccounts } from './reads.js';

const GET = '<QUERY><GET><WEBACCOUNT ID="1"/></GET></QUERY>';
const CONNECTIONS = 10;

export interface Cannon {
  readonly rps: number;
  readonly p99: number;
}

/** autocannon in a child process, so that the load generator does not share the server's event loop. */
export async function cannon(url: string, seconds: number, headers: Record<string, string>, body: string): Promise<Cannon> {
  const args = [`${ROOT}node_modules/autocannon/autocannon.js`, '-c', String(CONNECTIONS), '-d', String(seconds), '-m', 'POST', '-b', body, '-j', '-n'];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  const child = spawn(process.execPath, [...args, url], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const [code] = (await once(child, 'close')) as [number];
  expect(code === 0, `autocannon exited ${code}: ${err.slice(-500)}`);
  const r = JSON.parse(out) as { requests: { total: number }; duration: number; latency: { p99: number }; non2xx: number; errors: number; timeouts: number };
  expect(r.non2xx === 0 && r.errors === 0 && r.timeouts === 0, `${r.non2xx} non-2xx answers, ${r.errors} errors, ${r.timeouts} timeouts`);
  return { rps: r.requests.total / r.duration, p99: r.latency.p99 };
}

/** A bare server (bench/bare-get.ts) in a process of its own; `prepared` for the reference. */
async function bareServer(schema: string, prepared: boolean): Promise<Child & { url: string }> {
  const child = await startNode(['bench/bare-get.ts', schema, ...(prepared ? ['prepared'] : [])], {}, (line) => line.startsWith('{"url"'));
  return { ...child, url: (JSON.parse(child.ready) as { url: string }).url };
}

// The request log off (it is one line per request to a pipe here), as a deployment that logs at warn would run.
const QUIET = { NORI_LOG_LEVEL: 'warn' };

export const smallRequests = (settings: Settings): Promise<BenchResult> => withCleanup(async (defer) => {
  const seconds = settings.quick ? 1 : 6;
  // Every side in a fresh process of its own: in the benchmarks' process, the heap the earlier benchmarks left
  // made nori's allocations dearer than the bare servers', and moved the ratio by a fifth from run to run.
  const schema = defer(freshSchema(), dropSchema);
  const key = await prepareSchema(schema);
  const knex = defer(knexFactory({ client: 'pg', connection: PG_URL, searchPath: [schema], pool: { min: 0, max: 1 } }), (k) => k.destroy());
  await seedAccounts(knex, 1);
  const nori = defer(await startNori(schema, [], false, QUIET), (p) => p.stop());
  const bare = defer(await bareServer(schema, false), (b) => b.stop());
  const barePrepared = defer(await bareServer(schema, true), (b) => b.stop());
  const headers = { 'content-type': 'application/xml', authorization: `Bearer ${key}` };
  const noriBody = (await post(nori.url, key, GET)).body;
  const bareBody = (await post(bare.url, key, GET)).body;
  expect(noriBody.includes('hits="1"') && noriBody === bareBody, `the bare server's bytes differ from nori's: ${noriBody.slice(0, 200)} / ${bareBody.slice(0, 200)}`);
  expect((await post(barePrepared.url, key, GET)).body === noriBody, 'the bare server with a prepared statement answers other bytes than nori');
  // The statements are the code's, not the process's: counted on an engine of this process, over HTTP too.
  const bed = defer(await openBed(), (b) => b.close());
  await seedAccounts(bed.engine.database.knex, 1);
  await post(bed.url, bed.key, GET); // the key's lookup, cached after the first request
  const sql = await statementsOf(bed.engine.database.knex, () => post(bed.url, bed.key, GET));
  settings.log(`small requests: ${CONNECTIONS} connections, ${seconds} s per run, ${settings.reps} runs each`);
  const urls = { nori: nori.url, bare: bare.url, prepared: barePrepared.url };
  if (!settings.quick) for (const url of Object.values(urls)) await cannon(url, 2, headers, GET);
  const runs = { nori: [] as Cannon[], bare: [] as Cannon[], prepared: [] as Cannon[] };
  for (let i = 0; i < settings.reps; i++) {
    for (const side of i % 2 === 0 ? (['nori', 'bare', 'prepared'] as const) : (['prepared', 'bare', 'nori'] as const)) runs[side].push(await cannon(urls[side], seconds, headers, GET));
  }
  const floor = runs.bare;
  const noriRps = median(runs.nori.map((c) => c.rps));
  const bareRps = median(floor.map((c) => c.rps));
  const preparedRps = median(runs.prepared.map((c) => c.rps));
  const result: BenchResult = {
    id: 'small',
    title: 'Small requests (one-command GET)',
    nori: `autocannon, ${CONNECTIONS} keep-alive connections, POSTing <GET><WEBACCOUNT ID="1"/></GET> to a \`nori serve\` process (API key checked on every request; request log at warn)`,
    floor: 'the same load against a bare node:http server in a process of its own, which runs the same SELECT through a pg pool of the same size and sends the same bytes',
    measurements: {
      responseBytes: noriBody.length,
      noriRps,
      bareRps,
      barePreparedRps: preparedRps,
      statements: sql.length,
      noriP99Ms: median(runs.nori.map((c) => c.p99)),
      bareP99Ms: median(floor.map((c) => c.p99)),
    },
    figures: [figure('nori requests/s ÷ bare requests/s', noriRps / bareRps, 'x', '>=', 0.7)],
    notes: [
      `${statementsNote('each request (the API key\'s lookup included)', sql)} The floor sends one.`,
      `Reference, not a target: nori's read is a named prepared statement, planned once per connection; the same bare server preparing its ` +
        `statement too runs ${preparedRps.toFixed(0)} requests/s, ${(preparedRps / bareRps).toFixed(2)}× the floor, and nori ${(noriRps / preparedRps).toFixed(2)}× of it.`,
    ],
  };
  if (!missed(result)) return result;
  // The profile: a fresh nori process with --cpu-prof under the same load.
  const profiled = Math.max(1, Math.round(seconds / 2));
  const dir = defer(mkdtempSync(join(tmpdir(), 'nori-prof-')), async (d) => rmSync(d, { recursive: true, force: true }));
  const traced = defer(await startNori(schema, ['--cpu-prof', `--cpu-prof-dir=${dir}`], false, QUIET), (p) => p.stop());
  await cannon(traced.url, profiled, headers, GET);
  await traced.stop(); // the profile is written on the way out
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  expect(file !== undefined, 'the profiled nori process wrote no profile');
  const lead = `${sql.length} PostgreSQL round trip${sql.length === 1 ? '' : 's'} per request, as the floor; against the bare server preparing its statement as nori does, nori runs ${(noriRps / preparedRps).toFixed(2)}×`;
  return withHotspots(result, hotspots(readProfile(join(dir, file!)), `a nori serve process (--cpu-prof; module loading left out) under ${profiled} s of the same load`), lead);
});
