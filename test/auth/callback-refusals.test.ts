/**
 * The callback's `error=` (RFC 6749 §4.1.2.1) says who refused: the user, the WEBAPI's scopes, the client as
 * configured, or the service itself. Each code as a table row: the MESSAGE code in the return URL, the account
 * back to waiting with the service's words as the reason, and the page's status and sentence without one.
 */
import assert from 'node:assert/strict';
import { noScopeGranted } from '../../src/auth/refusals.js';
import type { Engine } from '../../src/engine.js';
import { ALICE, makeEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { Agent } from '../helpers/agent.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { expectOk, only, q } from '../helpers/xml.js';

const OAUTH2 = '<CLIENT_ID>nori-client</CLIENT_ID><CLIENT_SECRET>nori-secret</CLIENT_SECRET><AUTHORIZE_URL>https://provider.test/authorize</AUTHORIZE_URL><TOKEN_URL>https://provider.test/token</TOKEN_URL><SCOPES>read write</SCOPES>';
const RETURN = 'https://cms.test/accounts/';
const PUBLIC = 'https://nori.test';

const ROWS: readonly { readonly error: string; readonly code: string; readonly status: number; readonly says: RegExp }[] = [
  { error: 'access_denied', code: 'ACCESS_DENIED', status: 403, says: /^The authorization was refused at the service\.$/ },
  { error: 'invalid_scope', code: 'SCOPE_REFUSED', status: 403, says: /^The service "prov" refused the scopes nori asked for \(read write\): invalid_scope; an administrator must set the WEBAPI's SCOPES/ },
  { error: 'unauthorized_client', code: 'CLIENT_REFUSED', status: 403, says: /^The service "prov" refused the authorization request nori sent \(unauthorized_client\); an administrator must check the WEBAPI's CLIENT_ID and AUTHORIZE_URL/ },
  { error: 'unsupported_response_type', code: 'CLIENT_REFUSED', status: 403, says: /\(unsupported_response_type\)/ },
  { error: 'invalid_request', code: 'CLIENT_REFUSED', status: 403, says: /\(invalid_request\)/ },
  { error: 'server_error', code: 'PROVIDER_ERROR', status: 502, says: /^The service "prov" failed the authorization \(server_error\); AUTHORIZE again later\.$/ },
  { error: 'temporarily_unavailable', code: 'PROVIDER_ERROR', status: 502, says: /\(temporarily_unavailable\); AUTHORIZE again later/ },
  // An extension's code says nothing of the user: the service failed, in its words.
  { error: 'login_required', code: 'PROVIDER_ERROR', status: 502, says: /\(login_required\)/ },
  { error: '<b>not a code</b>', code: 'PROVIDER_ERROR', status: 502, says: /\(an unreadable error code\)/ },
];

describe('the callback\'s error codes: who refused', () => {
  let engine: Engine;
  let server: RunningServer;
  const state = async (id: number) => (await engine.database.knex('webaccount').first('authorization_state', 'state_reason').where('id', id)) as { authorization_state: string; state_reason: string | null };
  /** AUTHORIZE, then the service's redirect with `error`: the callback's answer. */
  async function refused(error: string, returnUrl?: string) {
    const id = await seedAccount(engine, ALICE, 'prov');
    const extra = returnUrl ? `<RETURN_URL>${returnUrl}</RETURN_URL>` : '';
    const start = expectOk(only(await engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}">${extra}</WEBACCOUNT></AUTHORIZE>`), ALICE))).attrs.url!;
    // The user's browser follows the start link (which binds the flow to it) and comes back with the error.
    const browser = new Agent({ [PUBLIC]: server.url });
    const url = new URL((await browser.request(start)).location!);
    const params = { state: url.searchParams.get('state')!, error, error_description: 'words <i>of</i> the service' };
    return { id, done: await browser.request(`${PUBLIC}/oauth/callback?${new URLSearchParams(params)}`) };
  }

  before(async function () {
    this.timeout(60_000);
    engine = await makeEngine({ authorization: { publicUrl: PUBLIC, returnUrls: [RETURN], flowTtlSeconds: 600 } });
    server = await startServer(engine);
  });
  after(async () => {
    await server.close();
    await engine.close();
  });
  beforeEach(async () => {
    await engine.database.knex.raw('TRUNCATE webaccount, webapi, nori_api_keys, nori_transitions, nori_pending_flows RESTART IDENTITY');
    await seedApi(engine, 'prov', OAUTH2);
  });

  for (const row of ROWS) {
    it(`error=${row.error} is ${row.code}`, async () => {
      const { id, done } = await refused(row.error, `${RETURN}done`);
      assert.equal(done.status, 303);
      const back = new URL(done.location!);
      assert.deepEqual(Object.fromEntries(back.searchParams), { webaccount: String(id), outcome: 'error', error: row.code });
      assert.deepEqual(await state(id), { authorization_state: 'waiting', state_reason: `the service answered ${row.error.slice(0, 64)}: words <i>of</i> the service` });
      const page = (await refused(row.error)).done;
      assert.equal(page.status, row.status);
      assert.equal(/<code id="code">([^<]*)<\/code>/.exec(page.body)?.[1], row.code);
      const message = /<p id="message">([^<]*)<\/p>/.exec(page.body)?.[1]?.replace(/&#39;/g, '\'').replace(/&#34;/g, '"');
      assert.match(message ?? '', row.says);
      assert.ok(!page.body.includes('<i>of</i>') && !page.body.includes('<b>'), 'the service\'s free text is not on nori\'s page');
    });
  }

  it('SCOPE_REFUSED says "none" when the WEBAPI asked for no scope', async () => {
    await engine.database.knex('webapi').update({ scopes: null }).where('denomination', 'prov');
    const page = (await refused('invalid_scope')).done;
    assert.match(page.body, /refused the scopes nori asked for \(none\): invalid_scope/);
  });

  it('a token answer grants none of the scopes asked only when its scope names none of them', () => {
    const cases: [string[], string | undefined, string | undefined][] = [
      [['openid'], undefined, undefined], // RFC 6749 §5.1: no scope in the answer means the scopes asked
      [['openid'], 'openid', undefined],
      [['openid', 'profile'], 'profile', undefined], // fewer than asked is still something the account can use
      [['openid', 'profile', 'email'], 'openid,profile', undefined], // LinkedIn separates them with commas
      [['openid'], '', 'the token grants no scope'],
      [['openid'], '  ', 'the token grants no scope'],
      [['openid'], 'profile email', 'the token grants only profile email'],
      [['openid'], 'profile,email', 'the token grants only profile email'],
      [[], '', undefined], // asking for none, whatever is granted will do
    ];
    for (const [asked, granted, expected] of cases) assert.equal(noScopeGranted(asked, granted), expected, `${asked.join(' ')} / ${granted}`);
  });
});
