import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { ALICE, useEngine } from '../helpers/engine.js';
import { authorizedAccount, call, ECHO_PLUGINS, PUBLIC_URL, seedEchoApi, startEcho, type Echo } from '../helpers/echo.js';
import { callResult, expectError, only, textAt } from '../helpers/xml.js';

describe('CALL when the service misbehaves', function () {
  this.timeout(30_000);
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, new Writable({ write: (chunk, _enc, done) => done(void logs.push(String(chunk))) }));
  const t = useEngine({ plugins: { builtins: false, ...ECHO_PLUGINS }, authorization: { publicUrl: PUBLIC_URL }, calls: { timeoutMs: 300, maxAttempts: 3, budgetMs: 4000 }, logger });
  let echo: Echo;
  before(async () => {
    echo = await startEcho();
  });
  after(async () => echo.peer.close());
  beforeEach(async () => seedEchoApi(t.engine, echo));

  const read = (id: number) => t.engine.execute(call(id, 'READ', '<ID>1</ID>'), ALICE);
  const write = (id: number) => t.engine.execute(call(id, 'WRITE', '<TEXT>hi</TEXT>'), ALICE);
  const state = async (id: number) => t.engine.database.knex('webaccount').first('authorization_state', 'state_reason').where('id', id);

  it('refreshes once on a 401 and succeeds with the new token', async () => {
    const id = await authorizedAccount(t.engine, ALICE);
    const refreshes = echo.oauth.grants.refresh_token ?? 0;
    echo.oauth.expire();
    assert.equal(textAt(callResult(await read(id)), 'method'), 'GET');
    assert.equal(echo.oauth.grants.refresh_token, refreshes + 1);
  });

  it('sends the account back to waiting when the service refuses the refreshed token too', async () => {
    const id = await authorizedAccount(t.engine, ALICE);
    echo.peer.inject({ status: 401, path: '/echo' }, 2);
    const r = expectError(only(await read(id)), 'SERVICE_UNAUTHORIZED');
    assert.match(r.text, /even after a refresh; it is waiting again: AUTHORIZE it/);
    assert.deepEqual(await state(id), { authorization_state: 'waiting', state_reason: 'the service refused the credentials (HTTP 401) even after a refresh' });
    expectError(only(await read(id)), 'NOT_AUTHORIZED');
  });

  it('honours Retry-After on a 429, for writes too, and stops when the wait would pass the budget', async () => {
    const id = await authorizedAccount(t.engine, ALICE);
    let sent = echo.peer.count('/echo');
    echo.peer.inject({ status: 429, path: '/echo', headers: { 'retry-after': '1' } });
    assert.equal(textAt(callResult(await write(id)), 'method'), 'POST');
    assert.equal(echo.peer.count('/echo'), sent + 2, 'asked again after the wait, once');
    sent = echo.peer.count('/echo');
    echo.peer.inject({ status: 429, path: '/echo', headers: { 'retry-after': '120' } });
    const r = expectError(only(await write(id)), 'SERVICE_RATE_LIMITED');
    assert.equal(r.attrs.retryAfter, '120');
    assert.equal(echo.peer.count('/echo'), sent + 1, 'no retry that would wait past the budget');
  });

  it('retries 5xx and timeouts of idempotent methods a bounded number of times, never of writes', async () => {
    const id = await authorizedAccount(t.engine, ALICE);
    let sent = echo.peer.count('/echo');
    echo.peer.inject({ status: 500, path: '/echo' }, 3);
    assert.match(expectError(only(await read(id)), 'SERVICE_FAILED').text, /HTTP 500 after 3 attempt/);
    assert.equal(echo.peer.count('/echo'), sent + 3);
    sent = echo.peer.count('/echo');
    echo.peer.inject({ status: 503, path: '/echo' }, 1);
    assert.equal(textAt(callResult(await read(id)), 'method'), 'GET', 'one 503, then success');
    assert.equal(echo.peer.count('/echo'), sent + 2);
    echo.peer.requests.length = 0;
    echo.peer.inject({ status: 500, path: '/echo' }, 3);
    expectError(only(await write(id)), 'SERVICE_FAILED');
    assert.equal(echo.peer.count('/echo'), 1, 'a POST that may have happened is not sent again');
    echo.peer.inject({ delayMs: 1000, path: '/echo' }, 3);
    echo.peer.requests.length = 0;
    assert.match(expectError(only(await read(id)), 'SERVICE_TIMEOUT').text, /300 ms per attempt, 3 attempt/);
    assert.equal(echo.peer.count('/echo'), 3);
  });

  it('answers a reset connection, garbage and a 4xx with their own codes', async () => {
    const id = await authorizedAccount(t.engine, ALICE);
    echo.peer.inject({ reset: true, path: '/echo' }, 3);
    expectError(only(await read(id)), 'SERVICE_UNREACHABLE');
    echo.peer.inject({ garbage: true, path: '/echo' });
    assert.match(expectError(only(await read(id)), 'SERVICE_BAD_RESPONSE').text, /the body is not JSON/);
    echo.peer.inject({ status: 404, path: '/echo', body: JSON.stringify({ error: 'not_found', error_description: 'no item 1' }) });
    echo.peer.requests.length = 0;
    const r = expectError(only(await read(id)), 'SERVICE_ERROR');
    assert.deepEqual([r.attrs.serviceStatus, r.attrs.serviceError, r.attrs.serviceMessage], ['404', 'not_found', 'no item 1']);
    assert.equal(echo.peer.count('/echo'), 1, 'a 4xx is not retried');
    // Refusals that are not a JSON object (an HTML page, a JSON array) keep their status and no serviceError.
    for (const body of ['<html><body><h1>403 Forbidden</h1></body></html>', '["not", "an", "object"]']) {
      echo.peer.inject({ status: 403, path: '/echo', body });
      const refused = expectError(only(await read(id)), 'SERVICE_ERROR');
      assert.deepEqual([refused.attrs.serviceStatus, refused.attrs.serviceError], ['403', undefined], body);
      assert.match(refused.text, /\(HTTP 403\): no error code/);
    }
    echo.peer.inject({ status: 404, path: '/echo', headers: { 'x-api-maturity': 'deprecated' } });
    assert.equal(expectError(only(await read(id)), 'SERVICE_ERROR').attrs.warnings, 'API_MATURITY', 'a failed CALL still carries its warnings');
  });

  it('never writes a token or a client secret into a response or a log line', async () => {
    const id = await authorizedAccount(t.engine, ALICE);
    echo.oauth.expire();
    const xml = await read(id);
    const secrets = [...echo.oauth.tokens.keys(), 'echo-secret'];
    assert.ok(secrets.length >= 3, 'the old and the refreshed token, and the client secret');
    for (const s of secrets) {
      assert.ok(!xml.includes(s), 'response');
      assert.ok(!logs.some((l) => l.includes(s)), 'logs');
    }
    assert.ok(logs.some((l) => l.includes('"msg":"service request"')), 'service requests are logged');
  });
});
