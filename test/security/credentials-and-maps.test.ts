import assert from 'node:assert/strict';
import { ECHO_PLUGINS } from '../helpers/echo.js';
import { ADMIN, ALICE, useEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { expectError, only, q } from '../helpers/xml.js';

describe('security: client credentials the OAuth 2.0 library refuses', () => {
  const t = useEngine({ plugins: { builtins: false } });
  it('AUTHORIZE answers a coded refusal, not an INTERNAL_ERROR, when CLIENT_ID or CLIENT_SECRET is not printable ASCII', async () => {
    const urls = '<AUTHORIZE_URL>https://provider.test/a</AUTHORIZE_URL><TOKEN_URL>https://provider.test/t</TOKEN_URL>';
    for (const [n, [id, secret]] of [['é', 's'], ['c', 'é'], ['c', 'pasted-secret\n']].entries()) {
      await seedApi(t.engine, `prov${n}`, `<CLIENT_ID>${id}</CLIENT_ID><CLIENT_SECRET>${secret}</CLIENT_SECRET>${urls}`);
      const account = await seedAccount(t.engine, ALICE, `prov${n}`);
      const r = expectError(only(await t.engine.execute(q(`<AUTHORIZE><WEBACCOUNT ID="${account}"/></AUTHORIZE>`), ADMIN)), 'PROVIDER_ERROR');
      assert.match(r.text, /failed at configuration .*invalid_client_settings/, JSON.stringify([id, secret]));
      assert.ok(!r.text.includes(secret!) || secret === 's', 'the secret is not repeated');
    }
  });
});

describe('security: CALL parameters of type map', () => {
  const t = useEngine({ plugins: { builtins: false, ...ECHO_PLUGINS } });
  it('a map with entries named code, params or __proto__ is a map, not a failure or a prototype', async () => {
    await seedApi(t.engine, 'echo');
    const id = await seedAccount(t.engine, ALICE, 'echo');
    for (const code of ['CREATED', 'NOPE']) {
      const r = await t.engine.run(q(`<CALL><WEBACCOUNT ID="${id}"><READ><ID>1</ID><FIELDS><code>${code}</code><params>x</params><__proto__>p</__proto__></FIELDS></READ></WEBACCOUNT></CALL>`), ALICE);
      assert.equal(r.status, 200);
      expectError(only(r.xml), 'NOT_AUTHORIZED');
    }
  });
});
