/**
 * The close of the HTTP server (what SIGTERM starts in `nori serve`), seen from one kept-alive connection with
 * requests pipelined on it. The rule: a request nori runs gets its answer; one it will not answer does not run.
 * A CALL held at the echo service keeps a request in flight for as long as the test wants.
 */
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { ALICE, useEngine } from '../helpers/engine.js';
import { authorizedAccount, call, ECHO_PLUGINS, PUBLIC_URL, seedEchoApi, startEcho, type Echo } from '../helpers/echo.js';
import { expectRefusal, openRaw, rawRequest, type RawConnection } from '../helpers/raw-http.js';
import { accountXml } from '../helpers/seed.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { callResult, expectOk, only, q } from '../helpers/xml.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, ready: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting ${ms} ms for ${what}`);
    await sleep(5);
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

describe('closing the HTTP server', function () {
  this.timeout(30_000);
  const t = useEngine({ plugins: { builtins: false, ...ECHO_PLUGINS }, authorization: { publicUrl: PUBLIC_URL } });
  let echo: Echo;
  let server: RunningServer;
  let conn: RawConnection | undefined;
  let key: string;
  let account: number;
  let headers: Record<string, string>;
  before(async () => {
    echo = await startEcho();
  });
  after(async () => echo.peer.close());
  beforeEach(async () => {
    await seedEchoApi(t.engine, echo);
    account = await authorizedAccount(t.engine, ALICE);
    key = (await t.engine.keys.create({ contactId: ALICE.contactId, groups: [...ALICE.groups] })).key;
    headers = { authorization: `Bearer ${key}`, 'content-type': 'application/xml' };
    server = await startServer(t.engine);
  });
  afterEach(async () => {
    conn?.socket.destroy();
    await server.close();
  });

  const rows = async (name: string) => Number((await t.engine.database.knex('webaccount').count({ n: '*' }).where('denomination', name))[0]!.n);
  const create = (name: string) => rawRequest('POST', '/', headers, q(accountXml('echo', `<DENOMINATION>${name}</DENOMINATION>`)));
  /** A CALL that reaches the echo service and waits there until `gate` is released. */
  const heldCall = (gate: Promise<void>) => {
    echo.peer.inject({ path: '/echo', until: gate });
    return rawRequest('POST', '/', headers, call(account, 'READ', '<ID>1</ID>'));
  };
  /** Starts the close and resolves once it has begun (the listener is closed: the preClose hooks have run). */
  const beginClose = async () => {
    const closed = server.app.close();
    await waitFor('the close to begin', () => !server.app.server.listening);
    return { closed };
  };
  /** Resolves when the server has received the `n`th request from now (its headers: the 'request' event). */
  const requestsSeen = (n: number) => new Promise<void>((resolve) => {
    let seen = 0;
    const on = (_req: IncomingMessage) => {
      if (++seen < n) return;
      server.app.server.off('request', on);
      resolve();
    };
    server.app.server.on('request', on);
  });

  it('answers a request pipelined behind one in flight when the close begins, and its write is kept', async () => {
    const gate = deferred();
    const calls = echo.peer.count('/echo');
    conn = await openRaw(server.url);
    conn.write(heldCall(gate.promise) + create('pipelined'));
    await waitFor('the CALL to reach the service', () => echo.peer.count('/echo') > calls);
    await waitFor('the pipelined CREATE to commit', async () => (await rows('pipelined')) === 1);
    const { closed } = await beginClose();
    gate.resolve();

    const [first, second] = await conn.responsesBy(2);
    assert.equal(first!.status, 200);
    callResult(first!.body);
    assert.equal(second!.status, 200, 'the pipelined request ran, so it is answered');
    expectOk(only(second!.body));
    // Its answer was written before the close began (keep-alive): nori ends the connection once it is out.
    assert.equal((await conn.closed).rest, '', 'nothing after the last answer');
    await closed;
    assert.equal(await rows('pipelined'), 1);
  });

  it('refuses with SHUTTING_DOWN, before it runs, a request that arrives during the close, and still answers the one in flight', async () => {
    const gate = deferred();
    const calls = echo.peer.count('/echo');
    conn = await openRaw(server.url);
    conn.write(heldCall(gate.promise));
    await waitFor('the CALL to reach the service', () => echo.peer.count('/echo') > calls);
    const { closed } = await beginClose();
    const seen = requestsSeen(1);
    conn.write(create('too-late'));
    await seen;
    gate.resolve();

    const [first, second] = await conn.responsesBy(2);
    assert.equal(first!.status, 200);
    callResult(first!.body);
    expectRefusal(second!, 503, 'SHUTTING_DOWN');
    assert.equal(second!.headers['retry-after'], '5');
    assert.equal(second!.headers.connection, 'close');
    assert.equal((await conn.closed).rest, '');
    await closed;
    assert.equal(await rows('too-late'), 0, 'the refused request did not run');
  });

  it('runs a request whose headers came before the close and its body after; the next one is refused', async () => {
    conn = await openRaw(server.url);
    const whole = create('half-sent');
    const cut = whole.indexOf('<QUERY>') + 10;
    const seen = requestsSeen(1);
    conn.write(whole.slice(0, cut));
    await seen;
    const { closed } = await beginClose();
    conn.write(whole.slice(cut) + create('after-close'));

    const [first, second] = await conn.responsesBy(2);
    assert.equal(first!.status, 200, first!.body);
    expectOk(only(first!.body));
    expectRefusal(second!, 503, 'SHUTTING_DOWN');
    assert.equal(second!.headers.connection, 'close');
    await conn.closed;
    await closed;
    assert.deepEqual([await rows('half-sent'), await rows('after-close')], [1, 0]);
  });

  it('closes a kept-alive connection once its last answer is out, so the close does not wait for the client', async () => {
    const gate = deferred();
    const calls = echo.peer.count('/echo');
    conn = await openRaw(server.url);
    conn.write(rawRequest('GET', '/health', {}));
    assert.equal((await conn.responsesBy(1))[0]!.status, 200);
    conn.write(heldCall(gate.promise));
    await waitFor('the CALL to reach the service', () => echo.peer.count('/echo') > calls);
    const { closed } = await beginClose();
    gate.resolve();
    const [, answer] = await conn.responsesBy(2);
    assert.equal(answer!.status, 200);
    assert.equal(answer!.headers.connection, 'close');
    await conn.closed;
    await closed;
  });

  it('ends a connection that has sent only part of its headers when the close begins; nothing of it runs', async () => {
    const connected = new Promise((resolve) => server.app.server.once('connection', resolve));
    conn = await openRaw(server.url);
    await connected;
    conn.write(create('never-whole').slice(0, 40));
    const { closed } = await beginClose();
    assert.deepEqual(await conn.closed, { rest: '' });
    await closed;
    assert.deepEqual(conn.responses, []);
    assert.equal(await rows('never-whole'), 0);
  });
});
