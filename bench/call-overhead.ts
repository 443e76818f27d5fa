/**
 * @module bench/call-overhead
 * 5. CALL overhead: a CALL through nori over HTTP (the bench plugin, an API key) to a peer on 127.0.0.1 in
 * its own process, against the same request (same URL, same key header) sent straight to the peer from this
 * process with undici over the same kind of keep-alive pool. Latency one request at a time; throughput with
 * several in flight.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { Agent, request } from 'undici';
import { expect, figure, median, missed, openBed, OWNER, PG_URL, percentile, post, statementsNote, statementsOf, withCleanup, type BenchResult, type Settings } from './common.js';
import { startNode } from './processes.js';
import { hotspots, profileInProcess, withHotspots } from './profile.js';

const KEY = 'bench-key';
const TEXT = 'hello peer';
const IN_FLIGHT = 8;
const CALL = `<QUERY><CALL><WEBACCOUNT ID="1"><ECHO><TEXT>${TEXT}</TEXT></ECHO></WEBACCOUNT></CALL></QUERY>`;

/** ms of each of `n` requests sent one after the other. */
async function latencies(n: number, send: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await send();
    out.push(performance.now() - start);
  }
  return out;
}

/** Requests per second with `IN_FLIGHT` senders looping for `seconds`. */
async function throughput(seconds: number, send: () => Promise<unknown>): Promise<number> {
  let done = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (performance.now() < end) {
      await send();
      done++;
    }
  }));
  return done / ((performance.now() - start) / 1000);
}

/**
 * Not a floor but a reference: the least any server that runs CALLs must do, written bare. A node:http server
 * that, per request, reads the account's row through a pg pool (one round trip, as nori does) and sends the same
 * GET to the peer with undici. nori's throughput against it says what nori itself costs, apart from the hop
 * through a server and the database read that the direct floor does not have.
 */
async function bareProxy(schema: string, peerUrl: string, agent: Agent) {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 10 });
  const sql = `SELECT authorization_state, token FROM "${schema}".webaccount WHERE id = $1`;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      pool
        .query(sql, [1])
        .then(() => request(`${peerUrl}/echo?text=${encodeURIComponent(TEXT)}`, { headers: { 'x-api-key': KEY }, dispatcher: agent }))
        .then(async (r) => res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(await r.body.text()))
        .catch((e: Error) => res.writeHead(500).end(e.message));
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

export const callOverhead = (settings: Settings): Promise<BenchResult> => withCleanup(async (defer) => {
  const peer = defer(await startNode(['bench/call-peer.ts', KEY], {}, (line) => line.startsWith('{"url"')), (p) => p.stop());
  const peerUrl = (JSON.parse(peer.ready) as { url: string }).url;
  const bed = defer(await openBed({ webapis: { bench: { fields: { BASE_URL: peerUrl }, settings: {} } } }), (b) => b.close());
  // The same pool settings as nori's CALL client (src/call/http-client.ts).
  const agent = defer(new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: 128 }), (a) => a.close());
  await bed.engine.execute(`<QUERY><CREATE><WEBACCOUNT><INFO><API>bench</API><TOKEN>${KEY}</TOKEN></INFO></WEBACCOUNT></CREATE></QUERY>`, OWNER);
  const authorized = await bed.engine.execute('<QUERY><AUTHORIZE><WEBACCOUNT ID="1"/></AUTHORIZE></QUERY>', OWNER);
  expect(authorized.includes('msgType="0"'), `AUTHORIZE failed: ${authorized}`);
  const viaNori = async () => {
    const r = await post(bed.url, bed.key, CALL);
    if (r.status !== 200 || !r.body.includes(`<text>${TEXT}</text>`)) throw new Error(`CALL answered ${r.status}: ${r.body.slice(0, 300)}`);
  };
  const direct = async () => {
    const r = await request(`${peerUrl}/echo?text=${encodeURIComponent(TEXT)}`, { headers: { 'x-api-key': KEY }, dispatcher: agent });
    const body = (await r.body.json()) as { text?: string };
    if (r.statusCode !== 200 || body.text !== TEXT) throw new Error(`the peer answered ${r.statusCode}`);
  };
  const n = settings.quick ? 100 : 2000;
  const block = settings.quick ? 50 : 100;
  settings.log(`call: ${n} sequential requests each side, then ${IN_FLIGHT} in flight, ${settings.reps} runs each`);
  await latencies(settings.quick ? 20 : 300, viaNori);
  await latencies(settings.quick ? 20 : 300, direct);
  const proxy = defer(await bareProxy(bed.schema, peerUrl, agent), (p) => p.close());
  const viaProxy = async () => {
    const r = await post(proxy.url, bed.key, CALL);
    if (r.status !== 200 || !r.body.includes(TEXT)) throw new Error(`the bare proxy answered ${r.status}: ${r.body.slice(0, 300)}`);
  };
  await latencies(settings.quick ? 20 : 300, viaProxy);
  const nori: number[] = [];
  const straight: number[] = [];
  const proxied: number[] = [];
  for (let i = 0; i < n; i += block) {
    nori.push(...(await latencies(block, viaNori)));
    straight.push(...(await latencies(block, direct)));
    proxied.push(...(await latencies(block, viaProxy)));
  }
  const inProcess = await latencies(settings.quick ? 50 : 500, () => bed.engine.execute(CALL, OWNER));
  const seconds = settings.quick ? 1 : 4;
  const rates = { nori: [] as number[], direct: [] as number[], proxy: [] as number[] };
  for (let i = 0; i < settings.reps; i++) {
    for (const side of i % 2 === 0 ? (['nori', 'direct', 'proxy'] as const) : (['proxy', 'direct', 'nori'] as const)) {
      rates[side].push(await throughput(seconds, side === 'nori' ? viaNori : side === 'direct' ? direct : viaProxy));
    }
  }
  const proxyRps = median(rates.proxy);
  // Counted on a warm CALL: the cached key and WEBAPI are read again only after a change, or 30 s after they were.
  await viaNori();
  const sql = await statementsOf(bed.engine.database.knex, viaNori);
  const noriRps = median(rates.nori);
  const directRps = median(rates.direct);
  const result: BenchResult = {
    id: 'call',
    title: 'CALL overhead',
    nori: `POST of one CALL (bench plugin, API key) to a nori server, which sends GET /echo to a peer process on 127.0.0.1; latency one at a time, throughput ${IN_FLIGHT} in flight`,
    floor: 'the same GET /echo with the same key header, sent straight to the peer from the same process with undici, keep-alive pool as nori\'s',
    measurements: {
      noriMedianMs: median(nori),
      noriP99Ms: percentile(nori, 99),
      directMedianMs: median(straight),
      directP99Ms: percentile(straight, 99),
      engineOnlyMedianMs: median(inProcess),
      bareProxyMedianMs: median(proxied),
      bareProxyP99Ms: percentile(proxied, 99),
      noriRps,
      directRps,
      bareProxyRps: proxyRps,
      statements: sql.length,
    },
    figures: [
      figure('median latency added', median(nori) - median(straight), 'ms', '<=', 1),
      figure('p99 latency added', percentile(nori, 99) - percentile(straight, 99), 'ms', '<=', 5),
      figure('nori CALLs/s ÷ direct requests/s', noriRps / directRps, 'x', '>=', 0.7),
    ],
    notes: [
      `Median of a CALL through engine.execute, without HTTP and the key check: ${median(inProcess).toFixed(2)} ms.`,
      `Reference, not a target: through the bare server below (one hop, one database read, nothing else), the median latency added is ` +
        `${(median(proxied) - median(straight)).toFixed(2)} ms and the p99 ${(percentile(proxied, 99) - percentile(straight, 99)).toFixed(2)} ms; ` +
        `nori adds ${(median(nori) - median(proxied)).toFixed(2)} ms at the median beyond it.`,
      statementsNote('one CALL over HTTP (the API key\'s lookup included)', sql),
      `Reference, not a target: a bare node:http server that reads the account's row (one round trip) and sends the same GET to the peer runs ${proxyRps.toFixed(0)} CALLs/s, ` +
        `${(proxyRps / directRps).toFixed(2)}× the direct rate${proxyRps / directRps < 0.7 ? ', itself short of the 0.7× target' : ''}; nori runs ${(noriRps / proxyRps).toFixed(2)}× of that bare server. ` +
        'The direct floor has neither a hop through a server nor a database read; here the server, PostgreSQL, the peer and the client share two cores.',
    ],
  };
  if (!missed(result)) return result;
  const profile = await profileInProcess(() => throughput(seconds, viaNori));
  const found = hotspots(profile, `${seconds} s of CALLs ${IN_FLIGHT} in flight, in the server's (and client's) process`);
  return withHotspots(result, found, `${sql.length} PostgreSQL round trip${sql.length === 1 ? '' : 's'} per CALL before the service is called (the account's state and token, read fresh so that a revocation holds at once)`);
});
