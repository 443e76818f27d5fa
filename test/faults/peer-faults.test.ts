/**
 * Services that misbehave, many calls at once: test/call/faults.test.ts proves each fault's code one CALL at a
 * time; here many CALLs to a hanging, resetting, garbage-answering or failing service run together over HTTP,
 * each must end within its bound, and nothing else nori does may wait for them.
 */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { ALICE, useEngine } from '../helpers/engine.js';
import { authorizedAccount, ECHO_PLUGINS, PUBLIC_URL, seedEchoApi, startEcho, type Echo } from '../helpers/echo.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { callReplies, only, q, replies } from '../helpers/xml.js';
import { json, startPeer, type Peer } from '../peers/http-peer.js';

const CALLS = { timeoutMs: 1000, maxAttempts: 2, budgetMs: 3000 };
/** What one CALL may take beyond its budget: answering it, and a loaded CI machine. */
const SLACK_MS = 2000;

type Sickness = 'hang' | 'reset' | 'garbage' | 'fail';

/**
 * The code and sentence each sickness must produce, with the configuration's numbers in it, and how many
 * requests one CALL of the idempotent READ sends: every attempt, except for an answer that came (garbage in a 200).
 */
const EXPECTED: Record<Sickness, { code: string; text: RegExp; attempts: number }> = {
  hang: { code: 'SERVICE_TIMEOUT', text: /did not answer READ in time \(1000 ms per attempt, 2 attempt\(s\)\)/, attempts: 2 },
  reset: { code: 'SERVICE_UNREACHABLE', text: /could not be reached for READ \(.+\) after 2 attempt\(s\)/, attempts: 2 },
  garbage: { code: 'SERVICE_BAD_RESPONSE', text: /answered READ with something nori cannot read \(the body is not JSON\)/, attempts: 1 },
  fail: { code: 'SERVICE_FAILED', text: /failed READ with HTTP 500 after 2 attempt\(s\)/, attempts: 2 },
};

/** A service that is sick for every request: it never answers (and holds no timer), resets, sends garbage or 500. */
async function startSick(sickness: Sickness): Promise<Peer> {
  if (sickness === 'hang') return startPeer(() => new Promise(() => {}));
  const peer = await startPeer(() => json(200, { ok: true }));
  peer.inject(sickness === 'reset' ? { reset: true } : sickness === 'garbage' ? { garbage: true } : { status: 500 }, 1_000_000);
  return peer;
}

describe('CALLs to misbehaving services, many at once', function () {
  this.timeout(30_000);
  const t = useEngine({ plugins: { builtins: false, ...ECHO_PLUGINS }, authorization: { publicUrl: PUBLIC_URL }, calls: CALLS });
  const sicknesses: Sickness[] = ['hang', 'reset', 'garbage', 'fail'];
  const sick = new Map<Sickness, Peer>();
  let echo: Echo;
  let server: RunningServer;
  let key: string;
  const accounts = new Map<Sickness | 'healthy', number>();

  before(async () => {
    echo = await startEcho();
    for (const s of sicknesses) sick.set(s, await startSick(s));
    server = await startServer(t.engine);
  });
  after(async () => {
    await server?.close();
    for (const peer of sick.values()) await peer.close();
    await echo?.peer.close();
  });

  // A WEBAPI per sickness: its service (BASE_URL) is the sick peer; it authorizes at the healthy echo's OAuth server.
  beforeEach(async () => {
    key = (await t.engine.keys.create({ contactId: ALICE.contactId, groups: [...ALICE.groups] })).key;
    await seedEchoApi(t.engine, echo);
    accounts.set('healthy', await authorizedAccount(t.engine, ALICE, 'echo'));
    const u = echo.peer.url;
    for (const [s, peer] of sick) {
      const info = `<DENOMINATION>sick-${s}</DENOMINATION><PLUGIN>echo</PLUGIN><AUTH_TYPE>oauth2</AUTH_TYPE><CLIENT_ID>nori</CLIENT_ID><CLIENT_SECRET>echo-secret</CLIENT_SECRET><BASE_URL>${peer.url}</BASE_URL><AUTHORIZE_URL>${u}/authorize</AUTHORIZE_URL><TOKEN_URL>${u}/token</TOKEN_URL>`;
      assert.equal(only(await t.engine.execute(q(`<CREATE><WEBAPI><INFO>${info}</INFO></WEBAPI></CREATE>`), { contactId: 1, groups: [], admin: true })).attrs.msgType, '0');
      accounts.set(s, await authorizedAccount(t.engine, ALICE, `sick-${s}`));
      peer.requests.length = 0;
    }
  });

  /** A batch over HTTP, timed. */
  async function post(body: string): Promise<{ status: number; xml: string; ms: number }> {
    const started = performance.now();
    const res = await fetch(server.url + '/', { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, body });
    const xml = await res.text();
    return { status: res.status, xml, ms: performance.now() - started };
  }
  const read = (id: number) => q(`<CALL><WEBACCOUNT ID="${id}"><READ><ID>1</ID></READ></WEBACCOUNT></CALL>`);

  it('ends every CALL to a hanging, resetting, garbage-sending or failing service within its bound, with its own code', async () => {
    const each = 4;
    const runs = sicknesses.flatMap((s) => Array.from({ length: each }, () => post(read(accounts.get(s)!)).then((r) => ({ s, ...r }))));
    for (const { s, status, xml, ms } of await Promise.all(runs)) {
      assert.equal(status, 200);
      // One account: its failure is the command's MESSAGE.
      const answer = only(xml);
      assert.equal(answer.attrs.errorCode, EXPECTED[s].code, `${s}: ${answer.text}`);
      assert.match(answer.text, EXPECTED[s].text);
      assert.ok(ms < CALLS.budgetMs + SLACK_MS, `a CALL to the ${s} service took ${Math.round(ms)} ms, past its budget of ${CALLS.budgetMs} ms`);
    }
    // Each CALL tried exactly as often as its bound allows, however many ran at once.
    for (const s of sicknesses) assert.equal(sick.get(s)!.count(), each * EXPECTED[s].attempts, `requests that reached the ${s} service`);
  });

  it('keeps answering reads, writes and CALLs to other services while CALLs to a hanging one wait', async () => {
    const done: string[] = [];
    const track = (label: string, p: Promise<{ status: number; xml: string }>) => p.then((r) => (done.push(label), { label, ...r }));
    // More hanging CALLs than the PostgreSQL pool has connections (4 in tests), so a CALL holding one would show.
    const hanging = Array.from({ length: 8 }, (_, i) => track(`hang ${i}`, post(read(accounts.get('hang')!))));
    const hangPeer = sick.get('hang')!;
    while (hangPeer.count() < 8) await new Promise((r) => setTimeout(r, 10));

    const healthy = accounts.get('healthy')!;
    const others = [
      track('GET', post(q(`<GET><WEBACCOUNT ID="${healthy}"/></GET>`))),
      track('SEARCH', post(q('<SEARCH><WEBACCOUNT><INFO><API>echo</API></INFO></WEBACCOUNT></SEARCH>'))),
      track('COUNT', post(q('<COUNT><WEBAPI/></COUNT>'))),
      track('CREATE', post(q('<CREATE><WEBACCOUNT><INFO><API>echo</API><DENOMINATION>meanwhile</DENOMINATION></INFO></WEBACCOUNT></CREATE>'))),
      track('atomic UPDATE', post(`<QUERY atomic="true"><UPDATE><WEBACCOUNT ID="${healthy}"><INFO><LOGIN>still-here</LOGIN></INFO></WEBACCOUNT></UPDATE></QUERY>`)),
      ...Array.from({ length: 4 }, (_, i) => track(`CALL healthy ${i}`, post(read(healthy)))),
      track('CALL without a service', post(q(`<CALL><WEBACCOUNT ID="${healthy}"><HELLO/></WEBACCOUNT></CALL>`))),
      track('CALL failing service', post(read(accounts.get('fail')!))),
      track('CALL resetting service', post(read(accounts.get('reset')!))),
    ];
    const answered = await Promise.all(others);
    const firstHang = done.findIndex((l) => l.startsWith('hang'));
    const late = firstHang === -1 ? [] : done.slice(firstHang).filter((l) => !l.startsWith('hang'));
    assert.deepEqual(late, [], `everything else answers before any hanging CALL ends; order: ${done.join(', ')}`);

    for (const { label, status, xml } of answered) {
      assert.equal(status, 200, label);
      if (label.startsWith('CALL failing') || label.startsWith('CALL resetting')) {
        assert.match(only(xml).attrs.errorCode ?? '', /^SERVICE_(FAILED|UNREACHABLE)$/, label);
        continue;
      }
      const answers = replies(xml);
      assert.ok(answers.every((r) => r.tag === 'RESULTS' || r.attrs.msgType === '0'), `${label}: ${xml.slice(0, 300)}`);
      if (label.startsWith('CALL healthy')) assert.ok(callReplies(xml)[0]!.result, label);
    }
    for (const { label, xml } of await Promise.all(hanging)) assert.equal(only(xml).attrs.errorCode, 'SERVICE_TIMEOUT', label);
  });
});
