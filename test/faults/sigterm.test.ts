/**
 * SIGTERM: a real `nori serve` process on PostgreSQL is told to stop while a large batch runs. The batch must
 * finish and its client get the whole RESPONSE; a request pipelined behind it before the signal ran, so it is
 * answered too; one pipelined during the close does not run and is refused in XML, as is every new request;
 * and the process must exit 0.
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:http';
import knexFactory, { type Knex } from 'knex';
import { PG_URL, describeIn } from '../helpers/engine.js';
import { createAdminKey, noriEnv, startNori, type NoriProcess } from '../helpers/nori-process.js';
import { expectRefusal, openRaw, rawRequest } from '../helpers/raw-http.js';
import { expectError, expectOk, only, replies } from '../helpers/xml.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, ready: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await ready())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting ${ms} ms for ${what}`);
    await sleep(5);
  }
}

interface Answer {
  status?: number;
  body?: string;
  /** No HTTP answer: the socket error's code (ECONNREFUSED, ECONNRESET…). */
  error?: string;
}

/** One request through node:http, so the test chooses the connection (a kept-alive one, or a new one). */
function send(url: string, options: { method?: string; path?: string; key?: string; body?: string; agent?: Agent }): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(url + (options.path ?? '/'), {
      method: options.method ?? 'POST',
      agent: options.agent ?? false,
      headers: { ...(options.key ? { authorization: `Bearer ${options.key}` } : {}), ...(options.body ? { 'content-type': 'application/xml' } : {}) },
      timeout: 30_000,
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ status: res.statusCode!, error: e.code ?? e.message }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('no answer in 30 s'), { code: 'TIMEOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    req.end(options.body);
  });
}

describeIn('postgres')('nori serve on SIGTERM', function () {
  this.timeout(60_000);
  let nori: NoriProcess | undefined;
  let db: Knex;
  let env: NodeJS.ProcessEnv;
  let url: string;
  let key: string;

  before(async () => {
    const made = await noriEnv();
    ({ env, url } = made);
    key = await createAdminKey(env);
    db = knexFactory({ client: 'pg', connection: PG_URL, searchPath: [made.schema], pool: { min: 0, max: 1 } });
  });
  after(async () => {
    await nori?.stop();
    await db?.destroy();
  });

  it('finishes the batch in flight and what was pipelined behind it, refuses new requests in XML, and exits 0', async () => {
    nori = await startNori(env);
    const n = 1500;
    // A CREATE between two GETs commits on its own, so the test sees the batch progress and can signal mid-way.
    const commands = Array.from({ length: n }, (_, i) => `<CREATE><WEBACCOUNT><INFO><API>twitter</API><DENOMINATION>term-${i}</DENOMINATION></INFO></WEBACCOUNT></CREATE><GET><WEBAPI ID="1"/></GET>`);
    const keptAlive = new Agent({ keepAlive: true, maxSockets: 1 });
    assert.equal((await send(url, { method: 'GET', path: '/health', agent: keptAlive })).status, 200);

    // The batch's client keeps its connection alive and pipelines on it: the close must not wait for it, and must
    // answer the CREATE sent behind the batch, which node runs at once, beside the batch.
    const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/xml' };
    const create = (name: string) => rawRequest('POST', '/', headers, `<QUERY><CREATE><WEBACCOUNT><INFO><API>twitter</API><DENOMINATION>${name}</DENOMINATION></INFO></WEBACCOUNT></CREATE></QUERY>`);
    const named = async (name: string) => Number((await db('webaccount').count({ n: '*' }).where('denomination', name))[0]!.n);
    const conn = await openRaw(url);
    conn.write(rawRequest('POST', '/', headers, `<QUERY>${commands.join('')}</QUERY>`) + create('piped-before'));
    const progress = async () => Number((await db('webaccount').count({ n: '*' }).where('denomination', 'like', 'term-%'))[0]!.n);
    await waitFor('the batch to be under way', async () => (await progress()) >= 20);
    await waitFor('the CREATE pipelined behind the batch to commit', async () => (await named('piped-before')) === 1);

    const signalled = Date.now();
    nori.child.kill('SIGTERM');
    let finished = false;
    const answer = conn.closed.finally(() => (finished = true));
    const exitedEarly = () => nori!.child.exitCode !== null || nori!.child.signalCode !== null;
    await waitFor('nori to say it is shutting down', () => exitedEarly() || nori!.stdout.some((l) => l.includes('"msg":"shutting down: finishing requests in flight"')));
    await sleep(100); // the signal was handled; the listener closes in the next ticks
    conn.write(create('piped-during'));
    // While the batch drains, every new request is refused: on a new connection, and on one kept alive from before.
    const refused: Answer[] = [];
    while (!finished) {
      refused.push(await send(url, { key, body: '<QUERY><COUNT><WEBACCOUNT/></COUNT></QUERY>' }));
      refused.push(await send(url, { key, body: '<QUERY><COUNT><WEBACCOUNT/></COUNT></QUERY>', agent: keptAlive }));
      await sleep(50);
    }
    const { error } = await answer;
    let timer: NodeJS.Timeout | undefined;
    const exit = await Promise.race([nori.exited, new Promise((r) => (timer = setTimeout(r, 10_000, 'still running 10 s after the batch was answered')))]);
    clearTimeout(timer);
    keptAlive.destroy();
    const log = nori.stdout.join('\n');

    assert.equal(error, undefined, `the connection of the batch was reset: ${error}\n${log.slice(-2000)}`);
    assert.equal(conn.responses.length, 3, `the batch, the CREATE behind it and the refusal are answered, in order\n${log.slice(-2000)}`);
    const [batchAnswer, before, during] = conn.responses;
    assert.equal(batchAnswer!.status, 200);
    const answers = replies(batchAnswer!.body);
    assert.equal(answers.length, 2 * n, 'the whole RESPONSE');
    assert.ok(answers.every((r) => r.tag === 'RESULTS' || r.attrs.msgType === '0'), 'every command of the batch ran');
    assert.equal(await progress(), n);
    assert.equal(before!.status, 200, 'the CREATE pipelined before the signal ran: it is answered');
    expectOk(only(before!.body));
    assert.equal(await named('piped-before'), 1);
    expectRefusal(during!, 503, 'SHUTTING_DOWN');
    assert.equal(during!.headers['retry-after'], '5');
    assert.equal(during!.headers.connection, 'close');
    assert.equal(await named('piped-during'), 0, 'the CREATE pipelined during the close did not run');

    assert.ok(refused.length >= 2, 'new requests were tried during the drain');
    for (const r of refused) {
      assert.ok(r.error === 'ECONNREFUSED' || r.status === 503, `a new request during the drain was not refused: ${JSON.stringify(r).slice(0, 300)}`);
      if (r.status === 503) expectError(only(r.body!), 'SHUTTING_DOWN');
    }

    assert.deepEqual(exit, { code: 0, signal: null }, `nori exits 0 once the batch is answered\n${log.slice(-2000)}`);
    console.log(`      exited ${Date.now() - signalled} ms after SIGTERM; refused: ${[...new Set(refused.map((r) => r.error ?? r.status))].join(', ')}`);
    assert.match(log, /"msg":"shutting down: finishing requests in flight"/);
    assert.deepEqual(nori.stderr.filter(Boolean), [], 'nothing on stderr');
    for (const line of nori.stdout.filter(Boolean)) assert.doesNotThrow(() => JSON.parse(line), `every stdout line is a JSON log line: ${line.slice(0, 200)}`);
  });
});
