/**
 * State and callback replay, against a real OAuth 2.0 peer (PKCE checked). test/auth/authorize.test.ts already
 * refuses a forged and a missing state, a callback replayed after a refusal and a superseded flow;
 * test/auth/concurrency.test.ts two racing callbacks; test/auth/oauth1.test.ts a foreign oauth_token. Here: the
 * replay of a callback that succeeded, a state or a code from another account's flow, a state from another nori,
 * and forgeries close to a real state, which must not burn it.
 */
import assert from 'node:assert/strict';
import type { Engine } from '../../src/engine.js';
import type { Principal } from '../../src/principal.js';
import { ECHO_PLUGINS, PUBLIC_URL, seedEchoApi, startEcho, type Echo } from '../helpers/echo.js';
import { ALICE, CAROL, makeEngine } from '../helpers/engine.js';
import { seedAccount } from '../helpers/seed.js';
import { startServer, visit, type RunningServer } from '../helpers/server.js';
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

  /** An account of `who` with a started flow: its state and the code the provider gave for it. */
  async function started(who: Principal, on = engine): Promise<{ id: number; state: string; code: string }> {
    const id = await seedAccount(on, who, 'echo');
    const url = expectOk(only(await on.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"><RETURN_URL>${RETURN}done</RETURN_URL></WEBACCOUNT></AUTHORIZE>`), who))).attrs.url!;
    const back = new URL(await authorizeCode(url));
    return { id, state: back.searchParams.get('state')!, code: back.searchParams.get('code')! };
  }
  const callback = (params: Record<string, string> | string) => visit(`${server.url}/oauth/callback?${typeof params === 'string' ? params : new URLSearchParams(params)}`);
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
    const { id, state, code } = await started(ALICE);
    const first = await callback({ state, code });
    assert.equal(first.status, 303);
    assert.equal(outcome(first).outcome, 'authorized');
    const exchanges = echo.oauth.grants.authorization_code;
    const stored = await account(id);
    const replays: Record<string, string>[] = [{ state, code }, { state, code: 'another-code' }, { state, error: 'access_denied' }];
    for (const replay of replays) {
      const again = await callback(replay);
      assert.equal(again.status, 409, JSON.stringify(replay));
      assert.match(again.body, /CALLBACK_REPLAYED/);
    }
    assert.equal(echo.oauth.grants.authorization_code, exchanges, 'the code was not sent again');
    assert.deepEqual(await account(id), stored, 'state and tokens unchanged');
  });

  it("a callback carrying another account's state finishes that account only; the other's flow still works", async () => {
    const alice = await started(ALICE);
    const carol = await started(CAROL);
    // Carol's own callback, opened in Alice's browser (login CSRF): it authorizes Carol's account, not Alice's.
    const planted = await callback({ state: carol.state, code: carol.code });
    assert.equal(outcome(planted).webaccount, String(carol.id));
    assert.equal((await account(carol.id)).authorization_state, 'authorized');
    assert.deepEqual(await account(alice.id), { authorization_state: 'requested', token: null, refresh_token: null });
    const own = await callback({ state: alice.state, code: alice.code });
    assert.deepEqual(outcome(own), { webaccount: String(alice.id), outcome: 'authorized' });
    assert.notEqual((await account(alice.id)).token, (await account(carol.id)).token);
  });

  it("a code injected into another account's flow fails at the provider on PKCE, and the victim's own flow still works", async () => {
    const alice = await started(ALICE);
    const carol = await started(CAROL);
    const refusals = echo.oauth.refusals.invalid_grant ?? 0;
    // Alice's code replayed with Carol's state: Carol's PKCE verifier does not match Alice's challenge.
    const injected = await callback({ state: carol.state, code: alice.code });
    assert.deepEqual(outcome(injected), { webaccount: String(carol.id), outcome: 'error', error: 'PROVIDER_ERROR' });
    assert.equal(echo.oauth.refusals.invalid_grant, refusals + 1);
    assert.deepEqual(await account(carol.id), { authorization_state: 'waiting', token: null, refresh_token: null });
    assert.equal((await account(alice.id)).authorization_state, 'requested');
    const own = await callback({ state: alice.state, code: alice.code });
    assert.equal(outcome(own).outcome, 'authorized');
  });

  it('a state started by another nori, on another database, is unknown here and still good there', async () => {
    await other.database.knex.raw('TRUNCATE webaccount, webapi, nori_transitions, nori_pending_flows RESTART IDENTITY');
    await seedEchoApi(other, echo);
    const foreign = await started(ALICE, other);
    const here = await callback({ state: foreign.state, code: foreign.code });
    assert.equal(here.status, 400);
    assert.match(here.body, /CALLBACK_INVALID/);
    assert.equal((await other.finishAuthorization(new URLSearchParams({ state: foreign.state, code: foreign.code }))).code, 'AUTHORIZED');
  });

  it('forgeries close to a real state are refused as unknown and do not burn it', async () => {
    const { id, state, code } = await started(ALICE);
    const flip = (c: string) => (c === 'A' ? 'B' : 'A');
    const forged = [state.slice(0, -1) + flip(state.at(-1)!), flip(state[0]!) + state.slice(1), state.slice(0, -1), `${state}A`, `${state}=`, state.toUpperCase() === state ? state.toLowerCase() : state.toUpperCase(),
      ` ${state}`, encodeURIComponent(encodeURIComponent(`${state}/`)), state.replace(/-/g, '+').replace(/_/g, '/'), ''];
    for (const s of forged.filter((f) => f !== state)) {
      const r = await callback({ state: s, code });
      assert.equal(r.status, 400, s);
      assert.match(r.body, /CALLBACK_INVALID/);
    }
    // With two states, the first is the one read: a forged one first is refused too.
    assert.equal((await callback(`state=${'A'.repeat(43)}&state=${state}&code=${code}`)).status, 400);
    assert.equal((await account(id)).authorization_state, 'requested');
    assert.equal(outcome(await callback({ state, code })).outcome, 'authorized');
  });
});
