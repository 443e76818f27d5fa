import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import type { Engine } from '../../src/engine.js';
import { createServer } from '../../src/http/server.js';
import { DEFAULT_LIMITS } from '../../src/xml/parse.js';
import { makeEngine } from '../helpers/engine.js';
import { expectError, expectOk, only, replies } from '../helpers/xml.js';

describe('HTTP endpoint', () => {
  let engine: Engine;
  let base: string;
  let close: () => Promise<void>;
  const lines: string[] = [];
  const waiting: (() => void)[] = [];
  /** Resolves once a line with this msg was logged (the request line is written after the answer is sent). */
  const logged = async (msg: string) => {
    while (!lines.some((l) => (JSON.parse(l) as { msg?: string }).msg === msg)) await new Promise<void>((r) => waiting.push(r));
  };
  let admin: string;
  let alice: string;
  let carol: string;
  const post = (body: BodyInit, headers: Record<string, string>, path = '/') => fetch(base + path, { method: 'POST', headers, body });
  const xmlPost = (key: string, body: BodyInit, path = '/') => post(body, { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, path);

  before(async function () {
    this.timeout(60_000);
    engine = await makeEngine();
    const sink = new Writable({ write(chunk, _e, done) { lines.push(String(chunk)); for (const w of waiting.splice(0)) w(); done(); } });
    const app = createServer({ engine, logger: pino({ level: 'info' }, sink), maxBodyBytes: DEFAULT_LIMITS.maxBytes });
    base = await app.listen({ host: '127.0.0.1', port: 0 });
    close = async () => { await app.close(); await engine.close(); };
    admin = (await engine.keys.create({ contactId: 1, admin: true })).key;
    alice = (await engine.keys.create({ contactId: 2, groups: [10] })).key;
    carol = (await engine.keys.create({ contactId: 4 })).key;
    const r = await xmlPost(admin, '<QUERY><CREATE><WEBAPI><INFO><DENOMINATION>mastodon</DENOMINATION><AUTH_TYPE>oauth1</AUTH_TYPE></INFO></WEBAPI></CREATE></QUERY>');
    expectOk(only(await r.text()));
  });
  after(() => close());

  it('POST / and /nql with application/xml, text/xml and the NQL form field, as the key\'s principal', async () => {
    const create = '<QUERY><CREATE><WEBACCOUNT><INFO><API>mastodon</API><TOKEN>sekrit-token-123</TOKEN></INFO></WEBACCOUNT></CREATE></QUERY>';
    const r1 = await xmlPost(alice, create);
    assert.equal(r1.status, 200);
    assert.equal(r1.headers.get('content-type'), 'text/xml; charset=utf-8');
    const id = expectOk(only(await r1.text())).attrs.elementID!;
    const get = `<QUERY><GET><WEBACCOUNT ID="${id}"/></GET></QUERY>`;
    const r2 = await post(get, { authorization: `Bearer ${alice}`, 'content-type': 'text/xml' }, '/nql');
    assert.equal(only(await r2.text()).elements[0]!.fields.OWNERID, '2');
    const r3 = await post(new URLSearchParams({ NQL: get }).toString(), { authorization: `Bearer ${admin}`, 'content-type': 'application/x-www-form-urlencoded' });
    expectOk(only(await r3.text()));
    const r4 = await xmlPost(carol, get);
    expectError(only(await r4.text()), 'NOT_VISIBLE', '3');
  });

  it('refuses a missing, malformed, unknown or revoked key with 401, without reading the body', async () => {
    const none = await post('<QUERY/>', { 'content-type': 'application/xml' });
    assert.equal(none.status, 401);
    assert.match(none.headers.get('www-authenticate')!, /^Bearer/);
    expectError(only(await none.text()), 'AUTH_REQUIRED', '3');
    for (const key of ['nope', 'nori_0123456789abcdef_' + 'A'.repeat(43), alice.slice(0, -1) + (alice.endsWith('A') ? 'B' : 'A')]) {
      const r = await xmlPost(key, '<QUERY/>');
      assert.equal(r.status, 401, key);
      expectError(only(await r.text()), 'AUTH_INVALID', '3');
    }
    const { key, info } = await engine.keys.create({ contactId: 9 });
    assert.equal((await xmlPost(key, '<QUERY/>')).status, 200);
    await engine.keys.revoke(info.id);
    expectError(only(await (await xmlPost(key, '<QUERY/>')).text()), 'AUTH_INVALID', '3');
    const big = await post(Buffer.alloc(DEFAULT_LIMITS.maxBytes + 10, 0x20), { 'content-type': 'application/xml' });
    assert.equal(big.status, 401, 'a stranger\'s large body is refused on the key, not read');
  });

  it('answers bad requests with coded XML and keeps serving', async () => {
    const cases: [Promise<Response>, number, string][] = [
      [post('{}', { authorization: `Bearer ${alice}`, 'content-type': 'application/json' }), 415, 'UNSUPPORTED_MEDIA_TYPE'],
      [xmlPost(alice, ''), 400, 'XML_MALFORMED'],
      [xmlPost(alice, '<QUERY><GET>'), 400, 'XML_MALFORMED'],
      [xmlPost(alice, '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><QUERY>&e;</QUERY>'), 400, 'XML_FORBIDDEN_DECLARATION'],
      [xmlPost(alice, Buffer.alloc(50 * 1024 * 1024, 0x20)), 413, 'LIMIT_BODY_SIZE'],
      [xmlPost(alice, '<A>'.repeat(10_000) + '</A>'.repeat(10_000)), 400, 'LIMIT_DEPTH'],
      [fetch(base + '/nowhere'), 404, 'ROUTE_NOT_FOUND'],
    ];
    for (const [pending, status, code] of cases) {
      const r = await pending;
      const text = await r.text();
      assert.equal(r.status, status, `${code}: ${text.slice(0, 200)}`);
      expectError(only(text), code);
      assert.ok(!text.includes('root:'));
    }
    const malformed = only(await (await xmlPost(alice, '<QUERY>\n<GET></QUERY>')).text());
    assert.deepEqual([malformed.attrs.line, malformed.attrs.column], ['2', '14'], 'where saxes finds the mismatch: the end of the wrong closing tag');
    const mixed = await xmlPost(alice, '<QUERY><GET><WEBACCOUNT ID="999"/></GET><COUNT><WEBACCOUNT/></COUNT></QUERY>');
    assert.equal(mixed.status, 200, 'a batch whose commands fail still ran');
    assert.deepEqual(replies(await mixed.text()).map((r) => r.tag), ['MESSAGE', 'RESULTS']);
    const health = await fetch(base + '/health');
    assert.deepEqual([health.status, await health.json()], [200, { status: 'ok', database: engine.database.kind }]);
  });

  it('logs one line per request with id, method, path, status and duration, and never a key, token or query string', async () => {
    lines.length = 0;
    await xmlPost(alice, '<QUERY><CREATE><WEBACCOUNT><INFO><API>mastodon</API><TOKEN>sekrit-log-token</TOKEN></INFO></WEBACCOUNT></CREATE></QUERY>', '/?code=query-secret');
    await logged('request');
    const requests = lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === 'request');
    assert.equal(requests.length, 1);
    const [line] = requests;
    assert.match(String(line!.reqId), /^[0-9a-f-]{36}$/);
    assert.deepEqual([line!.method, line!.path, line!.status, line!.contact], ['POST', '/', 200, 2]);
    assert.equal(typeof line!.ms, 'number');
    const all = lines.join('\n');
    for (const secret of ['sekrit-log-token', 'query-secret', alice, alice.split('_')[2]!]) assert.ok(!all.includes(secret), `${secret} in the log`);
  });
});
