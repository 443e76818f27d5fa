/**
 * Login CSRF on the callback (RFC 6749 §10.12): each flow is bound to the browser that followed its start link.
 * Two browsers with their own cookie jars (test/helpers/agent.ts) against a real nori over HTTP and the echo
 * OAuth 2.0 peer: the attacker AUTHORIZEs their own account and hands the provider URL, or the start link they
 * followed, to a victim; the victim's consent must never put tokens on the attacker's account, and a refused
 * callback must not burn anyone's flow.
 */
import assert from 'node:assert/strict';
import type { Engine } from '../../src/engine.js';
import type { Principal } from '../../src/principal.js';
import { Agent } from '../helpers/agent.js';
import { ECHO_PLUGINS, PUBLIC_URL, seedEchoApi, startEcho, type Echo } from '../helpers/echo.js';
import { ALICE, CAROL, makeEngine } from '../helpers/engine.js';
import { seedAccount } from '../helpers/seed.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { expectOk, only, q } from '../helpers/xml.js';

const RETURN = 'https://cms.test/accounts/';
const CALLBACK = `${PUBLIC_URL}/oauth/callback`;

describe('security: each authorization is bound to the browser that started it', function () {
  this.timeout(30_000);
  let engine: Engine;
  let server: RunningServer;
  let echo: Echo;
  const browser = () => new Agent({ [PUBLIC_URL]: server.url });

  /** AUTHORIZE over the engine as the CMS would; the url attribute is the start link. */
  async function authorize(who: Principal, returnUrl: string | null = `${RETURN}done`): Promise<{ id: number; link: string }> {
    const id = await seedAccount(engine, who, 'echo');
    const r = expectOk(only(await engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}">${returnUrl ? `<RETURN_URL>${returnUrl}</RETURN_URL>` : ''}</WEBACCOUNT></AUTHORIZE>`), who)));
    return { id, link: r.attrs.url! };
  }
  /** Follows the start link in `agent`; returns the provider's URL it was sent to. */
  async function start(agent: Agent, link: string): Promise<string> {
    const hop = await agent.request(link);
    assert.equal(hop.status, 303, hop.body);
    return hop.location!;
  }
  /** At the provider (the echo peer approves at once): where it sends the browser back. */
  async function atProvider(agent: Agent, providerUrl: string): Promise<string> {
    const hop = await agent.request(providerUrl);
    assert.equal(hop.status, 302, hop.body);
    assert.ok(hop.location!.startsWith(`${CALLBACK}?`), hop.location!);
    return hop.location!;
  }
  const account = async (id: number) => (await engine.database.knex('webaccount').first('authorization_state', 'token', 'refresh_token').where('id', id)) as { authorization_state: string; token: string | null; refresh_token: string | null };
  const page = (hop: { body: string }) => /<code id="code">(\w+)<\/code>/.exec(hop.body)?.[1];

  before(async function () {
    this.timeout(60_000);
    echo = await startEcho();
    engine = await makeEngine({ plugins: { builtins: false, ...ECHO_PLUGINS }, authorization: { publicUrl: PUBLIC_URL, returnUrls: [RETURN], flowTtlSeconds: 600 } });
    server = await startServer(engine);
  });
  after(async () => {
    await server.close();
    await engine.close();
    await echo.peer.close();
  });
  beforeEach(async () => {
    await engine.database.knex.raw('TRUNCATE webaccount, webapi, nori_transitions, nori_pending_flows RESTART IDENTITY');
    await seedEchoApi(engine, echo);
  });

  it('AUTHORIZE answers a nori start link; following it sets a short-lived, HttpOnly, SameSite=Lax, path-scoped cookie and 303s to the provider', async () => {
    const { id, link } = await authorize(ALICE);
    const url = new URL(link);
    assert.equal(`${url.origin}${url.pathname}`, `${PUBLIC_URL}/oauth/start`);
    assert.match(url.searchParams.get('flow')!, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(!url.searchParams.has('state'), 'the state is not in the start link');
    const alice = browser();
    const hop = await alice.request(link);
    assert.equal(hop.status, 303);
    assert.ok(hop.location!.startsWith(`${echo.peer.url}/authorize?`), hop.location!);
    assert.equal(new URL(hop.location!).searchParams.get('redirect_uri'), CALLBACK);
    assert.equal(hop.setCookie.length, 1, hop.setCookie.join('\n'));
    const [pair, ...attributes] = hop.setCookie[0]!.split('; ');
    assert.match(pair!, /^nori_flow=[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(attributes.sort(), ['HttpOnly', 'Max-Age=600', 'Path=/oauth/', 'SameSite=Lax'], 'over http: no Secure');
    const stored = await engine.database.knex('nori_pending_flows').first('*').where('account_id', id);
    assert.ok(!JSON.stringify(stored).includes(pair!.slice('nori_flow='.length)), 'only the hash of the cookie is stored');
    assert.ok(!JSON.stringify(stored).includes(url.searchParams.get('flow')!), 'only the hash of the start link is stored');
    assert.ok(!JSON.stringify(stored).includes(new URL(hop.location!).searchParams.get('state')!), 'the provider URL, which carries the state, is stored encrypted');
    const back = await alice.request(await atProvider(alice, hop.location!));
    assert.equal(back.status, 303);
    assert.equal(back.location, `${RETURN}done?webaccount=${id}&outcome=authorized`);
  });

  it('the attacker hands the provider URL to a victim: the victim\'s callback is refused, nothing is exchanged, the flow survives', async () => {
    const attacker = browser();
    const victim = browser();
    const mine = await authorize(CAROL);
    const providerUrl = await start(attacker, mine.link);
    const exchanges = echo.oauth.grants.authorization_code ?? 0;
    const planted = await victim.request(await atProvider(victim, providerUrl));
    assert.equal(planted.status, 403, planted.body);
    assert.equal(planted.location, null, 'the stranger is not sent to the flow\'s return URL');
    assert.equal(page(planted), 'CALLBACK_UNBOUND');
    assert.match(planted.body, /did not come from the browser that started/);
    assert.equal(echo.oauth.grants.authorization_code ?? 0, exchanges, 'the code from the victim\'s consent was never exchanged');
    assert.deepEqual(await account(mine.id), { authorization_state: 'requested', token: null, refresh_token: null }, 'no tokens on the attacker\'s account');
    // The refusal did not burn the flow: its own browser still finishes it.
    const own = await attacker.request(await atProvider(attacker, providerUrl));
    assert.equal(own.location, `${RETURN}done?webaccount=${mine.id}&outcome=authorized`);
  });

  it('the start link works once: a second browser (or the same one) following it again is refused and gets no cookie', async () => {
    const attacker = browser();
    const victim = browser();
    const mine = await authorize(CAROL);
    const providerUrl = await start(attacker, mine.link);
    const replayed = await victim.request(mine.link);
    assert.equal(replayed.status, 409);
    assert.equal(page(replayed), 'START_USED');
    assert.deepEqual([replayed.location, replayed.setCookie], [null, []]);
    assert.equal(page(await attacker.request(mine.link)), 'START_USED');
    // The victim's browser, sent on to the provider by hand, still has no cookie for this flow.
    const planted = await victim.request(await atProvider(victim, providerUrl));
    assert.equal(page(planted), 'CALLBACK_UNBOUND');
    assert.equal((await account(mine.id)).token, null);
  });

  it('a stranger holding the victim\'s callback URL, or a binding cookie of their own, cannot finish or burn the victim\'s flow', async () => {
    const victim = browser();
    const attacker = browser();
    const theirs = await authorize(ALICE);
    const callback = await atProvider(victim, await start(victim, theirs.link));
    // The attacker has a binding cookie too, from a flow of their own: it is not the victim's.
    const mine = await authorize(CAROL);
    await start(attacker, mine.link);
    for (const stranger of [browser(), attacker]) {
      const r = await stranger.request(callback);
      assert.equal(r.status, 403);
      assert.equal(page(r), 'CALLBACK_UNBOUND');
    }
    assert.deepEqual(await account(theirs.id), { authorization_state: 'requested', token: null, refresh_token: null });
    const own = await victim.request(callback);
    assert.equal(own.location, `${RETURN}done?webaccount=${theirs.id}&outcome=authorized`);
    assert.equal((await account(mine.id)).authorization_state, 'requested', 'the attacker\'s flow is untouched too');
  });

  it('one browser may run two flows at once (two tabs): each finishes', async () => {
    const alice = browser();
    const first = await authorize(ALICE);
    const second = await authorize(ALICE);
    const firstUrl = await start(alice, first.link);
    const value = alice.cookie('nori_flow')!.value;
    const secondUrl = await start(alice, second.link);
    assert.equal(alice.cookie('nori_flow')!.value, value, 'the browser keeps its binding: the first flow stays bound to it');
    assert.equal((await alice.request(await atProvider(alice, secondUrl))).location, `${RETURN}done?webaccount=${second.id}&outcome=authorized`);
    assert.equal((await alice.request(await atProvider(alice, firstUrl))).location, `${RETURN}done?webaccount=${first.id}&outcome=authorized`);
  });

  it('refuses an unknown start link and an expired one, changing nothing', async () => {
    const alice = browser();
    const unknown = await alice.request(`${PUBLIC_URL}/oauth/start?flow=${'A'.repeat(43)}`);
    assert.deepEqual([unknown.status, page(unknown), unknown.setCookie.length], [400, 'START_INVALID', 0]);
    for (const odd of ['', '?flow=', `?flow=${'A'.repeat(5000)}`, '?flow=a&flow=b']) {
      const r = await alice.request(`${PUBLIC_URL}/oauth/start${odd}`);
      assert.deepEqual([r.status, page(r)], [400, 'START_INVALID'], odd);
    }
    const { id, link } = await authorize(ALICE);
    await engine.database.knex('nori_pending_flows').update({ expires_at: new Date(Date.now() - 1000) }).where('account_id', id);
    const expired = await alice.request(link);
    assert.deepEqual([expired.status, page(expired), expired.setCookie.length], [410, 'FLOW_EXPIRED', 0]);
    assert.equal((await account(id)).authorization_state, 'requested');
  });

  it('an account revoked while its flow is open: 303 to the return URL with error=ILLEGAL_TRANSITION, or the nori page', async () => {
    for (const returnUrl of [`${RETURN}done`, null]) {
      const alice = browser();
      const { id, link } = await authorize(ALICE, returnUrl);
      const callback = await atProvider(alice, await start(alice, link));
      expectOk(only(await engine.execute(q(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><AUTHORIZATION_STATE>revoked</AUTHORIZATION_STATE></INFO></WEBACCOUNT></UPDATE>`), ALICE)));
      const exchanges = echo.oauth.grants.authorization_code ?? 0;
      const back = await alice.request(callback);
      if (returnUrl) {
        assert.equal(back.status, 303, back.body);
        assert.equal(back.location, `${returnUrl}?webaccount=${id}&outcome=error&error=ILLEGAL_TRANSITION`);
      } else {
        assert.equal(back.status, 409);
        assert.equal(page(back), 'ILLEGAL_TRANSITION');
        assert.match(back.body, /changed state during the authorization; nothing was stored/);
      }
      assert.equal(echo.oauth.grants.authorization_code ?? 0, exchanges, 'the code was not exchanged');
      assert.deepEqual(await account(id), { authorization_state: 'revoked', token: null, refresh_token: null });
      // A stranger's browser with the same callback still learns nothing about the account.
      assert.equal(page(await browser().request(callback)), 'CALLBACK_UNBOUND');
    }
  });

  it('a CMS that mounts the routes itself: startAuthorization gives the binding, finishAuthorization needs it', async () => {
    const { id, link } = await authorize(ALICE);
    const flow = new URL(link).searchParams.get('flow')!;
    const started = await engine.startAuthorization(flow);
    assert.equal(started.code, 'AUTHORIZATION_STARTED');
    assert.match(started.browserBinding!, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(started.cookie!.startsWith(`nori_flow=${started.browserBinding}; `), started.cookie);
    const back = new URL(await atProvider(browser(), started.location!));
    for (const browserBinding of [undefined, '', 'x', 'A'.repeat(43), ['A'.repeat(43)]]) {
      const refused = await engine.finishAuthorization(back.searchParams, browserBinding === undefined ? undefined : { browserBinding });
      assert.deepEqual([refused.code, refused.status, refused.location], ['CALLBACK_UNBOUND', 403, undefined], String(browserBinding));
    }
    // A cookie jar may hold more than one value under the name (another path): any of them may be the one.
    const done = await engine.finishAuthorization(back.searchParams, { browserBinding: ['A'.repeat(43), started.browserBinding!] });
    assert.equal(done.code, 'AUTHORIZED', done.message);
    assert.equal(done.location, `${RETURN}done?webaccount=${id}&outcome=authorized`);
    assert.equal((await engine.startAuthorization(flow, { browserBinding: started.browserBinding! })).code, 'START_USED');
  });
});
