/**
 * The dropbox plugin end to end: XML batches over nori's HTTP server, accounts authorized through nori's real
 * OAuth 2.0 flow, against the Dropbox peer (test/peers/dropbox.ts) on its API host and its content host.
 */
import assert from 'node:assert/strict';
import type { Element } from '@xmldom/xmldom';
import { useEngine } from '../../test/helpers/engine.js';
import { Agent } from '../../test/helpers/agent.js';
import { startServer, type RunningServer } from '../../test/helpers/server.js';
import { callReplies, callResult, childElements, expectError, expectOk, only, q, textAt } from '../../test/helpers/xml.js';
import { authorizeCode, startDropboxPeer, type DropboxPeer } from '../../test/peers/dropbox.js';
import { MAX_ENTRIES } from './index.js';

const PUBLIC = 'http://nori.test';
const CLIENT = { clientId: 'nori-app-key', clientSecret: 'nori-app-secret', redirectUris: [`${PUBLIC}/oauth/callback`] };
const call = (id: number, method: string, params = '') => `<CALL><WEBACCOUNT ID="${id}"><${method}>${params}</${method}></WEBACCOUNT></CALL>`;
const items = (el: Element, name: string) => childElements(childElements(el).find((c) => c.tagName === name)!);
/** The WEBAPI's URLs, all at the peer: the row's values override the plugin's production defaults. */
const endpoints = ({ url, contentUrl }: DropboxPeer) =>
  `<BASE_URL>${url}</BASE_URL><AUTHORIZE_URL>${url}/oauth2/authorize</AUTHORIZE_URL><TOKEN_URL>${url}/oauth2/token</TOKEN_URL><SETTINGS><CONTENT_URL>${contentUrl}</CONTENT_URL></SETTINGS>`;
const paths = (el: Element) => items(el, 'entries').map((e) => textAt(e, 'path_lower')!);

describe('dropbox plugin', function () {
  this.timeout(30_000);
  const t = useEngine({ authorization: { publicUrl: PUBLIC }, calls: { timeoutMs: 2000, maxAttempts: 3, budgetMs: 8000, maxResponseBytes: 32 << 20 } });
  let server: RunningServer;
  let dbx: DropboxPeer;
  let alice: string;
  let admin: string;
  before(async () => {
    server = await startServer(t.engine, 64 << 20);
  });
  after(() => server.close());
  afterEach(() => dbx.close());

  /** One batch over HTTP as the key's principal. */
  async function post(key: string, ...commands: string[]): Promise<string> {
    const res = await fetch(`${server.url}/`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, body: q(...commands) });
    return res.text();
  }

  beforeEach(async () => {
    dbx = await startDropboxPeer({ clients: [CLIENT] });
    admin = (await t.engine.keys.create({ contactId: 1, groups: [], admin: true })).key;
    alice = (await t.engine.keys.create({ contactId: 2, groups: [], admin: false })).key;
    expectOk(only(await post(admin, `<CREATE><WEBAPI><INFO><DENOMINATION>dropbox</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><CLIENT_ID>${CLIENT.clientId}</CLIENT_ID><CLIENT_SECRET>${CLIENT.clientSecret}</CLIENT_SECRET>${endpoints(dbx)}</INFO></WEBAPI></CREATE>`)));
  });

  /** Alice's account, authorized the real way: AUTHORIZE, the peer's authorize step, nori's callback. */
  async function authorized(): Promise<number> {
    const id = Number(expectOk(only(await post(alice, '<CREATE><WEBACCOUNT><INFO><API>dropbox</API></INFO></WEBACCOUNT></CREATE>'))).attrs.elementID);
    const start = expectOk(only(await post(alice, `<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`)));
    const browser = new Agent({ [PUBLIC]: server.url });
    const done = await browser.request(await authorizeCode(start.attrs.url!, browser));
    assert.equal(done.status, 200, done.body);
    return id;
  }
  const run = async (id: number, method: string, params = '') => post(alice, call(id, method, params));

  it('authorizes with PKCE and token_access_type=offline, then GETPROFILE answers the account', async () => {
    const id = await authorized();
    const asked = dbx.requests.find((r) => r.path === '/oauth2/authorize')!.query;
    assert.equal(asked.get('token_access_type'), 'offline');
    assert.equal(asked.get('scope'), 'account_info.read files.metadata.read files.content.read files.content.write');
    assert.equal(asked.get('code_challenge_method'), 'S256');
    assert.match(asked.get('code_challenge')!, /^[A-Za-z0-9_-]{43}$/);
    const exchange = new URLSearchParams(dbx.requests.find((r) => r.path === '/oauth2/token')!.body.toString());
    assert.match(exchange.get('code_verifier')!, /^[A-Za-z0-9_-]{43}$/);
    assert.deepEqual(dbx.grants, { authorization_code: 1 });
    const row = await t.engine.database.knex('webaccount').first('authorization_state', 'refresh_token').where('id', id);
    assert.equal(row.authorization_state, 'authorized');
    assert.ok(row.refresh_token, 'offline access: a refresh token is stored');

    const profile = callResult(await run(id, 'GETPROFILE'));
    assert.equal(profile.tagName, 'GETPROFILE');
    assert.deepEqual([textAt(profile, 'account_id'), textAt(profile, 'name/display_name'), textAt(profile, 'email')], [dbx.account.account_id, 'Ada Lovelace', 'ada@example.org']);
    const sent = dbx.requests.at(-1)!;
    assert.deepEqual([sent.path, sent.body.length, sent.headers['content-type']], ['/2/users/get_current_account', 0, undefined]);
  });

  it('LISTFILES follows every page: each entry exactly once, with the final cursor', async () => {
    const id = await authorized();
    const r = callResult(await run(id, 'LISTFILES', '<RECURSIVE>true</RECURSIVE><LIMIT>2</LIMIT>'));
    const seen = paths(r);
    assert.deepEqual([...seen].sort(), [...dbx.tree.keys()].sort());
    assert.equal(new Set(seen).size, seen.length, 'no entry twice');
    assert.equal(dbx.count('/2/files/list_folder/continue'), Math.ceil(seen.length / 2) - 1);
    assert.deepEqual([textAt(r, 'has_more'), textAt(r, 'cursor')!.length > 0], ['false', true]);
    const entry = items(r, 'entries').find((e) => textAt(e, 'path_lower') === '/hello.txt')!;
    assert.deepEqual([childElements(entry)[0]!.getAttribute('key'), childElements(entry)[0]!.textContent], ['.tag', 'file']);
    const top = callResult(await run(id, 'LISTFILES', '<PATH>/</PATH>'));
    assert.deepEqual(paths(top), ['/documents', '/hello.txt', '/photos'], '"/" is the root');
  });

  it('LISTFILES page by page: ALL false answers one page, CURSOR goes on from it', async () => {
    const id = await authorized();
    let page = callResult(await run(id, 'LISTFILES', '<RECURSIVE>true</RECURSIVE><LIMIT>3</LIMIT><ALL>false</ALL>'));
    const seen = paths(page);
    assert.deepEqual([seen.length, textAt(page, 'has_more')], [3, 'true']);
    while (textAt(page, 'has_more') === 'true') {
      page = callResult(await run(id, 'LISTFILES', `<CURSOR>${textAt(page, 'cursor')}</CURSOR><ALL>false</ALL>`));
      seen.push(...paths(page));
    }
    assert.deepEqual([...seen].sort(), [...dbx.tree.keys()].sort());
    assert.equal(dbx.count('/2/files/list_folder/continue'), 2);
    const [warned] = callReplies(await run(id, 'LISTFILES', `<CURSOR>${textAt(page, 'cursor')}</CURSOR><PATH>/x</PATH>`));
    assert.deepEqual(warned!.warnings.map((w) => w.code), ['PARAM_IGNORED']);
    dbx.resetCursors();
    const reset = expectError(only(await run(id, 'LISTFILES', `<CURSOR>${textAt(page, 'cursor')}</CURSOR>`)), 'SERVICE_ERROR');
    assert.deepEqual([reset.attrs.serviceStatus, reset.attrs.serviceError], ['409', 'reset']);
    assert.match(reset.text, /list again without CURSOR/);
  });

  it(`LISTFILES stops following pages after ${MAX_ENTRIES} entries and says how to go on with CURSOR`, async () => {
    await dbx.close();
    const files = Array.from({ length: MAX_ENTRIES + 50 }, (_, i) => [`/f${String(i).padStart(5, '0')}.txt`, 'x']);
    dbx = await startDropboxPeer({ clients: [CLIENT], files: Object.fromEntries(files) });
    expectOk(only(await post(admin, `<UPDATE><WEBAPI ID="1"><INFO>${endpoints(dbx)}</INFO></WEBAPI></UPDATE>`)));
    const id = await authorized();
    const [first] = callReplies(await run(id, 'LISTFILES', '<LIMIT>2000</LIMIT>'));
    assert.deepEqual([items(first!.result!, 'entries').length, textAt(first!.result!, 'has_more')], [MAX_ENTRIES, 'true']);
    assert.deepEqual(first!.warnings.map((w) => w.code), ['LISTING_TRUNCATED']);
    const rest = callResult(await run(id, 'LISTFILES', `<CURSOR>${textAt(first!.result!, 'cursor')}</CURSOR>`));
    assert.deepEqual([paths(rest).length, textAt(rest, 'has_more')], [50, 'false']);
  });

  it('uploads "Café été.txt" with an ASCII Dropbox-API-Arg on the content host, and downloads the same bytes', async () => {
    const id = await authorized();
    const bytes = Buffer.from([0, 1, 2, 250, 251, 252, 10, 13, 0x7f]);
    const up = callResult(await run(id, 'UPLOADFILE', `<PATH>/Café été.txt</PATH><CONTENT>${bytes.toString('base64')}</CONTENT>`));
    assert.deepEqual([textAt(up, 'name'), textAt(up, 'path_display'), textAt(up, 'size')], ['Café été.txt', '/Café été.txt', String(bytes.length)]);
    const sent = dbx.requests.find((r) => r.path === '/2/files/upload')!;
    assert.ok(sent.url.startsWith(dbx.contentUrl), 'sent to CONTENT_URL');
    assert.match(String(sent.headers['dropbox-api-arg']), /^[\x20-\x7e]+$/);
    assert.deepEqual(JSON.parse(String(sent.headers['dropbox-api-arg'])), { path: '/Café été.txt', mode: 'add' });
    assert.deepEqual([sent.headers['content-type'], sent.body], ['application/octet-stream', bytes]);

    const down = callResult(await run(id, 'DOWNLOADFILE', '<PATH>/café ÉTÉ.txt</PATH>'));
    assert.deepEqual([textAt(down, 'metadata/name'), textAt(down, 'metadata/size')], ['Café été.txt', String(bytes.length)]);
    const content = childElements(down).find((e) => e.tagName === 'content')!;
    assert.equal(content.getAttribute('encoding'), 'base64');
    assert.deepEqual(Buffer.from(content.textContent!, 'base64'), bytes);
    assert.ok(dbx.requests.find((r) => r.path === '/2/files/download')!.url.startsWith(dbx.contentUrl));
    const info = callResult(await run(id, 'GETFILEINFO', '<PATH>/Café été.txt</PATH>'));
    assert.deepEqual([textAt(info, 'name'), textAt(info, 'id')], ['Café été.txt', textAt(up, 'id')]);
  });

  it('answers Dropbox\'s refusals as SERVICE_ERROR with the stable error code, its meaning and the error union', async () => {
    const id = await authorized();
    const missing = expectError(only(await run(id, 'GETFILEINFO', '<PATH>/nowhere.txt</PATH>')), 'SERVICE_ERROR');
    assert.deepEqual([missing.attrs.serviceStatus, missing.attrs.serviceError, missing.attrs.serviceMessage], ['409', 'path/not_found', 'there is nothing at this path']);
    assert.deepEqual(JSON.parse(missing.attrs.serviceData!), { '.tag': 'path', path: { '.tag': 'not_found' } });
    assert.equal(missing.text, 'The service "dropbox" refused GETFILEINFO (HTTP 409): path/not_found (there is nothing at this path).');
    const taken = expectError(only(await run(id, 'UPLOADFILE', '<PATH>/hello.txt</PATH><CONTENT>eA==</CONTENT>')), 'SERVICE_ERROR');
    assert.deepEqual([taken.attrs.serviceError, taken.attrs.serviceMessage], ['path/conflict/file', 'something is already at this path']);
    const relative = expectError(only(await run(id, 'UPLOADFILE', '<PATH>notes.txt</PATH><CONTENT>eA==</CONTENT>')), 'SERVICE_ERROR');
    assert.deepEqual([relative.attrs.serviceStatus, relative.attrs.serviceError], ['400', 'bad_request']);
    assert.match(relative.attrs.serviceMessage!, /path: 'notes.txt' did not match pattern/, 'Dropbox\'s plain-text 400 is the message');
    const folder = expectError(only(await run(id, 'DOWNLOADFILE', '<PATH>/Documents</PATH>')), 'SERVICE_ERROR');
    assert.equal(folder.attrs.serviceError, 'path/not_file');
  });

  it('UPLOADFILE: add never replaces, AUTORENAME picks a free name, overwrite replaces', async () => {
    const id = await authorized();
    const renamed = callResult(await run(id, 'UPLOADFILE', '<PATH>/hello.txt</PATH><CONTENT>YWdhaW4=</CONTENT><AUTORENAME>true</AUTORENAME>'));
    assert.equal(textAt(renamed, 'path_display'), '/hello (1).txt');
    const replaced = callResult(await run(id, 'UPLOADFILE', '<PATH>/hello.txt</PATH><CONTENT>bmV3</CONTENT><MODE>overwrite</MODE>'));
    assert.equal(textAt(replaced, 'size'), '3');
    assert.deepEqual([dbx.tree.get('/hello.txt')!.bytes!.toString(), dbx.tree.get('/hello (1).txt')!.bytes!.toString()], ['new', 'again']);
    assert.deepEqual(JSON.parse(String(dbx.requests.at(-1)!.headers['dropbox-api-arg'])), { path: '/hello.txt', mode: 'overwrite' });
  });

  it('retries an upload after a 500 only when it is idempotent (MODE overwrite), never with add', async () => {
    const id = await authorized();
    dbx.inject({ status: 500, path: '/2/files/upload' }, 1);
    callResult(await run(id, 'UPLOADFILE', '<PATH>/a.txt</PATH><CONTENT>YQ==</CONTENT><MODE>overwrite</MODE>'));
    assert.equal(dbx.count('/2/files/upload'), 2, 'overwrite: sent again');
    dbx.inject({ status: 500, path: '/2/files/upload' }, 1);
    const failed = expectError(only(await run(id, 'UPLOADFILE', '<PATH>/b.txt</PATH><CONTENT>Yg==</CONTENT>')), 'SERVICE_FAILED');
    assert.equal(failed.attrs.serviceStatus, '500');
    assert.equal(dbx.count('/2/files/upload'), 3, 'add: sent once, as it may have happened');
    assert.equal(dbx.tree.has('/b.txt'), false);
  });

  it('refreshes an expired token once at Dropbox, then succeeds, on the API host and the content host', async () => {
    const id = await authorized();
    dbx.expireAll();
    const profile = callResult(await run(id, 'GETPROFILE'));
    assert.equal(textAt(profile, 'account_id'), dbx.account.account_id);
    assert.equal(dbx.grants.refresh_token, 1);
    assert.equal(dbx.count('/2/users/get_current_account'), 2, 'refused with expired_access_token, then sent with the new token');
    callResult(await run(id, 'GETPROFILE'));
    assert.equal(dbx.grants.refresh_token, 1, 'the new token was stored');
    dbx.expireAll();
    callResult(await run(id, 'UPLOADFILE', '<PATH>/after.txt</PATH><CONTENT>AAEC</CONTENT>'));
    assert.equal(dbx.grants.refresh_token, 2);
    assert.deepEqual(dbx.tree.get('/after.txt')!.bytes, Buffer.from([0, 1, 2]), 'the body was sent again whole');
  });

  it('waits out a 429 with Retry-After and succeeds', async () => {
    const id = await authorized();
    dbx.rateLimitNext(1, 1);
    const started = Date.now();
    const info = callResult(await run(id, 'GETFILEINFO', '<PATH>/hello.txt</PATH>'));
    assert.equal(textAt(info, 'name'), 'hello.txt');
    assert.ok(Date.now() - started >= 950, 'waited the Retry-After second');
    assert.equal(dbx.count('/2/files/get_metadata'), 2);
  });

  it('a revoked account answers ACCOUNT_REVOKED and never reaches Dropbox', async () => {
    const id = await authorized();
    expectOk(only(await post(alice, `<UPDATE><WEBACCOUNT ID="${id}"><INFO><AUTHORIZATION_STATE>revoked</AUTHORIZATION_STATE></INFO></WEBACCOUNT></UPDATE>`)));
    const before = dbx.count();
    for (const [method, params] of [['GETPROFILE', ''], ['UPLOADFILE', '<PATH>/x.txt</PATH><CONTENT>eA==</CONTENT>']] as const) {
      assert.match(expectError(only(await run(id, method, params)), 'ACCOUNT_REVOKED').text, /revoked/);
    }
    assert.equal(dbx.count(), before);
  });

  it('revoking the account revokes its token at Dropbox (bearer POST, no body), and the token is dead there', async () => {
    const id = await authorized();
    const [access] = [...dbx.tokens.keys()];
    expectOk(only(await post(alice, `<UPDATE><WEBACCOUNT ID="${id}"><INFO><AUTHORIZATION_STATE>revoked</AUTHORIZATION_STATE></INFO></WEBACCOUNT></UPDATE>`)));
    const sent = dbx.requests.filter((r) => r.path === '/2/auth/token/revoke');
    assert.equal(sent.length, 1);
    assert.deepEqual([sent[0]!.method, sent[0]!.headers.authorization, sent[0]!.body.length], ['POST', `Bearer ${access}`, 0]);
    const row = await t.engine.database.knex('webaccount').first('authorization_state', 'token', 'refresh_token', 'state_reason').where('id', id);
    assert.deepEqual(row, { authorization_state: 'revoked', token: null, refresh_token: null, state_reason: 'tokens revoked at the service' });
    const dead = await fetch(`${dbx.url}/2/users/get_current_account`, { method: 'POST', headers: { authorization: `Bearer ${access}` } });
    assert.equal(dead.status, 401, 'dead at Dropbox');
  });

  /** Revokes the account, then says whether its refresh token still works at Dropbox. */
  async function revokeAndTryRefresh(id: number): Promise<{ sent: string[]; reason: string; refreshStatus: number }> {
    const refreshToken = (await t.engine.database.knex('webaccount').first('refresh_token').where('id', id)).refresh_token as string;
    const stored = t.engine.keyring.decrypt(refreshToken, 'webaccount.refresh_token', { element: 'WEBACCOUNT', id });
    expectOk(only(await post(alice, `<UPDATE><WEBACCOUNT ID="${id}"><INFO><AUTHORIZATION_STATE>revoked</AUTHORIZATION_STATE></INFO></WEBACCOUNT></UPDATE>`)));
    const sent = dbx.requests.filter((r) => r.path === '/2/auth/token/revoke').map((r) => r.headers.authorization!);
    const { state_reason: reason } = await t.engine.database.knex('webaccount').first('state_reason').where('id', id);
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: stored, client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret });
    const refreshed = await fetch(`${dbx.url}/oauth2/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    return { sent, reason: reason as string, refreshStatus: refreshed.status };
  }

  it('revoking an account whose access token expired refreshes it first, so the grant dies at Dropbox too', async () => {
    const id = await authorized();
    const [expired] = [...dbx.tokens.keys()];
    dbx.expire(expired);
    await t.engine.database.knex('webaccount').update({ token_expires: new Date(Date.now() - 60_000) }).where('id', id);
    const { sent, reason, refreshStatus } = await revokeAndTryRefresh(id);
    assert.deepEqual(dbx.grants, { authorization_code: 1, refresh_token: 1 });
    assert.equal(sent.length, 1);
    assert.notEqual(sent[0], `Bearer ${expired}`, 'revoked with the refreshed token, not the expired one');
    assert.equal(reason, 'tokens revoked at the service');
    assert.equal(refreshStatus, 400, 'the refresh token is dead at Dropbox');
  });

  it('a revocation Dropbox refuses with a 401 is tried once more with a refreshed token', async () => {
    const id = await authorized();
    const [expired] = [...dbx.tokens.keys()];
    dbx.expire(expired); // nori's clock still says the token is good
    const { sent, reason, refreshStatus } = await revokeAndTryRefresh(id);
    assert.equal(sent.length, 2);
    assert.equal(sent[0], `Bearer ${expired}`);
    assert.notEqual(sent[1], sent[0]);
    assert.equal(reason, 'tokens revoked at the service');
    assert.equal(refreshStatus, 400, 'the refresh token is dead at Dropbox');
    const again = await revokeAndTryRefresh(await authorized());
    assert.equal(again.sent.length, 3, 'a fresh token is revoked at once, with no refresh');
    assert.deepEqual(dbx.grants, { authorization_code: 2, refresh_token: 1 });
  });

  it('checks parameters before anything reaches Dropbox', async () => {
    const id = await authorized();
    const before = dbx.count();
    const cases: [string, string, string, RegExp][] = [
      ['LISTFILES', '<FOLDER>/Documents</FOLDER>', 'PARAM_UNKNOWN', /<LISTFILES> has no parameter <FOLDER>; it takes PATH, RECURSIVE, LIMIT, CURSOR, ALL/],
      ['UPLOADFILE', '<PATH>/a.txt</PATH><CONTENT>not base64!</CONTENT>', 'PARAM_INVALID', /<UPLOADFILE> <CONTENT> must be base64/],
      ['UPLOADFILE', '<PATH>/a.txt</PATH><CONTENT>eA==</CONTENT><MODE>update</MODE>', 'PARAM_INVALID', /must be one of add, overwrite/],
      ['UPLOADFILE', '<PATH>/a.txt</PATH>', 'PARAM_MISSING', /<UPLOADFILE> needs <CONTENT>/],
      ['LISTFILES', '<LIMIT>2001</LIMIT>', 'PARAM_INVALID', /from 1 to 2000/],
      ['LISTFILES', '<ALL>maybe</ALL>', 'PARAM_INVALID', /true or false/],
      ['GETFILEINFO', '', 'PARAM_MISSING', /<GETFILEINFO> needs <PATH>/],
      ['DELETEFILE', '', 'METHOD_UNKNOWN', /GETPROFILE, LISTFILES, GETFILEINFO, UPLOADFILE, DOWNLOADFILE/],
    ];
    for (const [method, params, code, text] of cases) assert.match(expectError(only(await run(id, method, params)), code).text, text, `${method} ${params}`);
    assert.equal(dbx.count(), before);
  });
});
