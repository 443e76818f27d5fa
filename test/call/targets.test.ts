import assert from 'node:assert/strict';
import { isPrivateAddress } from '../../src/call/targets.js';
import { ALICE, useEngine } from '../helpers/engine.js';
import { call } from '../helpers/echo.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { json, startPeer, type Peer } from '../peers/http-peer.js';
import { expectError, expectOk, only, q } from '../helpers/xml.js';

describe('NORI_BLOCK_PRIVATE_TARGETS: no request to a private or local address', function () {
  this.timeout(30_000);
  const t = useEngine({ plugins: { builtins: false, dirs: ['test/fixtures/plugins'] }, calls: { blockPrivateTargets: true, timeoutMs: 1000, maxAttempts: 2, budgetMs: 3000 } });
  let peer: Peer;
  before(async () => {
    peer = await startPeer(() => json(200, { owner: 'alice' }));
  });
  after(async () => peer.close());

  it('knows the private, local, link-local and reserved ranges, IPv4-mapped addresses included', () => {
    for (const a of ['10.1.2.3', '127.0.0.1', '169.254.169.254', '172.20.0.1', '192.168.1.1', '100.64.0.1', '0.0.0.0', '::1', '::', 'fd00::1', 'fe80::1', '::ffff:10.0.0.1', '::ffff:127.0.0.1']) {
      assert.equal(isPrivateAddress(a), true, a);
    }
    for (const a of ['8.8.8.8', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8']) assert.equal(isPrivateAddress(a), false, a);
  });

  it('refuses a CALL and an API-key AUTHORIZE whose service is on loopback, by address or by name, sending nothing', async () => {
    const admin = { contactId: 1, groups: [], admin: true };
    for (const base of [peer.url, peer.url.replace('127.0.0.1', 'localhost')]) {
      await t.engine.database.knex.raw('TRUNCATE webaccount, webapi RESTART IDENTITY CASCADE');
      expectOk(only(await t.engine.execute(q(`<CREATE><WEBAPI><INFO><DENOMINATION>keyed</DENOMINATION><AUTH_TYPE>apikey</AUTH_TYPE><BASE_URL>${base}</BASE_URL></INFO></WEBAPI></CREATE>`), admin)));
      const id = await seedAccount(t.engine, ALICE, 'keyed', '<TOKEN>good-key</TOKEN>');
      const r = expectError(only(await t.engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`), ALICE)), 'TARGET_BLOCKED', '3');
      assert.match(r.text, /is at (127\.0\.0\.1|localhost \(127\.0\.0\.1|localhost \(::1).* a private or local address/);
      await t.engine.database.knex('webaccount').update({ authorization_state: 'authorized' }).where('id', id);
      expectError(only(await t.engine.execute(call(id, 'WHOAMI'), ALICE)), 'TARGET_BLOCKED', '3');
    }
    assert.equal(peer.count(), 0);
  });

  it('refuses OAuth endpoints on private addresses before sending', async () => {
    await seedApi(t.engine, 'inside', '<CLIENT_ID>c</CLIENT_ID><CLIENT_SECRET>s</CLIENT_SECRET><REQUEST_TOKEN_URL>http://10.0.0.5/request</REQUEST_TOKEN_URL><AUTHORIZE_URL>http://10.0.0.5/authorize</AUTHORIZE_URL><TOKEN_URL>http://10.0.0.5/access</TOKEN_URL>', 'oauth1');
    const id = await seedAccount(t.engine, ALICE, 'inside');
    const r = expectError(only(await t.engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`), ALICE)), 'PROVIDER_ERROR');
    assert.match(r.text, /request token .*blocked_target/);
  });
});
