/**
 * What node's HTTP parser refuses before nori sees a request (malformed HTTP, headers too large, a request that
 * does not arrive in time, no Host) is answered in nori's shape too: a RESPONSE with a coded MESSAGE, and
 * `connection: close`. Sent by hand on a raw connection, since no HTTP client sends such bytes.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { createServer } from '../../src/http/server.js';
import { ALICE, useEngine } from '../helpers/engine.js';
import { authorizedAccount, call, ECHO_PLUGINS, PUBLIC_URL, seedEchoApi, startEcho, type Echo } from '../helpers/echo.js';
import { expectRefusal, openRaw, rawRequest, type RawConnection } from '../helpers/raw-http.js';
import { callResult } from '../helpers/xml.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('HTTP refusals below the request (node\'s parser and timers)', function () {
  this.timeout(30_000);
  const t = useEngine({ plugins: { builtins: false, ...ECHO_PLUGINS }, authorization: { publicUrl: PUBLIC_URL } });
  const lines: string[] = [];
  let echo: Echo;
  let app: FastifyInstance;
  let url: string;
  let conn: RawConnection | undefined;
  let key: string;

  before(async () => {
    echo = await startEcho();
  });
  after(async () => echo.peer.close());
  beforeEach(async () => {
    lines.length = 0;
    key = (await t.engine.keys.create({ contactId: ALICE.contactId, groups: [...ALICE.groups] })).key;
    // trace: the most a log could hold, so a test sees a request's bytes if any line carried them.
    const logger = pino({ level: 'trace' }, new Writable({ write: (chunk, _e, done) => done(void lines.push(String(chunk))) }));
    app = createServer({ engine: t.engine, logger, maxBodyBytes: 1 << 20 });
    // Short timers so a slow client is seen in milliseconds; node reads them when it checks its connections.
    // (connectionsCheckingInterval is read at 'listening'; @types/node has it only as a createServer option.)
    Object.assign(app.server, { headersTimeout: 300, connectionsCheckingInterval: 50 });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterEach(async () => {
    conn?.socket.destroy();
    await app.close();
  });

  /** Sends `bytes` on a fresh connection; resolves with its one response once the server has closed it. */
  const exchange = async (bytes: string) => {
    conn = await openRaw(url);
    conn.write(bytes);
    const [answer] = await conn.responsesBy(1);
    const end = await conn.closed;
    assert.equal(end.rest, '', 'nothing after the refusal');
    assert.equal(answer!.headers.connection, 'close');
    return answer!;
  };

  it('answers malformed HTTP with 400 HTTP_MALFORMED, and logs none of its bytes', async () => {
    const r = await exchange(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nBad Header: x\r\n\r\n`);
    const m = expectRefusal(r, 400, 'HTTP_MALFORMED');
    assert.match(m.text, /^The request is not well-formed HTTP \(.+\); nori closes the connection\.$/);
    const all = lines.join('');
    assert.ok(!all.includes(key) && !all.includes(key.split('_')[2]!), 'the API key of a malformed request is in the log');
    assert.ok(!all.includes('Bad Header'), 'the bytes of a malformed request are in the log');
    assert.ok(lines.some((l) => JSON.parse(l).code === 'HTTP_MALFORMED'), 'the refusal is logged with its code');
  });

  it('answers a request line and headers past the limit with 431 LIMIT_HEADER_SIZE', async () => {
    const r = await exchange(rawRequest('GET', '/health', { 'x-filler': 'a'.repeat(20_000) }));
    assert.match(expectRefusal(r, 431, 'LIMIT_HEADER_SIZE').text, /larger than the limit of 16384 bytes/);
  });

  it('answers headers that do not arrive in time with 408 REQUEST_TIMEOUT', async () => {
    const r = await exchange('POST / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    expectRefusal(r, 408, 'REQUEST_TIMEOUT');
  });

  it('answers an HTTP/1.1 request without Host with 400 HTTP_MALFORMED', async () => {
    const r = await exchange('GET /health HTTP/1.1\r\n\r\n');
    assert.match(expectRefusal(r, 400, 'HTTP_MALFORMED').text, /Host/);
  });

  it('answers a body whose chunked encoding is broken with 400 HTTP_MALFORMED, and nothing is logged as an error', async () => {
    // The request node had handed over ends when its connection is closed: its body stream errs, then closes.
    const ended = new Promise((resolve) => app.server.once('request', (req: IncomingMessage) => req.once('close', resolve)));
    const r = await exchange(`POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/xml\r\nTransfer-Encoding: chunked\r\n\r\n7\r\n<QUERY>\r\nzz\r\n`);
    expectRefusal(r, 400, 'HTTP_MALFORMED');
    await ended;
    assert.deepEqual(lines.filter((l) => JSON.parse(l).level >= 50), [], 'no error logged');
  });

  it('answers the request in flight before refusing malformed bytes pipelined behind it', async () => {
    await seedEchoApi(t.engine, echo);
    const account = await authorizedAccount(t.engine, ALICE);
    let release!: () => void;
    echo.peer.inject({ path: '/echo', until: new Promise<void>((r) => (release = r)) });
    const calls = echo.peer.count('/echo');
    const refused = new Promise<void>((resolve) => app.server.once('clientError', (_e: Error, _s: Socket) => resolve()));
    conn = await openRaw(url);
    conn.write(rawRequest('POST', '/', { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, call(account, 'READ', '<ID>1</ID>')));
    while (echo.peer.count('/echo') === calls) await sleep(5); // the CALL is at the service, held there
    conn.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Header: x\r\n\r\n');
    await refused;
    release();
    const [first, second] = await conn.responsesBy(2);
    assert.equal(first!.status, 200, 'the request in flight keeps its answer');
    callResult(first!.body);
    expectRefusal(second!, 400, 'HTTP_MALFORMED');
    assert.equal(second!.headers.connection, 'close');
    await conn.closed;
  });
});
