import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { WEBACCOUNT, WEBAPI } from '../../schemas/index.js';
import { NoriError } from '../../src/errors.js';
import { readSecrets } from '../../src/store/elements.js';
import { rotateSecrets } from '../../src/store/rotate.js';
import { createKeyring, parseKey } from '../../src/store/secrets.js';
import { ALICE, TEST_KEY, useEngine } from '../helpers/engine.js';
import { seedAccount, seedApi } from '../helpers/seed.js';

describe('secret key rotation', () => {
  const t = useEngine();

  it('re-encrypts every secret under the new key, after which the old key can go', async () => {
    await seedApi(t.engine, 'twitter', '<CLIENT_SECRET>client-s3cret</CLIENT_SECRET>');
    for (let i = 0; i < 7; i++) await seedAccount(t.engine, ALICE, 'twitter', `<TOKEN>tok-${i}</TOKEN><TOKEN_SECRET>ts-${i}</TOKEN_SECRET>`);
    const newKey = randomBytes(32).toString('base64');
    const both = createKeyring([parseKey(newKey), parseKey(TEST_KEY)]);
    const report = await rotateSecrets(t.engine.database.knex, both, 3); // batches of 3: several rounds
    assert.deepEqual(report.rewritten, { 'webapi.client_secret': 1, 'webaccount.token': 7, 'webaccount.token_secret': 7, 'webaccount.refresh_token': 0, 'nori_pending_flows.secret': 0, 'nori_pending_flows.pending_call': 0, 'nori_pending_flows.result': 0, 'nori_pending_flows.provider_url': 0 });

    const onlyNew = createKeyring([parseKey(newKey)]);
    for (let id = 1; id <= 7; id++) assert.deepEqual(await readSecrets(t.engine.database.knex, WEBACCOUNT, id, onlyNew), { TOKEN: `tok-${id - 1}`, TOKEN_SECRET: `ts-${id - 1}`, REFRESH_TOKEN: null });
    assert.equal((await readSecrets(t.engine.database.knex, WEBAPI, 1, onlyNew)).CLIENT_SECRET, 'client-s3cret');
    const onlyOld = createKeyring([parseKey(TEST_KEY)]);
    await assert.rejects(readSecrets(t.engine.database.knex, WEBACCOUNT, 1, onlyOld), (e: NoriError) => e.code === 'SECRET_UNREADABLE');

    const again = await rotateSecrets(t.engine.database.knex, both);
    assert.equal(again.rewritten['webaccount.token'], 0, 'a second run has nothing left to do');
  });

  it('stops on a value no configured key opens, naming the row, and leaves it as it was', async () => {
    await seedApi(t.engine);
    await seedAccount(t.engine, ALICE, 'twitter', '<TOKEN>tok</TOKEN>');
    const stranger = createKeyring([parseKey(randomBytes(32).toString('hex'))]);
    await assert.rejects(rotateSecrets(t.engine.database.knex, stranger), (e: NoriError) => e.code === 'SECRET_UNREADABLE' && /WEBACCOUNT 1/.test(e.message));
    assert.equal((await readSecrets(t.engine.database.knex, WEBACCOUNT, 1, t.engine.keyring)).TOKEN, 'tok');
  });
});
