import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import pino from 'pino';
import { createEngine, type Engine } from '../../src/engine.js';
import { ALICE, PG_URL, TEST_KEY, describeIn, freshSchema } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { Agent } from '../helpers/agent.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { expectOk, only, q } from '../helpers/xml.js';

const run = promisify(execFile);

/**
 * These tests share one PostgreSQL between processes (PGlite is one process's database), so they use
 * PostgreSQL, and run in the PostgreSQL run only.
 */
describeIn('postgres')('authorization under concurrency (PostgreSQL shared by processes)', function () {
  this.timeout(90_000);
  let engine: Engine;
  let server: RunningServer;
  let provider: Server;
  const grants: string[] = [];
  let schema: string;

  before(async () => {
    provider = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const grant = new URLSearchParams(raw).get('grant_type')!;
        grants.push(grant);
        // A slow provider widens the window in which concurrent refreshes could slip through.
        setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token_type: 'Bearer', access_token: `at-${grants.length}`, refresh_token: `rt-${grants.length}`, expires_in: grant === 'authorization_code' ? 1 : 3600 })), 200);
      });
    });
    await new Promise<void>((resolve) => provider.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(provider.address() as AddressInfo).port}`;
    schema = freshSchema();
    engine = await createEngine({ database: { url: PG_URL, schema }, secretKeys: [TEST_KEY], logger: pino({ level: 'silent' }) });
    server = await startServer(engine);
    await seedApi(engine, 'prov', `<CLIENT_ID>c</CLIENT_ID><CLIENT_SECRET>s</CLIENT_SECRET><AUTHORIZE_URL>${base}/authorize</AUTHORIZE_URL><TOKEN_URL>${base}/token</TOKEN_URL>`);
  });
  after(async () => {
    await server.close();
    await engine.close();
    await new Promise<void>((resolve) => provider.close(() => resolve()));
  });

  /** AUTHORIZE, and its start link followed in a browser (by `on`, the server of another process if given). */
  async function startFlow(on: RunningServer = server): Promise<{ id: number; state: string; browser: Agent; callback: string }> {
    const id = await seedAccount(engine, ALICE, 'prov');
    const link = expectOk(only(await engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`), ALICE))).attrs.url!;
    const browser = new Agent({ 'http://127.0.0.1:8080': on.url });
    const hop = await browser.request(link);
    assert.equal(hop.status, 303, hop.body);
    const state = new URL(hop.location!).searchParams.get('state')!;
    return { id, state, browser, callback: `http://127.0.0.1:8080/oauth/callback?state=${state}&code=c` };
  }

  it('two callbacks racing for one state: one wins, the other is refused', async () => {
    const { id, browser, callback } = await startFlow();
    const before = grants.length;
    const results = await Promise.all([1, 2].map(() => browser.request(callback)));
    assert.deepEqual(results.map((r) => r.status).sort(), [200, 409]);
    assert.equal(grants.length - before, 1, 'one code exchange reached the provider');
    assert.equal((await engine.database.knex('webaccount').first('authorization_state').where('id', id)).authorization_state, 'authorized');
  });

  it('a flow opened by one process, its start link followed in a second and its callback in a third: the binding holds across them', async () => {
    // Nothing of a flow is in process memory: two more engines on the same schema know it from the table alone.
    const second = await createEngine({ database: { url: PG_URL, schema }, secretKeys: [TEST_KEY], logger: pino({ level: 'silent' }) });
    const third = await createEngine({ database: { url: PG_URL, schema }, secretKeys: [TEST_KEY], logger: pino({ level: 'silent' }) });
    const secondServer = await startServer(second);
    const thirdServer = await startServer(third);
    try {
      const { id, browser, state } = await startFlow(secondServer);
      const stranger = new Agent({ 'http://127.0.0.1:8080': thirdServer.url });
      const refused = await stranger.request(`http://127.0.0.1:8080/oauth/callback?state=${state}&code=c`);
      assert.equal(refused.status, 403);
      assert.match(refused.body, /CALLBACK_UNBOUND/);
      // The same browser, its next request answered by the third process: its cookie is what the flow is bound to.
      browser.route('http://127.0.0.1:8080', thirdServer.url);
      const done = await browser.request(`http://127.0.0.1:8080/oauth/callback?state=${state}&code=c`);
      assert.equal(done.status, 200, done.body);
      assert.equal((await engine.database.knex('webaccount').first('authorization_state').where('id', id)).authorization_state, 'authorized');
    } finally {
      await secondServer.close();
      await thirdServer.close();
      await second.close();
      await third.close();
    }
  });

  it('50 concurrent refreshes of one stale token from 3 processes: one refresh at the provider, all get its token', async () => {
    const { id, browser, callback } = await startFlow();
    assert.equal((await browser.request(callback)).status, 200);
    // The code's token (expires_in 1) is within the refresh skew (60 s): every caller finds it stale at once.
    const before = grants.filter((g) => g === 'refresh_token').length;
    const outputs = await Promise.all([17, 17, 16].map((n) =>
      run(process.execPath, ['--import', 'tsx', 'test/auth/refresh-worker.ts', PG_URL, schema, TEST_KEY, String(id), String(n)], { maxBuffer: 1 << 20 })));
    const results = outputs.flatMap((o) => JSON.parse(o.stdout) as { accessToken?: string; code?: string }[]);
    assert.equal(results.length, 50);
    assert.equal(grants.filter((g) => g === 'refresh_token').length - before, 1, 'exactly one refresh reached the provider');
    const tokens = new Set(results.map((r) => r.accessToken ?? r.code));
    assert.equal(tokens.size, 1, `every caller got the same fresh token: ${[...tokens].join(', ')}`);
    assert.match([...tokens][0]!, /^at-\d+$/);
  });
});
