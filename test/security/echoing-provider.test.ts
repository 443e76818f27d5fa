/**
 * A provider that echoes its request (headers, body) into its error text, against a real engine on the test's
 * database, its logger writing to memory: the token exchange, a refresh, a CALL (by a stranger to the account)
 * and a revocation each get the echo, which carries the client secret, the Basic credentials, the code, the PKCE
 * verifier, the refresh token or the bearer token. None of them, in any encoding, may reach an answer, a stored
 * STATE_REASON, the transitions' reasons or a log line; each test also checks that the echo did arrive, scrubbed.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { Engine } from '../../src/engine.js';
import { createLogger } from '../../src/log.js';
import { REDACTED } from '../../src/scrub.js';
import { ECHO_PLUGINS, PUBLIC_URL, startedAt } from '../helpers/echo.js';
import { ADMIN, ALICE, BOB, makeEngine } from '../helpers/engine.js';
import { callResult, expectError, expectOk, only, q } from '../helpers/xml.js';
import { ECHOING_CLIENT, startEchoingProvider, type EchoingProvider } from '../peers/echoing-provider.js';
import { authorizeCode } from '../peers/oauth2-server.js';

/** The forms a secret is looked for in: as it is, percent-encoded, base64 (its padding cut). */
const forms = (s: string) => {
  const b64 = Buffer.from(s).toString('base64');
  return [s, encodeURIComponent(s), b64.includes('=') ? b64.slice(0, b64.indexOf('=')) : b64];
};

describe('security: a provider that echoes its request gets none of nori\'s secrets back out', function () {
  this.timeout(60_000);
  let engine: Engine;
  let provider: EchoingProvider;
  const lines: string[] = [];
  const answers: string[] = [];

  const run = async (xml: string, who = ALICE) => {
    const out = await engine.execute(xml, who);
    answers.push(out);
    return out;
  };
  /** Everything nori said or kept that a caller, a reader of the account or an operator can see. */
  const everything = async () => {
    const accounts = (await engine.database.knex('webaccount').select('state_reason')) as { state_reason: string | null }[];
    const transitions = (await engine.database.knex('nori_transitions').select('reason')) as { reason: string | null }[];
    return [...answers, ...lines, ...accounts.map((r) => r.state_reason ?? ''), ...transitions.map((r) => r.reason ?? '')].join('\n');
  };
  const assertNoSecret = async () => {
    const secrets = provider.sent();
    assert.ok(secrets.length > 0, 'nori sent the provider secrets');
    const seen = await everything();
    for (const s of secrets) for (const f of forms(s)) assert.ok(!seen.includes(f), `a secret nori sent (${s.slice(0, 4)}…) came back out: ${seen.slice(Math.max(0, seen.indexOf(f) - 80), seen.indexOf(f) + 40)}`);
  };
  const stateReason = async (id: number) => ((await engine.database.knex('webaccount').first('state_reason').where('id', id)) as { state_reason: string }).state_reason;

  /** An account of `who` through the real flow; `finish` false stops at the provider's redirect. */
  const account = async (who = ALICE, extra = '') => {
    const id = Number(expectOk(only(await run(q(`<CREATE><WEBACCOUNT><INFO><API>echoing</API>${extra}</INFO></WEBACCOUNT></CREATE>`), who))).attrs.elementID);
    const started = expectOk(only(await run(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`), who)));
    const { location, browserBinding } = await startedAt(engine, started.attrs.url!);
    const back = new URL(await authorizeCode(location));
    return { id, finish: () => engine.finishAuthorization(back.searchParams, { browserBinding }) };
  };
  const authorized = async (who = ALICE, extra = '') => {
    const a = await account(who, extra);
    assert.equal((await a.finish()).code, 'AUTHORIZED');
    return a.id;
  };

  before(async () => {
    provider = await startEchoingProvider(`${PUBLIC_URL}/oauth/callback`);
    const sink = new Writable({ write: (chunk: Buffer, _enc, done) => (lines.push(...chunk.toString('utf8').split('\n')), done()) });
    engine = await makeEngine({ plugins: { builtins: false, ...ECHO_PLUGINS }, authorization: { publicUrl: PUBLIC_URL }, logger: createLogger({ level: 'info' }, sink) });
    const u = provider.peer.url;
    expectOk(only(await engine.execute(q(`<CREATE><WEBAPI><INFO><DENOMINATION>echoing</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><PLUGIN>echo</PLUGIN><CLIENT_ID>${ECHOING_CLIENT.clientId}</CLIENT_ID><CLIENT_SECRET>${ECHOING_CLIENT.clientSecret}</CLIENT_SECRET><BASE_URL>${u}</BASE_URL><AUTHORIZE_URL>${u}/authorize</AUTHORIZE_URL><TOKEN_URL>${u}/token</TOKEN_URL><REVOKE_URL>${u}/revoke</REVOKE_URL></INFO></WEBAPI></CREATE>`), ADMIN)));
  });
  after(async () => {
    await engine?.close();
    await provider?.peer.close();
  });
  beforeEach(() => provider.echo.clear());
  afterEach(assertNoSecret);

  it('token exchange: the client secret, Basic credentials, code and verifier are echoed; the callback, STATE_REASON and log hold none', async () => {
    const a = await account();
    provider.echo.add('token');
    const done = await a.finish();
    assert.equal(done.code, 'PROVIDER_ERROR', done.message);
    const reason = await stateReason(a.id);
    assert.match(reason, /^token exchange failed with HTTP 400: invalid_request Basic \[redacted\] \(request was \{/);
    assert.ok(reason.includes(`code=${REDACTED}`) && reason.includes(`code_verifier=${REDACTED}`), reason);
    assert.match(done.message, /invalid_request Basic \[redacted\]/);
    assert.ok(lines.some((l) => l.includes('authorization failed at the provider') && l.includes(REDACTED)), 'the log line was written, scrubbed');
  });

  it('refresh: the refresh token and client secret are echoed with invalid_grant; the stored reason and the answer hold none', async () => {
    const id = await authorized();
    await engine.database.knex('webaccount').update({ token_expires: new Date(Date.now() - 1000) }).where('id', id);
    provider.echo.add('refresh');
    const r = expectError(only(await run(q(`<CALL><WEBACCOUNT ID="${id}"><READ><ID>1</ID></READ></WEBACCOUNT></CALL>`))), 'REFRESH_REJECTED');
    assert.match(r.text, /\(invalid_grant\)/);
    const reason = await stateReason(id);
    assert.match(reason, /^refresh failed with HTTP 400: invalid_grant \(request was \{/);
    assert.ok(reason.includes(`refresh_token=${REDACTED}`), reason);
  });

  it('CALL: a stranger calling a PUBLIC W account gets the service\'s refusal and its echoing answer without the owner\'s token', async () => {
    const id = await authorized(ALICE, '<PUBLIC>W</PUBLIC>');
    provider.echo.add('api');
    const refused = expectError(only(await run(q(`<CALL><WEBACCOUNT ID="${id}"><READ><ID>1</ID></READ></WEBACCOUNT></CALL>`), BOB)), 'SERVICE_ERROR');
    for (const attribute of ['serviceMessage', 'serviceData']) assert.ok(refused.attrs[attribute]?.includes(REDACTED), `${attribute}: ${refused.attrs[attribute]}`);
    assert.match(refused.text, /\(request was \{.*"authorization":"Bearer \[redacted\]"/);
    provider.echo.clear();
    provider.echo.add('api-ok');
    const result = callResult(await run(q(`<CALL><WEBACCOUNT ID="${id}"><READ><ID>1</ID></READ></WEBACCOUNT></CALL>`), BOB));
    assert.ok(result.toString().includes(`Bearer ${REDACTED}`), result.toString().slice(0, 300));
  });

  it('revocation: the tokens and Basic credentials are echoed; the reason of the revoked account holds none', async () => {
    const id = await authorized();
    provider.echo.add('revoke');
    expectOk(only(await run(q(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><AUTHORIZATION_STATE>revoked</AUTHORIZATION_STATE></INFO></WEBACCOUNT></UPDATE>`))));
    const reason = await stateReason(id);
    assert.match(reason, /^tokens erased; revocation at the service failed: revocation failed with HTTP 400: unsupported_token_type \(request was/);
    assert.ok(reason.includes(`"body":"token=${REDACTED}&`), reason);
  });
});
