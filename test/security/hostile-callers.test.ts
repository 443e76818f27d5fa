/**
 * The hostile caller, against a real `nori serve` in a process with a small heap (192 MB) on real PostgreSQL,
 * with one ordinary API key: the amplification batches, the slow pattern, the 70,000-value IN, opposite-order
 * atomic batches, a planted account, a provider that echoes its request into its errors (the token exchange, a
 * refresh, Mallory's CALL of a public account), and, in a second process refusing private targets, services at
 * IPv6 forms of loopback. After each, /health still answers, the process stays alive within its memory bound,
 * and no secret reaches an answer or a log line.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import knexFactory, { type Knex } from 'knex';
import { Agent } from '../helpers/agent.js';
import { PG_URL, describeIn } from '../helpers/engine.js';
import { createAdminKey, noriEnv, runNori, startNori, type NoriProcess } from '../helpers/nori-process.js';
import { authorizeCode } from '../peers/oauth2-server.js';
import { ECHOING_CLIENT, startEchoingProvider, type EchoingProvider } from '../peers/echoing-provider.js';
import { json, startPeer } from '../peers/http-peer.js';
import { replies } from '../helpers/xml.js';

/** A secret as it is, percent-encoded and in base64 (padding cut): the forms looked for in answers and logs. */
const forms = (s: string) => {
  const b64 = Buffer.from(s).toString('base64');
  return [s, encodeURIComponent(s), b64.includes('=') ? b64.slice(0, b64.indexOf('=')) : b64];
};

/** The stated bound: nori's peak resident memory through the whole suite, with a 192 MB heap. */
const MAX_RSS_MB = 480;

describeIn('postgres')('hostile callers against a real nori process', function () {
  this.timeout(180_000);
  let nori: NoriProcess;
  let url: string;
  let admin: string;
  let mallory: string;
  let db: Knex;
  let provider: EchoingProvider;
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
    // The echo plugin is the CALL side of the echoing provider.
    const env: NodeJS.ProcessEnv = { ...e.env, NODE_OPTIONS: '--max-old-space-size=192', NORI_MAX_RESPONSE_BYTES: String(8 * 1024 * 1024), NORI_PLUGIN_DIRS: 'test/fixtures/plugins' };
    url = e.url;
    provider = await startEchoingProvider(`${url}/oauth/callback`);
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
    await provider?.peer.close();
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
    // Nor any secret nori sent the echoing provider, in any form it echoed.
    for (const s of provider?.sent() ?? []) for (const f of forms(s)) assert.ok(!log.includes(f), 'a secret the provider echoed reached the log');
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

  it('a provider echoing its request: Mallory\'s CALL of a public account, the token exchange and a refresh leak no secret', async () => {
    const u = provider.peer.url;
    const asAdmin = async (body: string) => replies((await post(body, admin)).xml)[0]!;
    assert.equal((await asAdmin(`<QUERY><CREATE><WEBAPI><INFO><DENOMINATION>echoing</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><PLUGIN>echo</PLUGIN><CLIENT_ID>${ECHOING_CLIENT.clientId}</CLIENT_ID><CLIENT_SECRET>${ECHOING_CLIENT.clientSecret}</CLIENT_SECRET><BASE_URL>${u}</BASE_URL><AUTHORIZE_URL>${u}/authorize</AUTHORIZE_URL><TOKEN_URL>${u}/token</TOKEN_URL></INFO></WEBAPI></CREATE></QUERY>`)).attrs.msgType, '0');
    /** An account of the admin's, public, through AUTHORIZE, the provider and nori's own callback over HTTP. */
    const account = async () => {
      const created = await asAdmin('<QUERY><CREATE><WEBACCOUNT><INFO><API>echoing</API><PUBLIC>W</PUBLIC></INFO></WEBACCOUNT></CREATE></QUERY>');
      const id = created.attrs.elementID!;
      const started = await asAdmin(`<QUERY><AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE></QUERY>`);
      // The admin's browser: it follows the start link (bound to it by a cookie) and brings the callback back.
      const browser = new Agent();
      const back = await authorizeCode(started.attrs.url!, browser);
      return { id, finish: async () => (await browser.request(back)).body };
    };
    const reasonOf = async (id: string) => ((await db('webaccount').first('state_reason').where('id', Number(id))) as { state_reason: string }).state_reason;
    const seen: string[] = [];
    const call = async (id: string) => {
      const r = await post(`<QUERY><CALL><WEBACCOUNT ID="${id}"><READ><ID>1</ID></READ></WEBACCOUNT></CALL></QUERY>`);
      seen.push(r.xml);
      return replies(r.xml)[0]!;
    };

    const pub = await account();
    seen.push(await pub.finish());
    provider.echo.add('api');
    const refused = await call(pub.id);
    assert.equal(refused.attrs.errorCode, 'SERVICE_ERROR', refused.text);
    assert.match(refused.attrs.serviceData ?? '', /^authorization=Bearer \[redacted\]$/);

    provider.echo.clear();
    provider.echo.add('token');
    const failing = await account();
    seen.push(await failing.finish());
    assert.match(await reasonOf(failing.id), /^token exchange failed with HTTP 400: invalid_request Basic \[redacted\] \(request was .*code_verifier=\[redacted\]/);

    provider.echo.clear();
    provider.echo.add('refresh');
    await db('webaccount').update({ token_expires: new Date(Date.now() - 1000) }).where('id', Number(pub.id));
    assert.equal((await call(pub.id)).attrs.errorCode, 'REFRESH_REJECTED');
    assert.match(await reasonOf(pub.id), /^refresh failed with HTTP 400: invalid_grant \(request was .*refresh_token=\[redacted\]/);

    const sent = provider.sent();
    assert.ok(sent.length >= 5, `the provider received ${sent.length} secrets`);
    const kept = [...seen, ...((await db('webaccount').select('state_reason')) as { state_reason: string | null }[]).map((r) => r.state_reason ?? ''), ...((await db('nori_transitions').select('reason')) as { reason: string | null }[]).map((r) => r.reason ?? '')].join('\n');
    for (const s of sent) for (const f of forms(s)) assert.ok(!kept.includes(f), `a secret nori sent came back out: ${kept.slice(Math.max(0, kept.indexOf(f) - 60), kept.indexOf(f) + 30)}`);
  });

  it('a nori refusing private targets reaches no service at an IPv6 form of loopback, nor a name of it', async () => {
    const trap = await startPeer(() => json(200, { owner: 'mallory' }));
    const e = await noriEnv();
    const env: NodeJS.ProcessEnv = { ...e.env, NORI_PLUGIN_DIRS: 'test/fixtures/plugins', NORI_BLOCK_PRIVATE_TARGETS: 'true' };
    const guardedAdmin = await createAdminKey(env);
    const guarded = await startNori(env);
    try {
      const send = async (body: string) => {
        const res = await fetch(e.url, { method: 'POST', headers: { authorization: `Bearer ${guardedAdmin}`, 'content-type': 'application/xml' }, body });
        return replies(await res.text())[0]!;
      };
      const port = new URL(trap.url).port;
      const hosts = ['[::ffff:7f00:1]', '[::7f00:1]', '[64:ff9b::7f00:1]', '[2002:7f00:1::]', '[::ffff:0:7f00:1]', '[fec0::1]', 'localhost'];
      for (const [i, host] of hosts.entries()) {
        assert.equal((await send(`<QUERY><CREATE><WEBAPI><INFO><DENOMINATION>inside-${i}</DENOMINATION><AUTH_TYPE>apikey</AUTH_TYPE><PLUGIN>keyed</PLUGIN><BASE_URL>http://${host}:${port}</BASE_URL></INFO></WEBAPI></CREATE></QUERY>`)).attrs.msgType, '0');
        const id = (await send(`<QUERY><CREATE><WEBACCOUNT><INFO><API>inside-${i}</API><TOKEN>key-${i}</TOKEN></INFO></WEBACCOUNT></CREATE></QUERY>`)).attrs.elementID!;
        const r = await send(`<QUERY><AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE></QUERY>`);
        assert.equal(r.attrs.errorCode, 'TARGET_BLOCKED', `${host}: ${r.text}`);
      }
      assert.equal(trap.count(), 0, 'nothing reached loopback');
      const res = await fetch(`${e.url}/health`);
      assert.equal(res.status, 200);
    } finally {
      await guarded.stop();
      await trap.close();
    }
  });
});
