/**
 * Server-side request forgery through URLs a caller can set. Only administrators write WEBAPI URLs (the only
 * URLs nori fetches): a user gets ADMIN_ONLY, whoever owns the row. A URL a user sends anywhere else (CALL
 * parameters, RETURN_URL, account fields, criteria) is never fetched: a peer counting requests sees none.
 * Refusing private-range targets by configuration is tested in test/call/targets.test.ts.
 */
import assert from 'node:assert/strict';
import { WEBACCOUNT, WEBAPI, type FieldDef } from '../../schemas/index.js';
import type { Engine } from '../../src/engine.js';
import { authorizedAccount, ECHO_PLUGINS, PUBLIC_URL, seedEchoApi, startEcho, type Echo } from '../helpers/echo.js';
import { ADMIN, ALICE, makeEngine } from '../helpers/engine.js';
import { Agent } from '../helpers/agent.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { callResult, expectError, expectOk, only, q, qa, replies, textAt } from '../helpers/xml.js';
import { authorizeCode } from '../peers/oauth2-server.js';
import { json, startPeer, type Peer } from '../peers/http-peer.js';

const URL_FIELDS = Object.entries(WEBAPI.fields).filter(([, f]) => f.type === 'url').map(([n]) => n);

describe('security: server-side request forgery through URLs a caller sets', function () {
  this.timeout(30_000);
  let engine: Engine;
  let server: RunningServer;
  let echo: Echo;
  let trap: Peer;
  let userKey: string;
  /** A batch sent over HTTP with Alice's key (a plain user), as XML or as the NQL form field. */
  const asUser = async (xml: string, form = false) => {
    const res = await fetch(server.url, {
      method: 'POST',
      headers: { authorization: `Bearer ${userKey}`, 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/xml' },
      body: form ? new URLSearchParams({ NQL: xml }).toString() : xml,
    });
    assert.equal(res.status, 200);
    return res.text();
  };
  const webapiRows = () => engine.database.knex('webapi').select('*').orderBy('id');

  before(async function () {
    this.timeout(60_000);
    trap = await startPeer(() => json(200, { trapped: true }));
    echo = await startEcho();
    engine = await makeEngine({ plugins: { builtins: false, ...ECHO_PLUGINS }, authorization: { publicUrl: PUBLIC_URL, returnUrls: [`${trap.url}/back/`] } });
    server = await startServer(engine);
    userKey = (await engine.keys.create({ contactId: ALICE.contactId, groups: [...ALICE.groups] })).key;
    await engine.database.knex.raw('TRUNCATE webaccount, webapi, nori_transitions, nori_pending_flows RESTART IDENTITY');
    await seedEchoApi(engine, echo);
  });
  after(async () => {
    await server.close();
    await engine.close();
    await Promise.all([echo.peer.close(), trap.close()]);
  });

  it('only administrators write WEBAPI URLs: a user gets ADMIN_ONLY on CREATE, UPDATE, DELETE and KILL, even on a WEBAPI they own', async () => {
    assert.deepEqual(URL_FIELDS, ['BASE_URL', 'REQUEST_TOKEN_URL', 'AUTHORIZE_URL', 'TOKEN_URL', 'REVOKE_URL']);
    assert.deepEqual(Object.entries(WEBACCOUNT.fields as Record<string, FieldDef>).filter(([, f]) => f.type === 'url'), [], 'an account holds no URL nori would fetch');
    const owned = expectOk(only(await engine.execute(q(`<CREATE><WEBAPI><INFO><DENOMINATION>owned</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><PLUGIN>echo</PLUGIN><OWNERID>${ALICE.contactId}</OWNERID><GROUPID>10</GROUPID></INFO></WEBAPI></CREATE>`), ADMIN))).attrs.elementID!;
    const before = await webapiRows();
    const evil = `${trap.url}/ssrf`;
    for (const field of [...URL_FIELDS, 'SETTINGS']) {
      const value = field === 'SETTINGS' ? `<GREETING>${evil}</GREETING>` : evil;
      const create = `<CREATE><WEBAPI><INFO><DENOMINATION>evil-${field}</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><PLUGIN>echo</PLUGIN><${field}>${value}</${field}></INFO></WEBAPI></CREATE>`;
      expectError(only(await asUser(q(create))), 'ADMIN_ONLY', '3');
      for (const id of ['1', owned, `1,${owned}`]) {
        const reply = expectError(only(await asUser(q(`<UPDATE><WEBAPI ID="${id}"><INFO><${field}>${value}</${field}></INFO></WEBAPI></UPDATE>`), field === 'BASE_URL')), 'ADMIN_ONLY', '3');
        assert.match(reply.text, /Only an administrator may update a WEBAPI/);
      }
      const atomic = replies(await asUser(qa(create, `<UPDATE><WEBAPI ID="${owned}"><INFO><${field}>${value}</${field}></INFO></WEBAPI></UPDATE>`)));
      expectError(atomic[0]!, 'ADMIN_ONLY', '3');
    }
    for (const verb of ['DELETE', 'KILL']) expectError(only(await asUser(q(`<${verb}><WEBAPI ID="${owned}"/></${verb}>`))), 'ADMIN_ONLY', '3');
    assert.deepEqual(await webapiRows(), before, 'no WEBAPI changed');
  });

  it('never fetches a URL a user sends: CALL parameters, RETURN_URLs, account fields, criteria', async () => {
    const id = await authorizedAccount(engine, ALICE);
    const site = `${trap.url}/site`;
    const read = callResult(await asUser(q(`<CALL><WEBACCOUNT ID="${id}"><READ><ID>1</ID><SITE>${site}</SITE><FIELDS><HOOK>${trap.url}/hook</HOOK></FIELDS></READ><RETURN_URL>${trap.url}/back/call</RETURN_URL></WEBACCOUNT></CALL>`)));
    assert.deepEqual([textAt(read, 'site'), textAt(read, 'fields/HOOK')], [site, `${trap.url}/hook`], 'the plugin got the URLs as data');
    expectError(only(await asUser(q(`<CALL><WEBACCOUNT ID="${id}"><READ><ID>1</ID></READ><RETURN_URL>${trap.url}/elsewhere</RETURN_URL></WEBACCOUNT></CALL>`))), 'RETURN_URL_NOT_ALLOWED', '3');
    const batch = q(
      `<CREATE><WEBACCOUNT><INFO><API>echo</API><DENOMINATION>${trap.url}/denomination</DENOMINATION><LOGIN>${trap.url}/login</LOGIN></INFO></WEBACCOUNT></CREATE>`,
      `<SEARCH><WEBAPI><INFO><BASE_URL operator="starts-with">${trap.url}/search</BASE_URL></INFO></WEBAPI></SEARCH>`,
      `<UPDATE><WEBACCOUNT ID="${id}"><INFO><DENOMINATION>${trap.url}/update</DENOMINATION></INFO></WEBACCOUNT></UPDATE>`,
    );
    for (const r of replies(await asUser(batch, true))) expectOk(r);
    // AUTHORIZE with an allowlisted return URL on the trap: the browser is sent there, nori does not go.
    const mine = expectOk(only(await asUser(q(`<CREATE><WEBACCOUNT><INFO><API>echo</API></INFO></WEBACCOUNT></CREATE>`)))).attrs.elementID!;
    const started = expectOk(only(await asUser(q(`<AUTHORIZE><WEBACCOUNT ID="${mine}"><RETURN_URL>${trap.url}/back/done</RETURN_URL></WEBACCOUNT></AUTHORIZE>`))));
    const browser = new Agent({ [PUBLIC_URL]: server.url });
    const done = await browser.request(await authorizeCode(started.attrs.url!, browser));
    assert.equal(done.status, 303);
    assert.ok(done.location!.startsWith(`${trap.url}/back/done?`), done.location!);
    assert.equal(trap.count(), 0, `nori fetched ${trap.requests.map((r) => r.url).join(', ')}`);
  });

  it('the counting peer does see what nori fetches: the WEBAPI URL an administrator set', async () => {
    const control = await startPeer(() => json(200, { reached: true }));
    try {
      await seedEchoApi(engine, echo, 'mirror', '<PLUGIN>echo</PLUGIN>');
      expectOk(only(await engine.execute(q(`<UPDATE><WEBAPI ID="${(await engine.database.knex('webapi').first('id').where('denomination', 'mirror')).id}"><INFO><BASE_URL>${control.url}</BASE_URL></INFO></WEBAPI></UPDATE>`), ADMIN)));
      const id = await authorizedAccount(engine, ALICE, 'mirror');
      assert.equal(textAt(callResult(await asUser(q(`<CALL><WEBACCOUNT ID="${id}"><READ><ID>1</ID></READ></WEBACCOUNT></CALL>`))), 'reached'), 'true');
      assert.equal(control.count('/echo'), 1);
    } finally {
      await control.close();
    }
  });
});
