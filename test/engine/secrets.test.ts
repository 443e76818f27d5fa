import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { WEBACCOUNT, WEBAPI } from '../../schemas/index.js';
import { readSecrets } from '../../src/store/elements.js';
import { createKeyring, parseKey } from '../../src/store/secrets.js';
import { NoriError } from '../../src/errors.js';
import { ADMIN, ALICE, TEST_KEY, useEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';
import { only, q } from '../helpers/xml.js';

const TOKEN = 'tok-' + randomBytes(12).toString('hex');
const TOKEN_SECRET = 'ts-' + randomBytes(12).toString('hex');
const CLIENT_SECRET = 'cs-' + randomBytes(12).toString('hex');

describe('secrets at rest', () => {
  const t = useEngine();

  beforeEach(async () => {
    await seedApi(t.engine, 'twitter', `<CLIENT_ID>cid</CLIENT_ID><CLIENT_SECRET>${CLIENT_SECRET}</CLIENT_SECRET>`);
    await seedAccount(t.engine, ALICE, 'twitter', `<TOKEN>${TOKEN}</TOKEN><TOKEN_SECRET>${TOKEN_SECRET}</TOKEN_SECRET><PUBLIC>R</PUBLIC>`);
  });

  it('never appear in any response', async () => {
    const xml = await t.engine.execute(q(
      '<GET><WEBACCOUNT ID="1"/></GET>',
      '<SEARCH><WEBACCOUNT/></SEARCH>',
      '<GET><WEBAPI ID="1"/></GET>',
      '<SEARCH><WEBAPI/></SEARCH>',
      '<UPDATE><WEBACCOUNT ID="1"><INFO><TOKEN>other</TOKEN></INFO></WEBACCOUNT></UPDATE>',
    ), ADMIN);
    for (const s of [TOKEN, TOKEN_SECRET, CLIENT_SECRET, 'TOKEN>', 'CLIENT_SECRET>']) assert.ok(!xml.includes(s), `${s} leaked`);
    assert.ok(xml.includes('<CLIENT_ID>cid</CLIENT_ID>'));
  });

  it('are stored encrypted (AES-256-GCM), bound to their column, and decrypt with the key', async () => {
    const row = await t.engine.database.knex('webaccount').first('token', 'token_secret').where('id', 1);
    const api = await t.engine.database.knex('webapi').first('client_secret').where('id', 1);
    for (const stored of [row.token, row.token_secret, api.client_secret]) {
      assert.match(stored, /^v1\.[0-9a-f]{12}\.[\w-]+\.[\w-]+\.[\w-]+$/);
      for (const s of [TOKEN, TOKEN_SECRET, CLIENT_SECRET]) assert.ok(!stored.includes(s));
    }
    const secrets = await readSecrets(t.engine.database.knex, WEBACCOUNT, 1, t.engine.keyring);
    assert.deepEqual(secrets, { TOKEN, TOKEN_SECRET, REFRESH_TOKEN: null });
    assert.equal((await readSecrets(t.engine.database.knex, WEBAPI, 1, t.engine.keyring)).CLIENT_SECRET, CLIENT_SECRET);
    // Moved to another column, a ciphertext does not open.
    await t.engine.database.knex('webaccount').update({ token_secret: row.token }).where('id', 1);
    await assert.rejects(readSecrets(t.engine.database.knex, WEBACCOUNT, 1, t.engine.keyring), (e: NoriError) => e.code === 'SECRET_UNREADABLE');
  });

  it('a row read with the wrong key fails loudly, naming the key id and not the secret', async () => {
    const wrong = createKeyring([parseKey(randomBytes(32).toString('hex'))]);
    await assert.rejects(readSecrets(t.engine.database.knex, WEBACCOUNT, 1, wrong), (e: unknown) => {
      assert.ok(e instanceof NoriError);
      assert.equal(e.code, 'SECRET_UNREADABLE');
      assert.match(e.message, /WEBACCOUNT 1 cannot be decrypted .*\(key [0-9a-f]{12}\)/);
      assert.ok(!e.message.includes(TOKEN));
      return true;
    });
    // With the old key kept as a second key, old rows stay readable.
    const rotated = createKeyring([parseKey(randomBytes(32).toString('base64')), parseKey(TEST_KEY)]);
    assert.equal((await readSecrets(t.engine.database.knex, WEBACCOUNT, 1, rotated)).TOKEN, TOKEN);
    assert.ok(rotated.isStale((await t.engine.database.knex('webaccount').first('token').where('id', 1)).token));
  });

  it('a secret can be replaced but not read back', async () => {
    only(await t.engine.execute(q('<UPDATE><WEBACCOUNT ID="1"><INFO><TOKEN>new-token</TOKEN></INFO></WEBACCOUNT></UPDATE>'), ALICE));
    assert.equal((await readSecrets(t.engine.database.knex, WEBACCOUNT, 1, t.engine.keyring)).TOKEN, 'new-token');
  });
});
