import assert from 'node:assert/strict';
import type { Engine } from '../../src/engine.js';
import { ALICE, CAROL, makeEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { Agent } from '../helpers/agent.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { expectOk, only, q } from '../helpers/xml.js';
import { authorizeHeadlessly, startOAuth2Provider } from '../peers/oauth2-provider.js';

describe('OAuth 2.0 against oidc-provider (authorization code, PKCE, rotating refresh, revocation)', function () {
  this.timeout(60_000);
  let engine: Engine;
  let server: RunningServer;
  let op: Awaited<ReturnType<typeof startOAuth2Provider>>;
  const PUBLIC = 'http://nori.test';

  before(async () => {
    op = await startOAuth2Provider({ clientId: 'nori', clientSecret: 'nori-client-secret-0123456789abcdef', redirectUris: [`${PUBLIC}/oauth/callback`] });
    engine = await makeEngine({ authorization: { publicUrl: PUBLIC, returnUrls: ['https://cms.test/'] } });
    server = await startServer(engine);
    await seedApi(engine, 'op', `<CLIENT_ID>nori</CLIENT_ID><CLIENT_SECRET>nori-client-secret-0123456789abcdef</CLIENT_SECRET><AUTHORIZE_URL>${op.authorizeUrl}</AUTHORIZE_URL><TOKEN_URL>${op.tokenUrl}</TOKEN_URL><REVOKE_URL>${op.revokeUrl}</REVOKE_URL><SCOPES>openid offline_access</SCOPES>`);
  });
  after(async () => {
    await server.close();
    await engine.close();
    await op.close();
  });

  it('authorizes through login and consent, refreshes with rotation, and revokes at the provider', async () => {
    const id = await seedAccount(engine, ALICE, 'op');
    const start = expectOk(only(await engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"><RETURN_URL>https://cms.test/back</RETURN_URL></WEBACCOUNT></AUTHORIZE>`), ALICE)));
    // One browser: nori's start link (its binding cookie), the provider's login and consent, nori's callback.
    const browser = new Agent({ [PUBLIC]: server.url });
    const back = new URL(await authorizeHeadlessly(start.attrs.url!, `${PUBLIC}/oauth/callback`, { agent: browser }));
    assert.ok(back.searchParams.get('code'), back.toString());
    assert.deepEqual(browser.visited.slice(0, 2).map((u) => new URL(u).origin + new URL(u).pathname), [`${PUBLIC}/oauth/start`, op.authorizeUrl]);
    const done = await browser.request(back.toString());
    assert.equal(done.status, 303);
    assert.equal(done.location, `https://cms.test/back?webaccount=${id}&outcome=authorized`);
    assert.equal(op.grants.authorization_code, 1);

    const first = await engine.credentials(id);
    assert.ok('accessToken' in first);
    assert.equal((await op.introspect(first.accessToken)).active, true, 'the provider itself says the token is live');

    const refreshed = await engine.credentials(id, { rejected: first.accessToken });
    assert.ok('accessToken' in refreshed);
    assert.notEqual(refreshed.accessToken, first.accessToken);
    assert.equal(op.grants.refresh_token, 1);
    const again = await engine.credentials(id, { rejected: refreshed.accessToken });
    assert.ok('accessToken' in again, 'the rotated refresh token was stored: a second refresh works');

    expectOk(only(await engine.execute(q(`<UPDATE><WEBACCOUNT ID="${id}"><INFO><AUTHORIZATION_STATE>revoked</AUTHORIZATION_STATE></INFO></WEBACCOUNT></UPDATE>`), ALICE)));
    assert.equal((await op.introspect(again.accessToken)).active, false, 'revoked at the provider (RFC 7009)');
    const row = await engine.database.knex('webaccount').first('authorization_state', 'token', 'refresh_token', 'state_reason').where('id', id);
    assert.deepEqual(row, { authorization_state: 'revoked', token: null, refresh_token: null, state_reason: 'tokens revoked at the service' });
  });

  it('the attacker signs the victim in: the victim\'s consent at the provider never puts tokens on the attacker\'s account', async () => {
    // The attacker AUTHORIZEs their own account and follows the start link, then hands the provider's URL over.
    const mine = await seedAccount(engine, CAROL, 'op');
    const start = expectOk(only(await engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${mine}"/></AUTHORIZE>`), CAROL)));
    const attacker = new Agent({ [PUBLIC]: server.url });
    const providerUrl = (await attacker.request(start.attrs.url!)).location!;
    assert.ok(providerUrl.startsWith(`${op.authorizeUrl}?`), providerUrl);
    // The victim, in their own browser, signs in as themselves and consents.
    const victim = new Agent({ [PUBLIC]: server.url });
    const exchanges = op.grants.authorization_code ?? 0;
    const back = await authorizeHeadlessly(providerUrl, `${PUBLIC}/oauth/callback`, { login: 'victim', agent: victim });
    const planted = await victim.request(back);
    assert.equal(planted.status, 403);
    assert.match(planted.body, /CALLBACK_UNBOUND/);
    assert.equal(op.grants.authorization_code ?? 0, exchanges, 'the victim\'s code was never exchanged');
    // Nor can the victim's browser take the start link over: it works once.
    const replayed = await victim.request(start.attrs.url!);
    assert.equal(replayed.status, 409);
    assert.match(replayed.body, /START_USED/);
    const row = await engine.database.knex('webaccount').first('authorization_state', 'token', 'refresh_token').where('id', mine);
    assert.deepEqual(row, { authorization_state: 'requested', token: null, refresh_token: null });
  });

  it('a user who refuses consent sends the account back to waiting', async () => {
    const id = await seedAccount(engine, ALICE, 'op');
    const start = expectOk(only(await engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`), ALICE)));
    const browser = new Agent({ [PUBLIC]: server.url });
    const back = new URL(await authorizeHeadlessly(start.attrs.url!, `${PUBLIC}/oauth/callback`, { refuseConsent: true, agent: browser }));
    assert.equal(back.searchParams.get('error'), 'access_denied');
    const done = await browser.request(back.toString());
    assert.equal(done.status, 403);
    assert.match(done.body, /ACCESS_DENIED/);
    const row = await engine.database.knex('webaccount').first('authorization_state', 'state_reason').where('id', id);
    assert.deepEqual(row, { authorization_state: 'waiting', state_reason: 'the service answered access_denied: End-User aborted interaction' });
  });
});
