/**
 * PostgreSQL restarted under load: a PostgreSQL server of the test's own (never the shared one other suites
 * use) is stopped and started again while clients keep sending batches to a nori HTTP server over it. Every
 * answer must be a clear one, nori must recover without being restarted, and the rows must be exactly what the
 * clients were told was written.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import knexFactory, { type Knex } from 'knex';
import pino from 'pino';
import { createEngine, type Engine } from '../../src/engine.js';
import { ADMIN, TEST_KEY, describeIn } from '../helpers/engine.js';
import { startCluster, type Cluster } from '../helpers/pg-cluster.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { replies, type Reply } from '../helpers/xml.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One batch: what it asked for and what came back. */
interface Sent {
  readonly atomic: boolean;
  /** The DENOMINATION of each command's CREATE, in order ('' for a command that is not a CREATE). */
  readonly markers: readonly string[];
  /** Sent before the stop, while the server was down, or after it was back. */
  readonly phase: 'before' | 'outage' | 'after';
  status?: number;
  body?: string;
  replies?: Reply[];
  /** No HTTP answer at all: the error's name and message. */
  network?: string;
}

const account = (marker: string) =>
  `<CREATE><WEBACCOUNT><INFO><API>svc</API><DENOMINATION>${marker}</DENOMINATION><LOGIN>${marker}@login</LOGIN><PUBLIC>R</PUBLIC></INFO></WEBACCOUNT></CREATE>`;
const bodyOf = (s: Sent) => `<QUERY${s.atomic ? ' atomic="true"' : ''}>${s.markers.map((m) => (m ? account(m) : '<GET><WEBAPI ID="1"/></GET>')).join('')}</QUERY>`;
const ok = (r: Reply) => r.tag === 'RESULTS' || r.attrs.msgType === '0';
const whole = (s: Sent) => s.status === 200 && s.replies !== undefined && s.replies.every(ok);

/** What reached the console while `fn` ran: `nori serve` writes its JSON log lines on stdout, so nothing else may. */
async function capturingConsole(fn: () => Promise<void>): Promise<string[]> {
  const printed: string[] = [];
  const saved = { log: console.log, warn: console.warn, error: console.error };
  console.log = console.warn = console.error = (...args: unknown[]) => void printed.push(args.map(String).join(' '));
  try {
    await fn();
  } finally {
    Object.assign(console, saved);
  }
  return printed;
}

describeIn('postgres')('PostgreSQL restarted during load', function () {
  this.timeout(60_000);
  const run = randomBytes(3).toString('hex');
  const logs: string[] = [];
  let cluster: Cluster;
  let engine: Engine;
  let server: RunningServer;
  let key: string;

  before(async () => {
    cluster = await startCluster();
    const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(line) });
    engine = await createEngine({ database: { url: cluster.url, poolSize: 6, logger }, secretKeys: [TEST_KEY], plugins: { builtins: false }, logger });
    server = await startServer(engine, 8 << 20);
    key = (await engine.keys.create({ contactId: 1, admin: true })).key;
    await engine.execute('<QUERY><CREATE><WEBAPI><INFO><DENOMINATION>svc</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE></INFO></WEBAPI></CREATE></QUERY>', ADMIN);
  });

  after(async () => {
    await server?.close();
    await engine?.close();
    await cluster?.destroy();
  });

  async function send(sent: Sent): Promise<Sent> {
    try {
      const res = await fetch(server.url + '/', {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' },
        body: bodyOf(sent),
        signal: AbortSignal.timeout(20_000), // a hung request is a finding, reported below with the others
      });
      sent.status = res.status;
      sent.body = await res.text();
      sent.replies = replies(sent.body);
    } catch (e) {
      sent.network ??= `${(e as Error).name}: ${(e as Error).message}`;
    }
    return sent;
  }

  /** Rows of this run, by DENOMINATION, read with a connection of the test's own. */
  async function rowsOfRun(): Promise<Map<string, Record<string, unknown>>> {
    const db: Knex = knexFactory({ client: 'pg', connection: cluster.url });
    try {
      const rows = (await db('webaccount').select('id', 'denomination', 'login', 'api', 'public', 'ownerid').where('denomination', 'like', `r${run}-%`)) as { denomination: string }[];
      const byMarker = new Map(rows.map((r) => [r.denomination, r as Record<string, unknown>]));
      assert.equal(byMarker.size, rows.length, 'no CREATE was written twice');
      return byMarker;
    } finally {
      await db.destroy();
    }
  }

  it('answers every request clearly, recovers by itself, and keeps exactly what it acknowledged', async () => {
    const all: Sent[] = [];
    let phase: Sent['phase'] = 'before';
    let stopping = false;
    // Long batches, in flight at the stop. A CREATE between two GETs commits on its own, so the test can watch
    // the per-command one progress; the atomic one is three times longer because it runs faster (one transaction).
    const long = (name: string, atomic: boolean, n: number): Sent => ({ atomic, phase: 'before', markers: Array.from({ length: 2 * n }, (_, k) => (k % 2 ? '' : `r${run}-${name}-${k / 2}`)) });
    const eachLong = long('each', false, 1500);
    const atomicLong = long('atomic', true, 4900); // 9,800 commands: under the default limit of 10,000

    /** One client: batches of 5 CREATEs, every third one atomic, until told to stop. */
    async function client(c: number): Promise<void> {
      for (let b = 0; !stopping; b++) {
        const sent: Sent = { atomic: b % 3 === 2, phase, markers: Array.from({ length: 5 }, (_, k) => `r${run}-c${c}-b${b}-${k}`) };
        all.push(sent);
        await send(sent);
        if (sent.status !== 200) await sleep(20); // no busy loop on refusals
      }
    }

    const printed = await capturingConsole(async () => {
      const clients = Array.from({ length: 6 }, (_, c) => client(c));
      while (all.filter(whole).length < 12) await sleep(20);
      all.push(eachLong, atomicLong);
      const longs = [send(eachLong), send(atomicLong)];
      const watch = knexFactory({ client: 'pg', connection: cluster.url, pool: { min: 0, max: 1 } });
      try {
        const progress = async () => Number((await watch('webaccount').count({ n: '*' }).where('denomination', 'like', `r${run}-each-%`))[0]!.n);
        while ((await progress()) < 20) await sleep(5);
      } finally {
        await watch.destroy();
      }

      phase = 'outage';
      await cluster.stop('fast');
      assert.equal((await fetch(server.url + '/health')).status, 503, '/health says the database is unavailable');
      await sleep(1500);
      await cluster.start();
      phase = 'after';
      const since = all.length;
      const deadline = Date.now() + 20_000;
      while (all.slice(since).filter(whole).length < 18 && Date.now() < deadline) await sleep(50);
      stopping = true;
      await Promise.all([...clients, ...longs]);
    });

    // 1. Every request got a RESPONSE: no dropped connection, no hang, no bare 500.
    const unclear = all.filter((s) => s.network || !s.replies || (s.status !== 200 && s.status !== 503));
    assert.deepEqual(unclear.map((s) => ({ phase: s.phase, status: s.status, network: s.network, body: s.body?.slice(0, 300) })), [], 'every request gets a RESPONSE');
    // 2. A request refused whole says SERVICE_UNAVAILABLE; a command that failed says INTERNAL_ERROR with the
    //    incident id that its log line carries; in an atomic batch the others say ROLLED_BACK or NOT_RUN.
    const codes = new Map<string, number>();
    for (const s of all) {
      const answers = s.replies!;
      if (s.status === 503) {
        assert.deepEqual(answers.map((r) => r.attrs.errorCode), ['SERVICE_UNAVAILABLE'], s.body);
        codes.set('503 SERVICE_UNAVAILABLE', (codes.get('503 SERVICE_UNAVAILABLE') ?? 0) + 1);
        continue;
      }
      assert.equal(answers.length, s.markers.length, s.body?.slice(0, 300));
      for (const r of answers) {
        const code = r.attrs.errorCode ?? (r.tag === 'RESULTS' ? 'RESULTS' : 'CREATED');
        codes.set(code, (codes.get(code) ?? 0) + 1);
        if (ok(r)) continue;
        assert.ok(['INTERNAL_ERROR', 'ROLLED_BACK', 'NOT_RUN'].includes(code), `unexpected ${code}: ${r.text}`);
        if (code !== 'INTERNAL_ERROR') continue;
        const incident = /incident ([0-9a-f]{8})/.exec(r.text)?.[1];
        assert.ok(incident && logs.some((l) => l.includes(`"incident":"${incident}"`)), `INTERNAL_ERROR names a logged incident: ${r.text}`);
      }
      if (s.atomic && !whole(s)) {
        const failedAt = answers.findIndex((r) => r.attrs.errorCode === 'INTERNAL_ERROR');
        assert.ok(failedAt >= 0, `a failed atomic batch names the failing command: ${s.body?.slice(0, 300)}`);
        answers.forEach((r, i) => assert.equal(r.attrs.errorCode, i < failedAt ? 'ROLLED_BACK' : i > failedAt ? 'NOT_RUN' : 'INTERNAL_ERROR'));
      }
    }
    console.log(`      ${all.length} requests; answers: ${[...codes].map(([c, n]) => `${c} ×${n}`).join(', ')}`);
    assert.ok(!whole(eachLong) && !whole(atomicLong), 'both long batches were cut by the stop (if one finished first, make it longer)');
    assert.ok(all.some((s) => s.status === 503), 'requests that came during the outage were refused whole');

    // 3. The pool recovered by itself: every request sent after the restart succeeded whole.
    const after = all.filter((s) => s.phase === 'after');
    assert.ok(after.length >= 18, `only ${after.length} requests after the restart`);
    assert.deepEqual(after.filter((s) => !whole(s)).map((s) => s.body?.slice(0, 300)), [], 'requests after the restart succeed without restarting nori');
    assert.equal((await fetch(server.url + '/health')).status, 200);

    // 4. The rows are exactly the acknowledged CREATEs, each whole; nothing a failure answered exists.
    const rows = await rowsOfRun();
    let acknowledged = 0;
    for (const s of all) {
      s.markers.forEach((marker, i) => {
        if (!marker) return;
        const reply = s.status === 200 ? s.replies![i] : undefined;
        const row = rows.get(marker);
        if (reply && ok(reply)) {
          acknowledged++;
          assert.deepEqual(row, { id: Number(reply.attrs.elementID), denomination: marker, login: `${marker}@login`, api: 'svc', public: 'R', ownerid: 1 }, `acknowledged ${marker} is there, whole`);
        } else {
          assert.equal(row, undefined, `${marker} answered ${reply?.attrs.errorCode ?? s.status} ("nothing was written"), but its row exists`);
        }
      });
      if (s.atomic) {
        const present = s.markers.filter((m) => m && rows.has(m)).length;
        assert.ok(present === 0 || present === s.markers.filter(Boolean).length, `an atomic batch is all or nothing, not ${present} rows`);
      }
    }
    assert.equal(rows.size, acknowledged, 'no row beyond the acknowledged CREATEs');

    // 5. The driver's complaints went to the log as JSON lines, not to the console.
    assert.deepEqual(printed, [], 'nothing printed on the console during the outage');
    assert.ok(logs.some((l) => l.includes('database driver warning')), 'the driver warnings are logged');
  });
});
