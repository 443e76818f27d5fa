/**
 * State and callback replay, against a real OAuth 2.0 peer (PKCE checked). test/auth/authorize.test.ts already
 * refuses a forged and a missing state, a callback replayed after a refusal and a superseded flow;
 * test/auth/concurrency.test.ts two racing callbacks; test/auth/oauth1.test.ts a foreign oauth_token;
 * test/security/browser-binding.test.ts a callback from another browser. Here: the replay of a callback that
 * succeeded, a state or a code from another account's flow, a state from another nori, and forgeries close to a
 * real state, which must not burn it. Each flow's browser is a cookie jar that followed its start link.
 */
import assert from 'node:assert/strict';
import type { Engine } from '../../src/engine.js';
import type { Principal } from '../../src/principal.js';
import { Agent } from '../helpers/agent.js';
import { ECHO_PLUGINS, PUBLIC_URL, seedEchoApi, startedAt, startEcho, type Echo } from '../helpers/echo.js';
import { ALICE, CAROL, makeEngine } from '../helpers/engine.js';
import { seedAccount } from '../helpers/seed.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { expectOk, only, q } from '../helpers/xml.js';
import { authorizeCode } from '../peers/oauth2-server.js';

const RETURN = 'https://cms.test/accounts/';
const OPTIONS = { plugins: { builtins: false, ...ECHO_PLUGINS }, authorization: { publicUrl: PUBLIC_URL, returnUrls: [RETURN] } };

describe('security: state and callback replay', function () {
  this.timeout(30_000);
  let engine: Engine;
  /** Another nori on another database, started before any request (PGlite's start blocks the event loop). */
  let other: Engine;
  let server: RunningServer;
  let echo: Echo;

  /** An account of `who` with a started flow: its browser, its state and the code the provider gave for it. */
  async function started(who: Principal): Promise<{ id: number; browser: Agent; state: string; code: string }> {
    const id = await seedAccount(engine, who, 'echo');
    const url = expectOk(only(await engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"><RETURN_URL>${RETURN}done</RETURN_URL></WEBACCOUNT></AUTHORIZE>`), who))).attrs.url!;
    const browser = new Agent({ [PUBLIC_URL]: server.url });
    const back = new URL(await authorizeCode(url, browser));
    return { id, browser, state: back.searchParams.get('state')!, code: back.searchParams.get('code')! };
  }
  /** `browser` arriving at nori's callback with these parameters. */
  const callback = (browser: Agent, params: Record<string, string> | string) => browser.request(`${PUBLIC_URL}/oauth/callback?${typeof params === 'string' ? params : new URLSearchParams(params)}`);
  const account = async (id: number) => (await engine.database.knex('webaccount').first('authorization_state', 'token', 'refresh_token').where('id', id)) as { authorization_state: string; token: string | null; refresh_token: string | null };
  /** Where the browser was sent back, as its query parameters. */
  const outcome = (r: { status: number; location: string | null; body: string }) => {
    assert.ok(r.status === 303 && r.location, `expected a redirect to the return URL, got ${r.status}: ${r.body.slice(0, 200)}`);
    return Object.fromEntries(new URL(r.location).searchParams);
  };

  before(async function () {
    this.timeout(60_000);
    echo = await startEcho();
    engine = await makeEngine(OPTIONS);
    other = await makeEngine(OPTIONS);
    server = await startServer(engine);
  });
  after(async () => {
    await server.close();
    await engine.close();
    await other.close();
    await echo.peer.close();
  });
  beforeEach(async () => {
    await engine.database.knex.raw('TRUNCATE webaccount, webapi, nori_transitions, nori_pending_flows RESTART IDENTITY');
    await seedEchoApi(engine, echo);
  });

  it('refuses the replay of a callback that succeeded, without a second code exchange or any change', async () => {
    const { id, browser, state, code } = await started(ALICE);
    const first = await callback(browser, { state, code });
    assert.equal(first.status, 303);
    assert.equal(outcome(first).outcome, 'authorized');
    const exchanges = echo.oauth.grants.authorization_code;
    const stored = await account(id);
    const replays: Record<string, string>[] = [{ state, code }, { state, code: 'another-code' }, { state, error: 'access_denied' }];
    for (const replay of replays) {
      const again = await callback(browser, replay);
      assert.equal(again.status, 409, JSON.stringify(replay));
      assert.match(again.body, /CALLBACK_REPLAYED/);
    }
    assert.equal(echo.oauth.grants.authorization_code, exchanges, 'the code was not sent again');
    assert.deepEqual(await account(id), stored, 'state and tokens unchanged');
  });

  it("a callback carrying another account's state, opened in another browser, finishes nothing; both flows still work", async () => {
    const alice = await started(ALICE);
    const carol = await started(CAROL);
    // Carol's own callback, opened in Alice's browser (login CSRF): refused, and neither account moves.
    const planted = await callback(alice.browser, { state: carol.state, code: carol.code });
    assert.equal(planted.status, 403);
    assert.match(planted.body, /CALLBACK_UNBOUND/);
    assert.deepEqual(await account(carol.id), { authorization_state: 'requested', token: null, refresh_token: null });
    assert.deepEqual(await account(alice.id), { authorization_state: 'requested', token: null, refresh_token: null });
    assert.deepEqual(outcome(await callback(alice.browser, { state: alice.state, code: alice.code })), { webaccount: String(alice.id), outcome: 'authorized' });
    assert.deepEqual(outcome(await callback(carol.browser, { state: carol.state, code: carol.code })), { webaccount: String(carol.id), outcome: 'authorized' });
    assert.notEqual((await account(alice.id)).token, (await account(carol.id)).token);
  });

  it("a code injected into another account's flow fails at the provider on PKCE, and the victim's own flow still works", async () => {
    const alice = await started(ALICE);
    const carol = await started(CAROL);
    const refusals = echo.oauth.refusals.invalid_grant ?? 0;
    // Alice's code, replayed by Carol with her own state in her own browser: Carol's PKCE verifier does not match
    // Alice's challenge.
    const injected = await callback(carol.browser, { state: carol.state, code: alice.code });
    assert.deepEqual(outcome(injected), { webaccount: String(carol.id), outcome: 'error', error: 'PROVIDER_ERROR' });
    assert.equal(echo.oauth.refusals.invalid_grant, refusals + 1);
    assert.deepEqual(await account(carol.id), { authorization_state: 'waiting', token: null, refresh_token: null });
    assert.equal((await account(alice.id)).authorization_state, 'requested');
    const own = await callback(alice.browser, { state: alice.state, code: alice.code });
    assert.equal(outcome(own).outcome, 'authorized');
  });

  it('a state started by another nori, on another database, is unknown here and still good there', async () => {
    await other.database.knex.raw('TRUNCATE webaccount, webapi, nori_transitions, nori_pending_flows RESTART IDENTITY');
    await seedEchoApi(other, echo);
    const id = await seedAccount(other, ALICE, 'echo');
    const link = expectOk(only(await other.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`), ALICE))).attrs.url!;
    // The other nori is embedded in a CMS that mounts the routes itself: it keeps the binding its own way.
    const { location, browserBinding } = await startedAt(other, link);
    const foreign = new URL(await authorizeCode(location)).searchParams;
    const browser = new Agent({ [PUBLIC_URL]: server.url });
    const here = await callback(browser, foreign.toString());
    assert.equal(here.status, 400);
    assert.match(here.body, /CALLBACK_INVALID/);
    assert.equal((await other.finishAuthorization(foreign, { browserBinding })).code, 'AUTHORIZED');
  });

  it('forgeries close to a real state are refused as unknown and do not burn it', async () => {
    const { id, browser, state, code } = await started(ALICE);
    const flip = (c: string) => (c === 'A' ? 'B' : 'A');
    const forged = [state.slice(0, -1) + flip(state.at(-1)!), flip(state[0]!) + state.slice(1), state.slice(0, -1), `${state}A`, `${state}=`, state.toUpperCase() === state ? state.toLowerCase() : state.toUpperCase(),
      ` ${state}`, encodeURIComponent(encodeURIComponent(`${state}/`)), state.replace(/-/g, '+').replace(/_/g, '/'), ''];
    for (const s of forged.filter((f) => f !== state)) {
      const r = await callback(browser, { state: s, code });
      assert.equal(r.status, 400, s);
      assert.match(r.body, /CALLBACK_INVALID/);
    }
    // With two states, the first is the one read: a forged one first is refused too.
    assert.equal((await callback(browser, `state=${'A'.repeat(43)}&state=${state}&code=${code}`)).status, 400);
    assert.equal((await account(id)).authorization_state, 'requested');
    assert.equal(outcome(await callback(browser, { state, code })).outcome, 'authorized');
  });
});
