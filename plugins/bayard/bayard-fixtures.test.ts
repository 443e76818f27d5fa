/**
 * Every example of the spec that has a response (test/fixtures/bayard/index.json) as a CALL over nori's HTTP
 * server, against the Bayard peer: the peer must receive the example's request (same decoded path segments,
 * same form), and the CALL's result must say exactly what the example's XML says. The same XML, replayed
 * verbatim by the peer, must read the same (this covers what the peer cannot produce: the spec's stray <SCRIPT/>,
 * id 51). No response may carry the url_key, the salt or a password.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { callResult, expectError, only } from '../../test/helpers/xml.js';
import { seedBayard } from '../../test/peers/bayard.js';
import { parseTree } from '../../test/peers/bayard/xml-tree.js';
import { phpUrldecode } from '../../test/peers/bayard/zend-xml.js';
import { expectedResult, readResult, TO_CALL, type IndexEntry, type Plain } from './fixture-expectations.test-helper.js';
import { md5, PARTNERS, PROBE_PATH, useBayard } from './harness.test-helper.js';

const fixtures = new URL('../../test/fixtures/bayard/', import.meta.url);
const index = JSON.parse(readFileSync(new URL('index.json', fixtures), 'utf8')) as IndexEntry[];
const seed = seedBayard();

/**
 * Examples the CALL cannot send as they are, each with its reason; the peer then replays the example's XML.
 * - set-password.failure: its request has no password (the spec's undocumented "erreur commune"), and nori
 *   refuses a CALL without PASSWORD (PARAM_MISSING) before anything is sent.
 */
const REPLAYED_ONLY: Readonly<Record<string, string>> = { 'set-password.failure': 'PASSWORD is required' };

/** Decoded path segments as the service reads them; field lists compared as the service reads them too. */
const segmentsOf = (path: string) => path.split('/').map(phpUrldecode).map((s) => (s.includes(',') ? s.split(',').map((f) => f.trim()).filter(Boolean).join(',') : s));

/** The clear password of a login example: the one whose salted hash is in its path. */
function passwordFor(salt: string) {
  return (hash: string) => {
    const candidates = [...seed.users.flatMap((u) => (u.password ? [u.password] : [])), 'wrong-password'];
    const found = candidates.find((p) => md5(salt + p) === hash);
    assert.ok(found, `no known password hashes to ${hash}`);
    return found;
  };
}

/** Parts of a result no example can pin, for one case each. */
function adjust(name: string, expected: Plain, actual: Plain, live: boolean): Plain {
  const e = structuredClone(expected) as Record<string, Plain>;
  const a = actual as Record<string, Plain>;
  if (name === 'create.success' && live) {
    // A new account gets the next free id at the peer (51 in the spec).
    assert.match((a.user as Record<string, string>).id!, /^\d+$/);
    (e.user as Record<string, string>).id = (a.user as Record<string, string>).id!;
  }
  if (name.startsWith('access-get.') && live) {
    // The spec elides the paper subscription ("..."): the peer's one item must be there, with its fields.
    const items = a.SubscriptionAccessList as Record<string, string>[];
    assert.equal(items.length, 1);
    assert.deepEqual(Object.keys(items[0]!), ['HostCode', 'PublicationCode', 'SubscriptionCode', 'StartDate', 'ExpireDate', 'RateCode']);
    e.SubscriptionAccessList = items;
  }
  return e;
}

/** The example's CALL: its partner, method and parameters, from its request. */
function callOf(entry: IndexEntry) {
  const path = entry.request.concretePath ?? entry.request.path;
  const [, api, module, method, key, ...raw] = path.split('/');
  assert.equal(api, 'api');
  const partner = PARTNERS.find((x) => x.urlKey === key);
  assert.ok(partner, `${path}: a url_key of the peer`);
  const [callMethod, params] = TO_CALL[`${module}/${method}`]!(raw.map(phpUrldecode), entry.request.form ?? {}, passwordFor(partner.salt));
  const secrets = [partner.urlKey, partner.salt, ...[params.PASSWORD, params.SECRET_CODE].filter((v): v is string => typeof v === 'string')];
  return { path, module, method, partner, callMethod, params, secrets };
}

/** Examples without a response that are no CALL, each with why. */
const NOT_SENT: Readonly<Record<string, string>> = {
  'lookup.unknown-url-key': 'a url_key no account can be authorized with: AUTHORIZE is tested with it (bayard.test.ts)',
  'create.php-example': 'a URL template only',
  'set-password.php-example': 'a URL template only (multipart, as PHP curl posts; the plugin posts form-encoded)',
  'set.php-example': 'a URL template only (multipart, as PHP curl posts; the plugin posts form-encoded)',
};

describe('bayard plugin: every example of the spec, through CALL', function () {
  this.timeout(30_000);
  const h = useBayard();

  /** Sends the example's CALL; checks that the peer received the example's request, and no secret came back. */
  async function send(entry: IndexEntry) {
    const c = callOf(entry);
    const id = await h.account(c.partner.name);
    const before = h.peer.requests.length;
    const xml = await h.call(id, c.callMethod, c.params);
    for (const secret of c.secrets) assert.ok(!xml.includes(secret), `the response carries a secret: ${xml}`);
    const sent = h.peer.requests.slice(before);
    assert.ok(sent.length >= 1 && sent.every((r) => r.path === sent[0]!.path), 'one request per CALL (or its retries)');
    assert.ok(!sent[0]!.path.endsWith(PROBE_PATH));
    assert.equal(sent[0]!.method, entry.request.method);
    assert.deepEqual(segmentsOf(sent[0]!.path), segmentsOf(c.path), 'the example\'s request, argument by argument');
    assert.doesNotMatch(sent[0]!.path, /[@+ ]/, 'every segment URL-encoded');
    if (entry.request.method === 'POST') {
      assert.equal(sent[0]!.headers['content-type'], 'application/x-www-form-urlencoded');
      assert.deepEqual(Object.fromEntries(new URLSearchParams(sent[0]!.body.toString('utf8'))), entry.request.form);
    }
    return { ...c, id, xml, attempts: sent.length };
  }

  for (const entry of index.filter((e) => e.response)) {
    const name = `${entry.operation}.${entry.case}`;
    it(`${name}: ${entry.request.method} ${entry.request.concretePath ?? entry.request.path} reads as ${entry.response}`, async () => {
      const fixtureXml = readFileSync(new URL(entry.response!, fixtures), 'utf8');
      const c = REPLAYED_ONLY[name] ? { ...callOf(entry), id: await h.account(callOf(entry).partner.name) } : await send(entry);
      const expected = expectedResult(parseTree(fixtureXml), c.callMethod);
      if ('xml' in c) {
        assert.equal(c.attempts, 1);
        const actual = readResult(callResult(c.xml));
        assert.deepEqual(actual, adjust(name, expected, actual, true));
      }
      // The example's own XML, verbatim, read through the same CALL.
      h.peer.inject({ status: 200, headers: { 'content-type': 'text/xml; charset=utf-8' }, body: fixtureXml, path: `/api/${c.module}/${c.method}/` });
      const replayed = await h.call(c.id, c.callMethod, REPLAYED_ONLY[name] ? { ...c.params, PASSWORD: 'any-password' } : c.params);
      for (const secret of c.secrets) assert.ok(!replayed.includes(secret), replayed);
      const actual = readResult(callResult(replayed));
      assert.deepEqual(actual, adjust(name, expected, actual, false));
    });
  }

  // The spec gives these requests without a response: the request must still be the example's.
  for (const entry of index.filter((e) => !e.response && !NOT_SENT[`${e.operation}.${e.case}`])) {
    const name = `${entry.operation}.${entry.case}`;
    it(`${name}: ${entry.request.method} ${entry.request.concretePath ?? entry.request.path} (no documented response)`, async () => {
      const c = await send(entry);
      if (name === 'advantage-all-subscriptions-an.crash') {
        assert.equal(expectError(only(c.xml), 'SERVICE_FAILED').attrs.serviceError, 'PHP_FATAL_ERROR');
        assert.equal(c.attempts, 3, 'idempotent: retried');
      } else {
        const result = readResult(callResult(c.xml)) as Record<string, Plain>;
        assert.ok(['success', 'failure'].includes(result.outcome as string), JSON.stringify(result));
      }
    });
  }

  it('drives every example, and knows how to call each', () => {
    const answered = index.filter((e) => e.response);
    assert.equal(answered.length, 37);
    assert.equal(index.length - answered.length - Object.keys(NOT_SENT).length, 10);
    for (const e of index.filter((x) => !NOT_SENT[`${x.operation}.${x.case}`])) {
      const [, , module, method] = (e.request.concretePath ?? e.request.path).split('/');
      assert.ok(TO_CALL[`${module}/${method}`], `${module}/${method}`);
    }
    const names = new Set(index.map((e) => `${e.operation}.${e.case}`));
    for (const name of [...Object.keys(REPLAYED_ONLY), ...Object.keys(NOT_SENT)]) assert.ok(names.has(name), name);
  });
});
