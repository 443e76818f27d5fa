/**
 * The registry of encrypted columns is complete: a database filled through real commands (an account
 * authorized through OAuth 2.0 with its tokens, a WEBAPI with its client secret, a pending OAuth flow, a CALL
 * kept across a consent page with its result, an API key) holds ciphertext only in registered columns, every
 * registered column holds some, and `secrets rotate` moves every one of them to the new key.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ELEMENTS, columnOf } from '../../schemas/index.js';
import { collect } from '../../src/call/consents.js';
import type { Engine } from '../../src/engine.js';
import { ENCRYPTED_COLUMNS, openColumn } from '../../src/store/encrypted-columns.js';
import { rotateSecrets } from '../../src/store/rotate.js';
import { ENVELOPE_PREFIX, createKeyring, parseKey } from '../../src/store/secrets.js';
import { ALICE, TEST_KEY, makeEngine } from '../helpers/engine.js';
import { Agent } from '../helpers/agent.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { expectError, expectOk, only, q } from '../helpers/xml.js';
import { authorizeCode, startDropboxPeer, type DropboxPeer } from '../peers/dropbox.js';
import { startOrangePeer, type OrangePeer } from '../peers/orange.js';

const PUBLIC = 'http://nori.test';
const CMS = 'https://cms.test/';
const CLIENT = { clientId: 'nori-app-key', clientSecret: 'nori-app-secret', redirectUris: [`${PUBLIC}/oauth/callback`] };

/**
 * Every text column that is NOT encrypted, by `table.column`: an element's fields of other types than `secret`
 * (its definition is their one source), and nori's own tables' columns listed here. A new text column must be
 * added here or to store/encrypted-columns.ts: the test below fails for a column that is in neither.
 */
const PLAINTEXT = new Set([
  ...[...ELEMENTS.values()].flatMap((e) => Object.entries(e.fields).filter(([, d]) => d.type !== 'secret').map(([f]) => `${e.table}.${columnOf(f)}`)),
  'nori_api_keys.key_id', 'nori_api_keys.secret_hash', 'nori_api_keys.label',
  'nori_transitions.from_state', 'nori_transitions.to_state', 'nori_transitions.event', 'nori_transitions.reason',
  'nori_pending_flows.state_hash', 'nori_pending_flows.kind', 'nori_pending_flows.request_token', 'nori_pending_flows.return_url', 'nori_pending_flows.call_hash',
  'nori_pending_flows.start_hash', 'nori_pending_flows.browser_hash', 'nori_pending_flows.ended',
  'nori_migrations.name',
]);

describe('the registry of encrypted columns', function () {
  this.timeout(60_000);
  let engine: Engine;
  let server: RunningServer;
  let orange: OrangePeer;
  let dbx: DropboxPeer;
  const keys = { admin: '', alice: '' };

  before(async () => {
    engine = await makeEngine({ authorization: { publicUrl: PUBLIC, returnUrls: [CMS] } });
    server = await startServer(engine);
    orange = await startOrangePeer();
    dbx = await startDropboxPeer({ clients: [CLIENT] });
    keys.admin = (await engine.keys.create({ contactId: 1, admin: true })).key;
    keys.alice = (await engine.keys.create({ contactId: ALICE.contactId })).key;
  });
  after(async () => {
    await server?.close();
    await orange?.close();
    await dbx?.close();
    await engine?.close();
  });

  const post = async (key: string, ...commands: string[]) =>
    (await fetch(`${server.url}/`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, body: q(...commands) })).text();
  const created = async (xml: string) => Number(expectOk(only(await post(keys.alice, `<CREATE><WEBACCOUNT><INFO>${xml}</INFO></WEBACCOUNT></CREATE>`))).attrs.elementID);

  const apiId = async (name: string) => ((await engine.database.knex('webapi').first('id').where('denomination', name)) as { id: number }).id;

  /** Data in every table and every encrypted column, through the commands a CMS sends. Returns the kept CALL's id and account. */
  async function fillEveryTable(): Promise<{ callId: string; account: number }> {
    const urls = `<BASE_URL>${dbx.url}</BASE_URL><AUTHORIZE_URL>${dbx.url}/oauth2/authorize</AUTHORIZE_URL><TOKEN_URL>${dbx.url}/oauth2/token</TOKEN_URL><SETTINGS><CONTENT_URL>${dbx.contentUrl}</CONTENT_URL></SETTINGS>`;
    const webapi = await post(keys.admin, `<UPDATE><WEBAPI ID="${await apiId('dropbox')}"><INFO><CLIENT_ID>${CLIENT.clientId}</CLIENT_ID><CLIENT_SECRET>${CLIENT.clientSecret}</CLIENT_SECRET>${urls}</INFO></WEBAPI></UPDATE>`);
    expectOk(only(webapi));
    // An account authorized the real way: its access and refresh tokens come from the provider.
    const authorized = await created('<API>dropbox</API>');
    const start = expectOk(only(await post(keys.alice, `<AUTHORIZE><WEBACCOUNT ID="${authorized}"/></AUTHORIZE>`)));
    const browser = new Agent({ [PUBLIC]: server.url });
    assert.equal((await browser.request(await authorizeCode(start.attrs.url!, browser))).status, 200);
    // One whose flow is still pending (its PKCE verifier is kept), and one with a client-given token secret.
    expectOk(only(await post(keys.alice, `<AUTHORIZE><WEBACCOUNT ID="${await created('<API>dropbox</API>')}"/></AUTHORIZE>`)));
    await created('<API>dropbox</API><TOKEN>client-token</TOKEN><TOKEN_SECRET>client-token-secret</TOKEN_SECRET>');
    // A CALL kept across Orange's consent page, run again at the callback: its result waits to be collected.
    expectOk(only(await post(keys.admin, `<UPDATE><WEBAPI ID="${await apiId('orange')}"><INFO><BASE_URL>${orange.url}</BASE_URL></INFO></WEBAPI></UPDATE>`)));
    const account = await created(`<API>orange</API><TOKEN>${orange.issueToken('u1')}</TOKEN>`);
    expectOk(only(await post(keys.alice, `<AUTHORIZE><WEBACCOUNT ID="${account}"/></AUTHORIZE>`)));
    const consent = expectError(only(await post(keys.alice, `<CALL><WEBACCOUNT ID="${account}"><RETURN_URL>${CMS}back</RETURN_URL><GETCONTACTS/></WEBACCOUNT></CALL>`)), 'CONSENT_REQUIRED', '2');
    const consentPage = (await browser.request(consent.attrs.url!)).location!;
    const page = await browser.request(`${consentPage}&choice=once`, { headers: { cookie: orange.signIn('u1') } });
    assert.equal((await browser.request(page.location!)).status, 303);
    return { callId: consent.attrs.call!, account };
  }

  it('holds ciphertext only in registered columns, classifies every text column, and rotation reaches them all', async () => {
    const { callId, account } = await fillEveryTable();
    const knex = engine.database.knex;
    const { rows: tables } = (await knex.raw("SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'")) as { rows: { table_name: string }[] };
    // An empty table would prove nothing: every table has rows.
    for (const { table_name: table } of tables) {
      const [{ n }] = (await knex(table).count({ n: '*' })) as [{ n: number | string }];
      assert.ok(Number(n) > 0, `${table} has no rows: create data in it in fillEveryTable()`);
    }
    const { rows: columns } = (await knex.raw("SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying', 'character', 'jsonb', 'json')")) as { rows: { table_name: string; column_name: string }[] };
    const registered = new Set(ENCRYPTED_COLUMNS.map((c) => c.context));
    for (const { table_name: table, column_name: column } of columns) {
      const name = `${table}.${column}`;
      assert.ok(registered.has(name) || PLAINTEXT.has(name), `${name} is neither a registered encrypted column nor a known plaintext column`);
      const values = (await knex(table).select({ v: knex.raw('??::text', [column]) }).whereNotNull(column)) as { v: string }[];
      const sealed = values.filter(({ v }) => ENVELOPE_PREFIX.test(v) || v.includes('"v1.'));
      if (!registered.has(name)) assert.equal(sealed.length, 0, `${name} holds ciphertext but is not in store/encrypted-columns.ts`);
      else assert.ok(values.length > 0 && sealed.length === values.length, `${name}: every value is ciphertext, and there is some`);
    }

    const newKey = randomBytes(32).toString('base64');
    const report = await rotateSecrets(knex, createKeyring([parseKey(newKey), parseKey(TEST_KEY)]));
    for (const c of ENCRYPTED_COLUMNS) assert.ok((report.rewritten[c.context] ?? 0) > 0, `${c.context} was re-encrypted`);

    // The old key dropped, as the documentation says: every value still opens, and the kept result is collected.
    const onlyNew = createKeyring([parseKey(newKey)]);
    for (const c of ENCRYPTED_COLUMNS) {
      for (const row of (await knex(c.table).select(c.keyColumn, c.column).whereNotNull(c.column)) as Record<string, unknown>[]) {
        assert.equal(typeof openColumn(onlyNew, c, row[c.column] as string, row[c.keyColumn] as number), 'string');
      }
    }
    const answer = await collect(knex, onlyNew, { callId, accountId: account, principal: ALICE, ttlSeconds: 600 });
    assert.ok('method' in answer, JSON.stringify(answer));
    assert.equal(answer.method, 'GETCONTACTS');
    assert.ok('value' in answer.result, 'the kept CALL succeeded at the callback');
    const again = await post(keys.alice, `<CALL><WEBACCOUNT ID="${account}" replay="${callId}"/></CALL>`);
    expectError(only(again), 'REPLAY_USED');
  });

  it('the keyring refuses to encrypt or decrypt for a column that is not registered', () => {
    const ring = createKeyring([parseKey(TEST_KEY)]);
    assert.throws(() => ring.encrypt('x', 'nori_pending_flows.notes'), /nori_pending_flows\.notes is not a registered encrypted column/);
    const sealed = ring.encrypt('x', 'webaccount.token');
    assert.throws(() => ring.decrypt(sealed, 'webaccount.login', { element: 'WEBACCOUNT', id: 1 }), /webaccount\.login is not a registered encrypted column/);
    assert.equal(ring.decrypt(sealed, 'webaccount.token', { element: 'WEBACCOUNT', id: 1 }), 'x');
  });
});
