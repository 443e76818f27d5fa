/**
 * The RooX peer answers what the transcribed document shows, proven with plain fetch: each fixture request gets
 * the fixture's status, headers and (repaired) body; the header set is on every answer, errors included; tokens
 * may come from a real OAuth server through introspection.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { authorizeHeadlessly, startOAuth2Provider } from './oauth2-provider.js';
import { authorizeCode, pkce } from './oauth2-server.js';
import { JMS_ERROR, startRooxPeer, type ApiVersion, type Introspection, type PartnerMapping, type RooxPeer } from './roox.js';

interface Repair { line: number; kind: 'trailing-comma' | 'missing-comma' | 'callout-marker'; before: string; after: string }
interface Entry {
  name: string;
  verbatim: string;
  verbatimBody?: { from: number; to: number };
  request: { method: string; path: string; headers: Record<string, string> };
  response: { status: number; headers: Record<string, string>; body: string | null };
  repairs?: Repair[];
  peer: { customerId: string; path?: string; apiVersion?: ApiVersion; seedMappingId?: number; failNext400?: boolean };
}

const fixtures = new URL('../fixtures/roox/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, fixtures), 'utf8');
const index = JSON.parse(read('index.json')) as Entry[];
const DOC_TOKEN = 'AQIC5wM2LY...';
/** The first example shows the full header set; the others omit "insignificant" headers, yet the peer sends them. */
const FULL_SET = index.find((e) => e.name === 'customer')!.response.headers;
/** Headers whose documented value cannot be replayed; each is checked for its shape instead. */
const SHAPE: Record<string, (value: string, body: string) => boolean> = {
  date: (v) => !Number.isNaN(Date.parse(v)),
  'content-length': (v, body) => Number(v) === Buffer.byteLength(body),
  'x-context-id': (v) => /^[A-Z0-9]{14}$/.test(v),
};

function assertDocumentedHeaders(res: Response, body: string, documented: Record<string, string>) {
  for (const [name, value] of Object.entries({ ...FULL_SET, ...documented })) {
    const got = res.headers.get(name);
    assert.ok(got !== null, `${name} missing`);
    const shape = SHAPE[name.toLowerCase()];
    if (shape) assert.ok(shape(got, body), `${name}: ${got}`);
    else assert.equal(got, value, name);
  }
}

describe('RooX Federation WebAPI peer', () => {
  let peer: RooxPeer | undefined;
  afterEach(async () => {
    await peer?.close();
    peer = undefined;
  });
  const get = (path: string, token?: string) => fetch(`${peer!.url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });

  it('the listed repairs, and only they, turn each verbatim body into its JSON fixture', () => {
    for (const entry of index.filter((e) => e.verbatimBody)) {
      const lines = read(entry.verbatim).split('\n');
      for (const r of entry.repairs ?? []) {
        assert.equal(lines[r.line - 1], r.before, `${entry.name} line ${r.line}`);
        lines[r.line - 1] = r.after;
      }
      const body = lines.slice(entry.verbatimBody!.from - 1, entry.verbatimBody!.to).join('\n');
      assert.equal(`${body}\n`, read(entry.response.body!), entry.name);
      assert.throws(() => JSON.parse(read(entry.verbatim).split('\n').slice(entry.verbatimBody!.from - 1, entry.verbatimBody!.to).join('\n')), SyntaxError, `${entry.name}: the verbatim text is not JSON`);
    }
  });

  for (const entry of index) {
    it(`replays the document's ${entry.name} example`, async () => {
      const { customerId, path, apiVersion, seedMappingId, failNext400 } = entry.peer;
      peer = await startRooxPeer({ apiVersion: apiVersion ?? 'webapi-1.0', tokens: { [DOC_TOKEN]: customerId } });
      if (seedMappingId) peer.addMapping({ ...peer.mappings(customerId)[0]!, id: seedMappingId });
      if (failNext400) peer.failNext400();
      // fetch sets Host itself; the document's {{sso_host}} is a template placeholder anyway.
      const headers = Object.fromEntries(Object.entries(entry.request.headers).filter(([k]) => k.toLowerCase() !== 'host'));
      const res = await fetch(`${peer.url}${path ?? entry.request.path}`, { method: entry.request.method, headers });
      const body = await res.text();
      assert.equal(res.status, entry.response.status, body);
      assertDocumentedHeaders(res, body, entry.response.headers);
      if (entry.response.body === null) assert.equal(body, '');
      else assert.deepEqual(JSON.parse(body), JSON.parse(read(entry.response.body)));
    });
  }

  it('gives every answer, errors included, a fresh X-Context-Id', async () => {
    peer = await startRooxPeer();
    const token = peer.issueToken('9165711402');
    const answers = [await get('/webapi-1.0/customers/@me', token), await get('/webapi-1.0/customers/@me', token), await get('/webapi-1.0/customers/@me'), await get('/webapi-1.0/nowhere', token)];
    assert.deepEqual(answers.map((r) => r.status), [200, 200, 401, 404]);
    for (const r of answers) assertDocumentedHeaders(r, await r.text(), {});
    const ids = answers.map((r) => r.headers.get('x-context-id'));
    assert.equal(new Set(ids).size, ids.length, ids.join());
  });

  it('switches X-API-Maturity per route and keeps stable elsewhere', async () => {
    peer = await startRooxPeer();
    const token = peer.issueToken('9165711402');
    peer.setMaturity('partnerMappingsAlias', 'deprecated');
    peer.setMaturity('customer', 'experimental');
    const maturity = async (path: string) => (await get(path, token)).headers.get('x-api-maturity');
    assert.equal(await maturity('/webapi-1.0/api/customer/@me/partnerMappings'), 'deprecated');
    assert.equal(await maturity('/webapi-1.0/customers/@me'), 'experimental');
    assert.equal(await maturity('/webapi-1.0/customers/@me/partnerMappings'), 'stable');
    peer.setMaturity('customer', 'stable');
    assert.equal(await maturity('/webapi-1.0/customers/@me'), 'stable');
  });

  it('answers 401 without a token, with an unknown or revoked one, and with another scheme', async () => {
    peer = await startRooxPeer();
    const token = peer.issueToken('9165711402');
    assert.equal((await get('/webapi-1.0/customers/@me/partnerMappings', token)).status, 200);
    peer.revokeToken(token);
    for (const init of [{}, { authorization: `Bearer ${token}` }, { authorization: 'Bearer AQIC5wM2LYunknown' }, { authorization: 'Basic dTpw' }] as Record<string, string>[]) {
      const res: Response = await fetch(`${peer.url}/webapi-1.0/customers/@me/partnerMappings`, { headers: init });
      const body = await res.text();
      assert.equal(res.status, 401);
      assertDocumentedHeaders(res, body, {});
      assert.deepEqual(JSON.parse(body), { error: { code: 401, message: 'The user is not authenticated' } });
    }
  });

  it('lists the caller\'s own mappings under @me, its own id and the alias; another id is 403, so is the Cyrillic "@mе"', async () => {
    peer = await startRooxPeer();
    const token = peer.issueToken('9165711402');
    const expected = JSON.parse(read('partner-mappings.json')) as PartnerMapping[];
    for (const path of ['customers/@me/partnerMappings', 'customers/9165711402/partnerMappings', 'api/customer/@me/partnerMappings', 'customers/%40me/partnerMappings']) {
      const res = await get(`/webapi-1.0/${path}`, token);
      assert.deepEqual(await res.json(), expected, path);
    }
    assert.equal((await get('/webapi-1.0/customers/1000000000/partnerMappings', token)).status, 403);
    assert.equal((await get(`/webapi-1.0/customers/${encodeURIComponent('@m\u0435')}/partnerMappings`, token)).status, 403);
    assert.deepEqual(await (await get('/webapi-1.0/customers/@me/partnerMappings', peer.issueToken('1000000000'))).json(), []);
    assert.equal((await get('/webapi-1.1/customers/@me/partnerMappings', token)).status, 404, 'another API version');
  });

  it('leaves optional ExternalUser fields out of mapping 834665 instead of sending them empty', async () => {
    peer = await startRooxPeer();
    const list = (await (await get('/webapi-1.0/customers/@me/partnerMappings', peer.issueToken('9165711402'))).json()) as PartnerMapping[];
    const sparse = list.find((m) => m.id === 834665)!.externalUser;
    assert.equal('middleName' in sparse, false);
    assert.equal('avatarSmallUrl' in sparse, false);
    assert.deepEqual(Object.keys(sparse), ['userId', 'firstName', 'lastName', 'fullName', 'avatarUrl']);
    assert.equal(list.find((m) => m.id === 839672)!.externalUser.middleName, '', 'present but empty in the other one');
  });

  it('deletes the caller\'s own mapping (200, no body) under both paths; unknown is 404, someone else\'s 403', async () => {
    peer = await startRooxPeer();
    peer.addMapping({ id: 777, type: 'social', customerId: '1000000000', partnerId: 'liveid', externalUser: { userId: 'x' }, created: '2016-02-01T10:00:00+04:00' });
    const token = peer.issueToken('9165711402');
    const del = (path: string) => fetch(`${peer!.url}/webapi-1.0/${path}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    const ok = await del('partnerMappings/839672');
    assert.equal(ok.status, 200);
    assert.equal(await ok.text(), '');
    assert.equal(ok.headers.get('content-length'), '0');
    assert.equal((await del('partnerMappings/839672')).status, 404, 'already gone');
    assert.equal((await del('socialUserMapping/777')).status, 403);
    assert.equal((await del('socialUserMapping/834665')).status, 200);
    assert.deepEqual(peer.mappings('9165711402'), []);
    assert.equal(peer.mappings('1000000000').length, 1);
  });

  it('answers the document\'s 400 JMS error intact after failNext400, then serves again', async () => {
    peer = await startRooxPeer();
    const token = peer.issueToken('9165711402');
    peer.failNext400();
    const res = await get('/webapi-1.0/customers/@me/partnerMappings', token);
    const body = await res.text();
    assert.equal(res.status, 400);
    assertDocumentedHeaders(res, body, {});
    assert.deepEqual(JSON.parse(body), { error: { code: -1001, message: 'JMS', data: 'javax.xml.ws.soap.SOAPFaultException: Could not send Message' } });
    assert.deepEqual(JSON.parse(body), JSON.parse(read('error-400-jms.json')));
    assert.deepEqual(JMS_ERROR, JSON.parse(body).error);
    assert.equal((await get('/webapi-1.0/customers/@me/partnerMappings', token)).status, 200);
  });

  it('rate-limits the next calls with 429 and Retry-After, and fails with other base errors on demand', async () => {
    peer = await startRooxPeer();
    const token = peer.issueToken('9165711402');
    peer.rateLimitNext(2, 30);
    peer.failNext(500);
    const statuses: (number | string | null)[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await get('/webapi-1.0/customers/@me/partnerMappings', token);
      assertDocumentedHeaders(res, await res.text(), {});
      statuses.push(res.status, res.headers.get('retry-after'));
    }
    assert.deepEqual(statuses, [429, '30', 429, '30', 500, null, 200, null]);
    assert.equal(peer.count('/webapi-1.0/'), 4, 'every request is logged, faulted ones too');
  });

  it('accepts tokens of a real OAuth server (oidc-provider) through introspection, and refuses them once revoked', async function () {
    this.timeout(60_000);
    const client = { clientId: 'roox-rp', clientSecret: 'roox-rp-secret-0123456789abcdef0123', redirectUris: ['http://rp.test/callback'] };
    const op = await startOAuth2Provider(client);
    try {
      const basic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
      const form = (url: string, body: Record<string, string>) => fetch(url, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
      const { verifier, challenge } = pkce();
      const authorize = `${op.authorizeUrl}?${new URLSearchParams({ client_id: client.clientId, redirect_uri: client.redirectUris[0]!, response_type: 'code', scope: 'openid', state: 's', code_challenge: challenge, code_challenge_method: 'S256' })}`;
      const code = new URL(await authorizeHeadlessly(authorize, client.redirectUris[0]!, { login: '9165711402' })).searchParams.get('code')!;
      const tokens = (await (await form(op.tokenUrl, { grant_type: 'authorization_code', code, redirect_uri: client.redirectUris[0]!, code_verifier: verifier })).json()) as { access_token: string };
      const introspect = async (token: string) => (await (await form(`${op.issuer}/token/introspection`, { token })).json()) as Introspection;
      peer = await startRooxPeer({ introspect });
      const res = await get('/webapi-1.0/customers/@me/partnerMappings', tokens.access_token);
      assert.equal(res.status, 200);
      assert.deepEqual(((await res.json()) as PartnerMapping[]).map((m) => m.id), [839672, 834665]);
      assert.equal((await form(op.revokeUrl, { token: tokens.access_token })).status, 200);
      assert.equal((await get('/webapi-1.0/customers/@me/partnerMappings', tokens.access_token)).status, 401);
    } finally {
      await op.close();
    }
  });

  it('plays the UIDM itself: no default scope (invalid_scope without one, RFC 6749 §3.3), the grant it is told, tokens the WebAPI accepts', async () => {
    const client = { clientId: 'roox-rp', clientSecret: 'roox-rp-secret-0123456789abcdef0123', redirectUris: ['http://rp.test/callback'] };
    peer = await startRooxPeer({ uidm: { client, customerId: '9165711402', grant: (asked) => asked.filter((s) => s !== 'profile') } });
    const uidm = peer.uidm!;
    assert.equal(uidm.authorizeUrl, `${peer.url}/sso/oauth2/authorize`);
    const { verifier, challenge } = pkce();
    const authorize = (scope?: string) => authorizeCode(`${uidm.authorizeUrl}?${new URLSearchParams({ client_id: client.clientId, redirect_uri: client.redirectUris[0]!, response_type: 'code', state: 's', code_challenge: challenge, code_challenge_method: 'S256', ...(scope === undefined ? {} : { scope }) })}`);
    const none = new URL(await authorize()).searchParams;
    assert.deepEqual([none.get('error'), none.get('error_description'), none.get('state')], ['invalid_scope', 'scope is required', 's']);
    assert.equal(new URL(await authorize('openid federation')).searchParams.get('error'), 'invalid_scope');
    uidm.denyNext();
    assert.equal(new URL(await authorize('openid')).searchParams.get('error'), 'access_denied');
    const code = new URL(await authorize('openid profile')).searchParams.get('code')!;
    const basic = `Basic ${Buffer.from(`${client.clientId}:${client.clientSecret}`).toString('base64')}`;
    const res = await fetch(uidm.tokenUrl, { method: 'POST', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client.redirectUris[0]!, code_verifier: verifier }) });
    const tokens = (await res.json()) as { access_token: string; scope: string; refresh_token: string };
    assert.equal(tokens.scope, 'openid', 'granted as told, not as asked');
    assert.ok(tokens.refresh_token);
    const mappings = await get('/webapi-1.0/customers/@me/partnerMappings', tokens.access_token);
    assert.equal(mappings.status, 200);
    assert.deepEqual(((await mappings.json()) as PartnerMapping[]).map((m) => m.id), [839672, 834665]);
    assert.equal((await get('/webapi-1.0/customers/@me', 'AQIC5wM2LYnot-issued')).status, 401);
  });
});
