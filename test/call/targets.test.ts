import assert from 'node:assert/strict';
import { classifyAddress, isPrivateAddress } from '../../src/call/targets.js';
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

  /** Refused: every range that is not plain unicast, and every IPv4-embedding form whose IPv4 is not unicast. */
  const REFUSED: readonly [string, string][] = [
    ['10.1.2.3', 'private'], ['172.20.0.1', 'private'], ['192.168.1.1', 'private'], ['127.0.0.1', 'loopback'],
    ['169.254.169.254', 'linkLocal'], ['100.64.0.1', 'carrierGradeNat'], ['0.0.0.0', 'unspecified'], ['255.255.255.255', 'broadcast'],
    ['224.0.0.1', 'multicast'], ['240.0.0.1', 'reserved'], ['198.18.0.1', 'reserved'], ['192.0.2.1', 'reserved'],
    ['198.51.100.7', 'reserved'], ['203.0.113.9', 'reserved'], ['192.88.99.1', 'reserved'], ['192.0.0.8', 'reserved'],
    ['::1', 'loopback'], ['::', 'unspecified'], ['fd00::1', 'uniqueLocal'], ['fc00::1', 'uniqueLocal'], ['fe80::1', 'linkLocal'],
    ['fe80::1%eth0', 'linkLocal'], ['ff02::1', 'multicast'], ['fec0::1', 'deprecatedSiteLocal'], ['2001:db8::1', 'reserved'],
    ['3fff::1', 'reserved'], ['100::1', 'discard'], ['2001:2::1', 'benchmarking'], ['2001:10::1', 'deprecatedOrchid'],
    // IPv4-mapped, in both spellings: the dotted one and the hex one a URL is normalised to.
    ['::ffff:10.0.0.1', 'ipv4Mapped private'], ['::ffff:127.0.0.1', 'ipv4Mapped loopback'], ['::ffff:7f00:1', 'ipv4Mapped loopback'],
    ['::ffff:a9fe:a9fe', 'ipv4Mapped linkLocal'],
    // The forms that let through, before ipaddr.js: each reaches 127.0.0.1 on a host that routes it.
    ['::7f00:1', 'ipv4Compatible loopback'], ['::127.0.0.1', 'ipv4Compatible loopback'], ['64:ff9b::7f00:1', 'rfc6052 loopback'],
    ['64:ff9b::a9fe:a9fe', 'rfc6052 linkLocal'], ['2002:7f00:1::', '6to4 loopback'], ['2002:a00:1::1', '6to4 private'],
    ['::ffff:0:7f00:1', 'rfc6145 loopback'],
    // RFC 8215's local-use NAT64 prefix: where its IPv4 sits depends on a prefix length only its operator knows.
    ['64:ff9b:1::808:808', 'rfc6052 local-use'],
    // Teredo: the server's IPv4, then the client's inverted in the last 32 bits (RFC 4380 §4).
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', 'teredo loopback'], ['2001:0:7f00:1:8000:63bf:f7f7:fbfb', 'teredo loopback'],
    // Not an address at all: refused rather than guessed.
    ['example.com', 'invalid'], ['', 'invalid'], ['1.2.3', 'invalid'],
  ];
  /** Public unicast addresses, and embedding forms of public IPv4 addresses: let through. */
  const ALLOWED: readonly string[] = [
    '8.8.8.8', '1.1.1.1', '93.184.215.14', '172.32.0.1', '100.128.0.1', '11.0.0.1', '223.255.255.254',
    '2606:4700:4700::1111', '2a00:1450:4007:80e::200e', '2001:4860:4860::8888', '2400:cb00::1',
    '::ffff:8.8.8.8', '::ffff:808:808', '64:ff9b::808:808', '2002:808:808::1', '::808:808', '::ffff:0:808:808',
    '2001:0:4136:e378:8000:63bf:f7f7:fbfb',
  ];

  it('refuses every range that is not unicast, IPv4-embedding forms judged by their IPv4 (ipaddr.js ranges)', () => {
    for (const [address, range] of REFUSED) {
      assert.equal(isPrivateAddress(address), true, address);
      assert.deepEqual(classifyAddress(address), { allowed: false, range }, address);
    }
  });

  it('lets public unicast addresses through, and the embedding forms of public IPv4 addresses', () => {
    for (const address of ALLOWED) assert.equal(isPrivateAddress(address), false, address);
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

  it('refuses a CALL whose BASE_URL is loopback written as an IPv4-embedding IPv6 address, sending nothing', async () => {
    const port = new URL(peer.url).port;
    // Each of these reached 127.0.0.1 (or was let through to try) before ipaddr.js classified them.
    const hosts = ['::ffff:7f00:1', '::7f00:1', '64:ff9b::7f00:1', '2002:7f00:1::', '::ffff:0:7f00:1', 'fec0::1', '::127.0.0.1'];
    for (const [i, host] of hosts.entries()) {
      expectOk(only(await t.engine.execute(q(`<CREATE><WEBAPI><INFO><DENOMINATION>v6-${i}</DENOMINATION><AUTH_TYPE>apikey</AUTH_TYPE><PLUGIN>keyed</PLUGIN><BASE_URL>http://[${host}]:${port}</BASE_URL></INFO></WEBAPI></CREATE>`), { contactId: 1, groups: [], admin: true })));
      const id = await seedAccount(t.engine, ALICE, `v6-${i}`, '<TOKEN>good-key</TOKEN>');
      await t.engine.database.knex('webaccount').update({ authorization_state: 'authorized' }).where('id', id);
      const r = expectError(only(await t.engine.execute(call(id, 'WHOAMI'), ALICE)), 'TARGET_BLOCKED', '3');
      assert.match(r.text, /is a private or local address \(/, host);
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
