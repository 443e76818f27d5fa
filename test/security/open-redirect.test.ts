/**
 * Open redirect through return URLs: AUTHORIZE's and CALL's RETURN_URL must be under NORI_RETURN_URLS, and the
 * usual tricks (userinfo, look-alike hosts, case, dot segments, encoded slashes and dots, backslashes, ports)
 * are refused; whatever passes sends the browser to the allowlisted origin and path, nowhere else.
 * test/auth/authorize.test.ts has the first six refusals for AUTHORIZE; this file has the rest, and CALL.
 */
import assert from 'node:assert/strict';
import type { Engine } from '../../src/engine.js';
import { authorizedAccount, ECHO_PLUGINS, PUBLIC_URL, seedEchoApi, startEcho, type Echo } from '../helpers/echo.js';
import { ALICE, makeEngine } from '../helpers/engine.js';
import { seedAccount } from '../helpers/seed.js';
import { Agent } from '../helpers/agent.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { callReplies, expectError, only, q, type Reply } from '../helpers/xml.js';

const PREFIX = 'https://cms.test/accounts/';

/** Off the allowlist once parsed: RETURN_URL_NOT_ALLOWED (msgType 3). */
const OFF_LIST = [
  'https://cms.test@evil.test/', 'https://cms.test@evil.test/accounts/', 'https://cms.test%2F@evil.test/accounts/', 'https://cms.test.evil.test/accounts/',
  'https://cms.test%2Eevil.test/accounts/', 'https://CMS.TEST/', 'https://cms.test/../evil', 'https://cms.test/accounts/../evil', 'https://cms.test/accounts/%2e%2e/evil',
  'https://cms.test/accounts/%2E%2E/%2E%2E/evil', 'https://cms.test:8443/accounts/', 'https://cms.test./accounts/', 'https://cms.test\\@evil.test/accounts/',
  'https:\\\\evil.test\\accounts\\', 'https:/evil.test/accounts/', 'https:evil.test/accounts/', 'https://evil.test\\.cms.test/accounts/', 'http://cms.test/accounts/',
  'https://evil.test/accounts/?next=https://cms.test/accounts/', 'https://evil.test/#https://cms.test/accounts/', 'https://cms.test/ACCOUNTS/x', 'https://cms.test/accountsx',
];
/** Not an absolute http(s) URL at all: INVALID_VALUE. */
const NOT_URLS = ['//evil.test', '//evil.test/accounts/', '/\\evil.test', 'https:%2F%2Fevil.test/', 'https://evil.test%2Fcms.test/accounts/', 'https://cms.test%40evil.test/accounts/',
  '/accounts/done', 'javascript://cms.test/accounts/%0aalert(1)', 'data:text/html,<script>x</script>'];
/** Allowed: each spelling of the allowlisted origin and a path under the prefix. */
const ALLOWED = ['https://cms.test/accounts/done', 'https://cms.test/accounts/', 'https://cms.test/accounts/a/b?x=1&y=2#f', 'https://CMS.TEST/accounts/x', 'https://cms.test:443/accounts/x',
  'https://%63ms.test/accounts/x', 'https://cms.test/%2e%2e/accounts/x', 'https://cms.test/accounts/%2E%2E%2Fevil', 'https://cms.test/accounts/@evil.test'];

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
/** expectError, naming the URL that was wrongly treated. */
const refused = (reply: Reply, code: string, url: string) => {
  assert.equal(reply.attrs.errorCode, code, `${url}: ${reply.attrs.errorCode ?? 'accepted'}: ${reply.text}`);
  return expectError(reply, code, code === 'RETURN_URL_NOT_ALLOWED' ? '3' : '1');
};

describe('security: open redirect through return URLs', function () {
  this.timeout(30_000);
  let engine: Engine;
  let server: RunningServer;
  let echo: Echo;
  const run = async (xml: string) => only(await engine.execute(q(xml), ALICE));
  const authorize = (id: number, url: string) => run(`<AUTHORIZE><WEBACCOUNT ID="${id}"><RETURN_URL>${esc(url)}</RETURN_URL></WEBACCOUNT></AUTHORIZE>`);
  const call = async (id: number, url: string) => engine.execute(q(`<CALL><WEBACCOUNT ID="${id}"><READ><ID>1</ID></READ><RETURN_URL>${esc(url)}</RETURN_URL></WEBACCOUNT></CALL>`), ALICE);

  before(async function () {
    this.timeout(60_000);
    echo = await startEcho();
    engine = await makeEngine({ plugins: { builtins: false, ...ECHO_PLUGINS }, authorization: { publicUrl: PUBLIC_URL, returnUrls: [PREFIX] } });
    server = await startServer(engine);
    // The echo plugin's own row, pointed at the echo peer.
    await engine.database.knex.raw('TRUNCATE webaccount, webapi, nori_transitions, nori_pending_flows RESTART IDENTITY');
    await seedEchoApi(engine, echo);
  });
  after(async () => {
    await server.close();
    await engine.close();
    await echo.peer.close();
  });

  it('AUTHORIZE refuses every trick, starting no flow and leaving the account waiting', async () => {
    const id = await seedAccount(engine, ALICE, 'echo');
    for (const url of OFF_LIST) assert.equal(refused(await authorize(id, url), 'RETURN_URL_NOT_ALLOWED', url).attrs.elementID, String(id), url);
    for (const url of NOT_URLS) refused(await authorize(id, url), 'INVALID_VALUE', url);
    assert.equal((await engine.database.knex('webaccount').first('authorization_state').where('id', id)).authorization_state, 'waiting');
    assert.equal((await engine.database.knex('nori_pending_flows').where('account_id', id)).length, 0, 'no flow was started');
  });

  it('AUTHORIZE accepts the allowlisted origin however it is spelled, and the callback sends the browser only there', async () => {
    for (const url of ALLOWED) {
      const id = await seedAccount(engine, ALICE, 'echo');
      const started = await authorize(id, url);
      assert.equal(started.attrs.msgType, '0', `${url}: ${started.attrs.errorCode}: ${started.text}`);
      // The user's browser follows the start link, then the provider sends it back with a refusal.
      const browser = new Agent({ [PUBLIC_URL]: server.url });
      const state = new URL((await browser.request(started.attrs.url!)).location!).searchParams.get('state')!;
      const back = await browser.request(`${PUBLIC_URL}/oauth/callback?${new URLSearchParams({ state, error: 'access_denied' })}`);
      assert.equal(back.status, 303, url);
      const location = new URL(back.location!);
      assert.equal(location.origin, 'https://cms.test', `${url} → ${back.location}`);
      assert.ok(location.pathname.startsWith('/accounts/'), `${url} → ${back.location}`);
      assert.deepEqual([location.searchParams.get('webaccount'), location.searchParams.get('error')], [String(id), 'ACCESS_DENIED']);
    }
  });

  it('CALL refuses every trick before anything reaches the service, and runs with an allowlisted RETURN_URL', async () => {
    const id = await authorizedAccount(engine, ALICE);
    const sent = echo.peer.count('/echo');
    for (const url of OFF_LIST) refused(only(await call(id, url)), 'RETURN_URL_NOT_ALLOWED', url);
    for (const url of NOT_URLS) refused(only(await call(id, url)), 'INVALID_VALUE', url);
    assert.equal(echo.peer.count('/echo'), sent, 'no refused CALL reached the service');
    for (const url of ALLOWED) {
      const [account] = callReplies(await call(id, url));
      assert.equal(account?.result?.tagName, 'READ', `${url}: ${JSON.stringify(account?.message)}`);
    }
    assert.equal(echo.peer.count('/echo'), sent + ALLOWED.length);
  });
});
