/**
 * The hostile caller, against a real `nori serve` in a process with a small heap (192 MB) on real PostgreSQL,
 * with one ordinary API key: the amplification batches, the slow pattern, the 70,000-value IN, opposite-order
 * atomic batches and a planted account. After each, /health still answers, the process stays alive within its
 * memory bound, and no secret reaches an answer or a log line.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import { PG_URL, TEST_DB } from '../helpers/engine.js';
import { createAdminKey, noriEnv, runNori, startNori, type NoriProcess } from '../helpers/nori-process.js';
import { replies } from '../helpers/xml.js';

/** The stated bound: nori's peak resident memory through the whole suite, with a 192 MB heap. */
const MAX_RSS_MB = 480;

(TEST_DB === 'postgres' ? describe : () => undefined)('hostile callers against a real nori process', function () {
  this.timeout(180_000);
  let nori: NoriProcess;
  let url: string;
  let admin: string;
  let mallory: string;
  let db: Knex;
  const secrets: string[] = [];

  const post = async (body: string, key = mallory) => {
    const res = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, body });
    return { status: res.status, xml: await res.text() };
  };
  const healthy = async () => {
    const started = Date.now();
    const res = await fetch(`${url}/health`);
    return { ok: res.status === 200, ms: Date.now() - started };
  };
  const peakRssMb = () => Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${nori.child.pid}/status`, 'utf8'))![1]) / 1024;

  before(async () => {
    const e = await noriEnv();
    // An 8 MiB response budget keeps the suite quick; the default (32 MiB) is as far below what a 192 MB heap holds.
    const env: NodeJS.ProcessEnv = { ...e.env, NODE_OPTIONS: '--max-old-space-size=192', NORI_MAX_RESPONSE_BYTES: String(8 * 1024 * 1024) };
    url = e.url;
    admin = await createAdminKey(env);
    const made = await runNori(['keys', 'create', '--contact', '66', '--groups', '7'], env);
    assert.equal(made.code, 0, made.err);
    mallory = made.out.trim();
    secrets.push(admin, mallory, env.NORI_SECRET_KEY!);
    nori = await startNori(env);
    db = knexFactory({ client: 'pg', connection: PG_URL, searchPath: [e.schema], pool: { min: 0, max: 2 } });
    // Mallory's own accounts, 2,000 of them with long names: every SEARCH of them is a full page of 1,000.
    const created = await post(`<QUERY><CREATE><WEBACCOUNT><INFO><API>bayard</API><DENOMINATION>${'m'.repeat(250)}</DENOMINATION></INFO></WEBACCOUNT></CREATE></QUERY>`);
    assert.equal(replies(created.xml)[0]!.attrs.msgType, '0', created.xml);
    const columns = Object.keys(await db('webaccount').columnInfo()).filter((c) => c !== 'id');
    await db.raw(`INSERT INTO webaccount (${columns.map(() => '??').join(', ')}) SELECT ${columns.map(() => '??').join(', ')} FROM webaccount, generate_series(1, 1999) WHERE webaccount.id = 1`, [...columns, ...columns]);
  });

  after(async () => {
    await db?.destroy();
    await nori?.stop();
  });

  afterEach(async function () {
    if (!nori) return;
    assert.ok((await healthy()).ok, '/health answers after the attack');
    assert.equal(nori.child.exitCode, null, 'the process is alive');
    assert.ok(peakRssMb() < MAX_RSS_MB, `peak RSS ${peakRssMb().toFixed(0)} MB`);
  });

  after(() => {
    // No key, no secret key in any log line of the whole run.
    const log = [...(nori?.stdout ?? []), ...(nori?.stderr ?? [])].join('\n');
    for (const s of secrets) assert.ok(!log.includes(s), 'a secret reached the log');
  });

  for (const n of [20, 400, 1200]) {
    it(`${n} SEARCHes in one small batch: HTTP 200 within the response budget, never a crash`, async () => {
      const r = await post(`<QUERY>${'<SEARCH><WEBACCOUNT/></SEARCH>'.repeat(n)}</QUERY>`);
      assert.equal(r.status, 200, r.xml.slice(0, 300));
      assert.ok(Buffer.byteLength(r.xml) <= 8 * 1024 * 1024);
      const answers = replies(r.xml);
      assert.equal(answers.length, n);
      if (n > 20) assert.equal(answers.at(-1)!.attrs.errorCode, 'BUDGET_RESPONSE_BYTES');
      for (const s of secrets) assert.ok(!r.xml.includes(s));
    });
  }

  it('an 80,000-dot EMAIL does not hold up /health while it is refused', async () => {
    const email = `a@${'.'.repeat(80_000)}@`;
    const refused = post(`<QUERY><CALL><WEBACCOUNT ID="1"><LOGIN><EMAIL>${email}</EMAIL><PASSWORD>x</PASSWORD></LOGIN></WEBACCOUNT></CALL></QUERY>`);
    const health = await healthy();
    const r = await refused;
    assert.equal(replies(r.xml)[0]!.attrs.errorCode, 'PARAM_INVALID', r.xml.slice(0, 300));
    assert.ok(health.ok && health.ms < 1000, `/health took ${health.ms} ms`);
  });

  it('a 70,000-value IN list answers its rows, not INTERNAL_ERROR', async () => {
    const list = [...Array.from({ length: 70_000 }, (_, i) => 500_000 + i), 1, 2].join(',');
    const r = await post(`<QUERY><SEARCH><WEBACCOUNT><INFO><ID operator="IN">${list}</ID></INFO></WEBACCOUNT><RETURN><INFO><ACTIVITY/></INFO></RETURN></SEARCH></QUERY>`);
    assert.deepEqual(replies(r.xml)[0]!.elements.map((e) => e.id), ['1', '2']);
  });

  it('10 concurrent opposite-order atomic batches: no INTERNAL_ERROR', async () => {
    const rename = (id: number, to: string) => `<UPDATE><WEBACCOUNT ID="${id}"><INFO><DENOMINATION>${to}</DENOMINATION></INFO></WEBACCOUNT></UPDATE>`;
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => {
      const [x, y] = i % 2 ? [1, 2] : [2, 1];
      return post(`<QUERY atomic="true">${rename(x, `b${i}`)}${rename(y, `b${i}`)}</QUERY>`);
    }));
    const codes = results.flatMap((r) => replies(r.xml).map((a) => a.attrs.errorCode ?? a.attrs.msgType));
    assert.ok(codes.every((c) => c === '0' || c === 'TRANSACTION_CONFLICT'), codes.join(' '));
  });

  it('an account planted on another contact is refused', async () => {
    const r = await post('<QUERY><CREATE><WEBACCOUNT><INFO><API>bayard</API><OWNERID>1</OWNERID><PUBLIC>W</PUBLIC></INFO></WEBACCOUNT></CREATE></QUERY>');
    assert.equal(replies(r.xml)[0]!.attrs.errorCode, 'OWNER_FORBIDDEN');
    const planted = await db('webaccount').count({ n: '*' }).where('ownerid', 1);
    assert.equal(Number(planted[0]!.n), 0);
  });
});
