/**
 * @module bench/small-requests
 * 4. Small requests: requests per second of a one-command GET over keep-alive HTTP (autocannon, in a child
 * process), against a bare node:http server that runs the same SELECT and sends the same bytes.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { expect, figure, median, missed, openBed, PG_URL, post, ROOT, statementsNote, statementsOf, withCleanup, type BenchResult, type Settings } from './common.js';
import { hotspots, profileInProcess, withHotspots } from './profile.js';
import { seedAccounts } from './reads.js';
import { ACCOUNT_COLUMNS, resultsXml } from './xml.js';

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

/**
 * The floor: node:http, one pooled SELECT by id, the same bytes nori sends. With `prepared`, the statement is a
 * named one, planned once per connection as nori's is (src/store/prepared.ts): a reference, not the floor.
 */
async function bareServer(schema: string, prepared = false) {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 10 });
  const text = `SELECT ${ACCOUNT_COLUMNS.map((c) => `"${c}"`).join(', ')} FROM "${schema}".webaccount WHERE id = $1`;
  const query = prepared ? { name: 'bench_get', text, values: [1] } : { text, values: [1] };
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      pool.query(query).then(
        ({ rows }) => res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(resultsXml('GET', rows, { hits: rows.length })),
        (e: Error) => res.writeHead(500).end(e.message),
      );
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await pool.end();
    },
  };
}

export const smallRequests = (settings: Settings): Promise<BenchResult> => withCleanup(async (defer) => {
  const seconds = settings.quick ? 1 : 6;
  const bed = defer(await openBed(), (b) => b.close());
  const bare = defer(await bareServer(bed.schema), (b) => b.close());
  const barePrepared = defer(await bareServer(bed.schema, true), (b) => b.close());
  await seedAccounts(bed.engine.database.knex, 1);
  const headers = { 'content-type': 'application/xml', authorization: `Bearer ${bed.key}` };
  const noriBody = (await post(bed.url, bed.key, GET)).body;
  const bareBody = (await post(bare.url, bed.key, GET)).body;
  expect(noriBody.includes('hits="1"') && noriBody === bareBody, `the bare server's bytes differ from nori's: ${noriBody.slice(0, 200)} / ${bareBody.slice(0, 200)}`);
  expect((await post(barePrepared.url, bed.key, GET)).body === noriBody, 'the bare server with a prepared statement answers other bytes than nori');
  const sql = await statementsOf(bed.engine.database.knex, () => post(bed.url, bed.key, GET));
  settings.log(`small requests: ${CONNECTIONS} connections, ${seconds} s per run, ${settings.reps} runs each`);
  if (!settings.quick) {
    await cannon(bed.url, 2, headers, GET);
    await cannon(bare.url, 2, headers, GET);
    await cannon(barePrepared.url, 2, headers, GET);
  }
  const runs = { nori: [] as Cannon[], bare: [] as Cannon[], prepared: [] as Cannon[] };
  const urls = { nori: bed.url, bare: bare.url, prepared: barePrepared.url };
  for (let i = 0; i < settings.reps; i++) {
    for (const side of i % 2 === 0 ? (['nori', 'bare', 'prepared'] as const) : (['prepared', 'bare', 'nori'] as const)) runs[side].push(await cannon(urls[side], seconds, headers, GET));
  }
  const { nori, bare: floor } = runs;
  const noriRps = median(nori.map((c) => c.rps));
  const bareRps = median(floor.map((c) => c.rps));
  const preparedRps = median(runs.prepared.map((c) => c.rps));
  const result: BenchResult = {
    id: 'small',
    title: 'Small requests (one-command GET)',
    nori: `autocannon, ${CONNECTIONS} keep-alive connections, POSTing <GET><WEBACCOUNT ID="1"/></GET> to a nori server (API key checked on every request)`,
    floor: 'the same load against a bare node:http server that runs the same SELECT through a pg pool of the same size and sends the same bytes',
    measurements: {
      responseBytes: noriBody.length,
      noriRps,
      bareRps,
      barePreparedRps: preparedRps,
      statements: sql.length,
      noriP99Ms: median(nori.map((c) => c.p99)),
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
  const profiled = Math.max(1, Math.round(seconds / 2));
  const profile = await profileInProcess(() => cannon(bed.url, profiled, headers, GET));
  const lead = `${sql.length} PostgreSQL round trip${sql.length === 1 ? '' : 's'} per request, as the floor; against the bare server preparing its statement as nori does, nori runs ${(noriRps / preparedRps).toFixed(2)}×`;
  return withHotspots(result, hotspots(profile, `${profiled} s of the same load, in the server's process`), lead);
});
