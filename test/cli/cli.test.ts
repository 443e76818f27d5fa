import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WEBACCOUNT } from '../../schemas/index.js';
import { main } from '../../src/cli/main.js';
import { createEngine } from '../../src/engine.js';
import { readSecrets } from '../../src/store/elements.js';
import { PG_URL } from '../helpers/engine.js';
import { only } from '../helpers/xml.js';

/** Runs the CLI in-process, capturing what it prints. */
async function nori(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const saved = { write: process.stdout.write, log: console.log, error: console.error };
  process.stdout.write = ((chunk: string) => ((out += chunk), true)) as typeof process.stdout.write;
  console.log = (...a: unknown[]) => void (out += a.join(' ') + '\n');
  console.error = (...a: unknown[]) => void (err += a.join(' ') + '\n');
  try {
    return { code: await main(args, env), out, err };
  } finally {
    process.stdout.write = saved.write;
    console.log = saved.log;
    console.error = saved.error;
  }
}

describe('the nori CLI', function () {
  this.timeout(60_000);
  const dir = mkdtempSync(join(tmpdir(), 'nori-cli-'));
  const env = { NORI_DATA_DIR: dir, NORI_LOG_LEVEL: 'silent' };

  it('creates, lists and revokes API keys, showing a key once', async () => {
    const created = await nori(['keys', 'create', '--contact', '5', '--groups', '3,4', '--admin', '--label', 'ops'], env);
    assert.equal(created.code, 0, created.err);
    const key = created.out.trim();
    assert.match(key, /^nori_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    const listed = await nori(['keys', 'list'], env);
    assert.match(listed.out, /^1\t[0-9a-f]{16}\tcontact=5\tgroups=3,4\tadmin\tactive\tops$/m);
    // The secret is base64url, which has underscores of its own: it is everything after nori_<key id>_.
    assert.ok(!listed.out.includes(key.slice('nori_'.length + 16 + 1)), 'the list never shows the secret part');
    assert.equal((await nori(['keys', 'revoke', '1'], env)).code, 0);
    assert.match((await nori(['keys', 'list'], env)).out, /\trevoked\t/);
    assert.equal((await nori(['keys', 'revoke', '1'], env)).code, 1, 'a revoked key cannot be revoked again');

    // A whole key pasted to revoke it: revoked by its id, and its secret part is never printed back.
    const pasted = (await nori(['keys', 'create', '--contact', '6'], env)).out.trim();
    const secret = pasted.slice('nori_'.length + 16 + 1);
    const revoked = await nori(['keys', 'revoke', pasted], env);
    assert.equal(revoked.code, 0, revoked.err);
    assert.ok(!revoked.err.includes(secret) && !revoked.out.includes(secret), revoked.err);
    assert.match(revoked.err, new RegExp(`^revoked ${pasted.slice(5, 21)}$`, 'm'));
    const again = await nori(['keys', 'revoke', pasted], env);
    assert.equal(again.code, 1);
    assert.ok(!again.err.includes(secret), again.err);
  });

  it('exec runs a batch file as a key or a contact; secrets survive in the generated key file', async () => {
    const admin = (await nori(['keys', 'create', '--contact', '1', '--admin'], env)).out.trim();
    const file = join(dir, 'batch.xml');
    writeFileSync(file, '<QUERY><CREATE><WEBAPI><INFO><DENOMINATION>mastodon</DENOMINATION><AUTH_TYPE>oauth1</AUTH_TYPE></INFO></WEBAPI></CREATE></QUERY>');
    const r = await nori(['exec', file, '--key', admin], env);
    assert.equal(r.code, 0, r.err);
    assert.equal(only(r.out).attrs.msgType, '0');
    writeFileSync(file, '<QUERY><CREATE><WEBACCOUNT><INFO><API>mastodon</API><TOKEN>kept-token</TOKEN></INFO></WEBACCOUNT></CREATE></QUERY>');
    const mine = await nori(['exec', file, '--contact', '2'], env);
    assert.equal(only(mine.out).attrs.elementID, '1');
    assert.equal((await nori(['exec', file, '--key', 'nori_bad'], env)).code, 2);
    writeFileSync(file, '<QUERY><GET>');
    assert.equal((await nori(['exec', file, '--contact', '2'], env)).code, 1, 'a refused request exits 1');

    const keyFile = join(dir, 'secret.key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    const engine = await createEngine({ database: { dataDir: dir } });
    try {
      assert.equal((await readSecrets(engine.database.knex, WEBACCOUNT, 1, engine.keyring)).TOKEN, 'kept-token');
      assert.equal(readFileSync(keyFile, 'utf8').trim().length, 44);
      const second = await nori(['keys', 'list'], env);
      assert.equal(second.code, 2, 'a second process cannot open a locked data folder');
      assert.match(second.err, /in use by another nori process/);
    } finally {
      await engine.close();
    }
  });

  it('migrate, help, unknown commands and bad configuration', async () => {
    assert.match((await nori(['migrate'], env)).err, /already up to date/);
    const help = await nori(['--help'], env);
    assert.equal(help.code, 0);
    assert.match(help.out, /nori serve/);
    assert.equal((await nori(['frobnicate'], env)).code, 2);
    assert.equal((await nori([], env)).code, 2);
    const port = await nori(['migrate'], { ...env, NORI_PORT: 'abc' });
    assert.equal(port.code, 2);
    assert.match(port.err, /NORI_PORT must be a positive whole number/);
    const url = await nori(['migrate'], { ...env, NORI_RETURN_URLS: 'ftp://x' });
    assert.match(url.err, /NORI_RETURN_URLS must be an http or https URL/);
    const noKey = await nori(['migrate'], { DATABASE_URL: PG_URL, NORI_LOG_LEVEL: 'silent' });
    assert.equal(noKey.code, 2);
    assert.match(noKey.err, /NORI_SECRET_KEY is required with DATABASE_URL/);
  });
});
