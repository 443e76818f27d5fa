/**
 * `nori secrets rotate` on the embedded default, run as a real process on a data folder of its own: the key file
 * follows the re-encrypted values, so the next start without NORI_SECRET_KEY still reads every secret, and a
 * rotation cut short between its steps leaves everything readable and can be finished.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { WEBACCOUNT, WEBAPI } from '../../schemas/index.js';
import { createEngine } from '../../src/engine.js';
import { readSecrets } from '../../src/store/elements.js';
import { NEXT_KEY_FILE, writeKeyFile } from '../../src/store/key-file.js';
import { rotateSecrets } from '../../src/store/rotate.js';
import { createKeyring, parseKey } from '../../src/store/secrets.js';
import { describeIn } from '../helpers/engine.js';
import { runNori } from '../helpers/nori-process.js';

const BATCH = '<QUERY><CREATE><WEBAPI><INFO><DENOMINATION>mastodon</DENOMINATION><AUTH_TYPE>oauth1</AUTH_TYPE><CLIENT_SECRET>client-s3cret</CLIENT_SECRET></INFO></WEBAPI></CREATE>'
  + '<CREATE><WEBACCOUNT><INFO><API>mastodon</API><TOKEN>kept-token</TOKEN><TOKEN_SECRET>kept-secret</TOKEN_SECRET></INFO></WEBACCOUNT></CREATE></QUERY>';

describeIn('pglite')('nori secrets rotate on the embedded default', function () {
  this.timeout(120_000);
  const logger = pino({ level: 'silent' });

  /** A data folder with a WEBAPI and a WEBACCOUNT holding secrets, made by `nori exec` without NORI_SECRET_KEY. */
  async function folder(): Promise<{ dir: string; env: NodeJS.ProcessEnv; keyFile: string }> {
    const dir = mkdtempSync(join(tmpdir(), 'nori-rot-'));
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, NORI_DATA_DIR: dir, NORI_LOG_LEVEL: 'warn' };
    const batch = join(dir, 'batch.xml');
    writeFileSync(batch, BATCH);
    const r = await runNori(['exec', batch, '--contact', '1', '--admin'], env);
    assert.equal(r.code, 0, r.err);
    return { dir, env, keyFile: join(dir, 'secret.key') };
  }

  /** What a start without NORI_SECRET_KEY reads: the engine's own, from the folder alone. */
  async function secretsWithoutVariable(dir: string) {
    const engine = await createEngine({ database: { dataDir: dir }, logger });
    try {
      const knex = engine.database.knex;
      const api = ((await knex('webapi').first('id').where('denomination', 'mastodon')) as { id: number }).id;
      return { account: await readSecrets(knex, WEBACCOUNT, 1, engine.keyring), api: (await readSecrets(knex, WEBAPI, api, engine.keyring)).CLIENT_SECRET };
    } finally {
      await engine.close();
    }
  }
  const expected = { account: { TOKEN: 'kept-token', TOKEN_SECRET: 'kept-secret', REFRESH_TOKEN: null }, api: 'client-s3cret' };
  const onlyKey = (key: string) => createKeyring([parseKey(key)]);

  it('with a new NORI_SECRET_KEY: the key file takes the new key, and a start without the variable reads every secret', async () => {
    const { dir, env, keyFile } = await folder();
    const oldKey = readFileSync(keyFile, 'utf8').trim();
    const newKey = randomBytes(32).toString('base64');
    // As docs/authorization.md says: the new key in NORI_SECRET_KEY, the old one in NORI_SECRET_KEYS_OLD.
    const r = await runNori(['secrets', 'rotate'], { ...env, NORI_SECRET_KEY: newKey, NORI_SECRET_KEYS_OLD: oldKey });
    assert.equal(r.code, 0, r.err);
    assert.match(r.err, /webaccount\.token: 1 re-encrypted/);
    assert.equal(readFileSync(keyFile, 'utf8').trim(), newKey);
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('secret.key')), ['secret.key'], 'no staged or temporary key file is left');

    assert.deepEqual(await secretsWithoutVariable(dir), expected);
  });

  it('without NORI_SECRET_KEY: rotates to a fresh key of its own, and the old key no longer opens anything', async () => {
    const { dir, env, keyFile } = await folder();
    const oldKey = readFileSync(keyFile, 'utf8').trim();
    const r = await runNori(['secrets', 'rotate'], env);
    assert.equal(r.code, 0, r.err);
    const newKey = readFileSync(keyFile, 'utf8').trim();
    assert.notEqual(newKey, oldKey);
    assert.deepEqual(await secretsWithoutVariable(dir), expected);
    const engine = await createEngine({ database: { dataDir: dir }, logger });
    try {
      assert.equal((await readSecrets(engine.database.knex, WEBACCOUNT, 1, onlyKey(newKey))).TOKEN, 'kept-token');
      await assert.rejects(readSecrets(engine.database.knex, WEBACCOUNT, 1, onlyKey(oldKey)), /cannot be decrypted/);
    } finally {
      await engine.close();
    }
  });

  it('a rotation cut short after some values moved leaves every secret readable, and the next rotate finishes it', async () => {
    const { dir, env, keyFile } = await folder();
    const oldKey = readFileSync(keyFile, 'utf8').trim();
    const staged = randomBytes(32).toString('base64');
    // The state a crash between re-encryption and the final rename leaves: the new key staged, values moved.
    writeKeyFile(dir, NEXT_KEY_FILE, staged);
    const engine = await createEngine({ database: { dataDir: dir }, logger });
    try {
      await rotateSecrets(engine.database.knex, createKeyring([parseKey(staged), parseKey(oldKey)]));
      assert.equal((await readSecrets(engine.database.knex, WEBACCOUNT, 1, onlyKey(staged))).TOKEN, 'kept-token');
    } finally {
      await engine.close();
    }
    assert.deepEqual(await secretsWithoutVariable(dir), expected, 'both keys are read at start');

    const other = await runNori(['secrets', 'rotate'], { ...env, NORI_SECRET_KEY: randomBytes(32).toString('base64') });
    assert.equal(other.code, 2);
    assert.match(other.err, /holds an unfinished rotation to another key \(secret\.key\.next\); finish it first: run nori secrets rotate without NORI_SECRET_KEY/);

    const finish = await runNori(['secrets', 'rotate'], env);
    assert.equal(finish.code, 0, finish.err);
    assert.equal(readFileSync(keyFile, 'utf8').trim(), staged);
    assert.ok(!existsSync(join(dir, NEXT_KEY_FILE)));
    assert.deepEqual(await secretsWithoutVariable(dir), expected);
  });
});
