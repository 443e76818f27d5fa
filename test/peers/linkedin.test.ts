/**
 * The LinkedIn peer verifies what it claims, proven with plain fetch as an independent client: PKCE, single-use
 * codes, refresh (kept or rotated), 401s in LinkedIn's shape, OpenID userinfo, and the Posts API's headers,
 * author check and 201 with x-restli-id.
 */
import assert from 'node:assert/strict';
import { authorizeCode, pkce, startLinkedInPeer, type LinkedInPeer, type LinkedInPeerOptions } from './linkedin.js';

const CLIENT = { clientId: '86nori', clientSecret: 'nori-linkedin-secret', redirectUris: ['http://nori.test/oauth/callback'] };
const REDIRECT = CLIENT.redirectUris[0]!;
const SCOPE = 'openid profile email w_member_social';
interface Tokens { access_token: string; expires_in: number; scope: string; token_type: string; refresh_token?: string; refresh_token_expires_in?: number }

describe('LinkedIn peer', () => {
  let li: LinkedInPeer;
  /** Swaps in a peer with other options (afterEach closes whichever is current). */
  const start = async (options: Partial<LinkedInPeerOptions>) => {
    await li.close();
    li = await startLinkedInPeer({ clients: [CLIENT], ...options });
  };
  beforeEach(async () => {
    li = await startLinkedInPeer({ clients: [CLIENT] });
  });
  afterEach(() => li.close());

  const authorizeUrl = (challenge: string, scope = SCOPE) =>
    `${li.url}/oauth/v2/authorization?${new URLSearchParams({ response_type: 'code', client_id: CLIENT.clientId, redirect_uri: REDIRECT, state: 'st', scope, code_challenge: challenge, code_challenge_method: 'S256' })}`;
  const tokenCall = (form: Record<string, string>) =>
    fetch(`${li.url}/oauth/v2/accessToken`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, ...form }) });
  async function login(scope = SCOPE): Promise<Tokens> {
    const { verifier, challenge } = pkce();
    const code = new URL(await authorizeCode(authorizeUrl(challenge, scope))).searchParams.get('code')!;
    const res = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
    assert.equal(res.status, 200);
    return (await res.json()) as Tokens;
  }
  const refresh = async (refreshToken: string) => (await tokenCall({ grant_type: 'refresh_token', refresh_token: refreshToken })).json() as Promise<Tokens & { error?: string }>;
  const userinfo = (token: string) => fetch(`${li.url}/v2/userinfo`, { headers: { authorization: `Bearer ${token}` } });
  const post = (token: string, body: Record<string, unknown>, headers: Record<string, string> = { 'linkedin-version': '202601', 'x-restli-protocol-version': '2.0.0' }) =>
    fetch(`${li.url}/rest/posts`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const textPost = () => ({
    author: `urn:li:person:${li.member.sub}`, commentary: 'Hello from nori', visibility: 'PUBLIC',
    distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] }, lifecycleState: 'PUBLISHED', isReshareDisabledByAuthor: false,
  });

  it('issues 60-day tokens with comma-separated scopes and a 365-day refresh token', async () => {
    const tokens = await login();
    assert.equal(tokens.expires_in, 5_184_000);
    assert.equal(tokens.scope, 'openid,profile,email,w_member_social');
    assert.ok(tokens.refresh_token);
    assert.ok(tokens.refresh_token_expires_in! > 31_535_000 && tokens.refresh_token_expires_in! <= 31_536_000);
  });

  it('refuses a mismatched code_verifier, a replayed code, an unknown scope, and honours denyNext', async () => {
    const { verifier, challenge } = pkce();
    const code = new URL(await authorizeCode(authorizeUrl(challenge))).searchParams.get('code')!;
    const wrong = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: pkce().verifier });
    assert.deepEqual([wrong.status, ((await wrong.json()) as { error: string }).error], [400, 'invalid_grant']);
    assert.equal((await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier })).status, 200);
    const replay = await tokenCall({ grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier });
    assert.deepEqual([replay.status, ((await replay.json()) as { error: string }).error], [400, 'invalid_grant']);
    const badScope = new URL(await authorizeCode(authorizeUrl(challenge, 'openid r_liteprofile')));
    assert.equal(badScope.searchParams.get('error'), 'invalid_scope');
    li.denyNext();
    const denied = new URL(await authorizeCode(authorizeUrl(challenge)));
    assert.deepEqual([denied.searchParams.get('error'), denied.searchParams.get('state'), denied.searchParams.get('code')], ['access_denied', 'st', null]);
    assert.deepEqual(li.refusals, { invalid_grant: 2 });
  });

  it('keeps the refresh token across refreshes by default, its lifetime not reset', async () => {
    const first = await login();
    const next = await refresh(first.refresh_token!);
    assert.equal(next.refresh_token, first.refresh_token);
    assert.ok(next.refresh_token_expires_in! <= first.refresh_token_expires_in!);
    assert.notEqual(next.access_token, first.access_token);
    assert.equal((await refresh(first.refresh_token!)).error, undefined);
    assert.equal(li.grants.refresh_token, 2);
  });

  it('rotates refresh tokens when asked, and a replayed old one revokes the family', async () => {
    await start({ rotateRefreshTokens: true });
    const first = await login();
    const second = await refresh(first.refresh_token!);
    assert.notEqual(second.refresh_token, first.refresh_token);
    assert.equal((await refresh(first.refresh_token!)).error, 'invalid_grant');
    assert.equal((await refresh(second.refresh_token!)).error, 'invalid_grant', 'reuse detection killed the family');
    assert.equal((await userinfo(second.access_token)).status, 401);
  });

  it('answers 401 in LinkedIn shape for missing, invalid, expired and revoked tokens; a refresh recovers', async () => {
    const tokens = await login();
    const missing = await fetch(`${li.url}/v2/userinfo`);
    assert.deepEqual([missing.status, await missing.json()], [401, { serviceErrorCode: 401, message: 'Empty oauth2_access_token', status: 401 }]);
    const invalid = await userinfo('AQVnot-a-token');
    assert.deepEqual(await invalid.json(), { serviceErrorCode: 65600, message: 'Invalid access token', status: 401 });
    li.expireAll();
    const expired = await userinfo(tokens.access_token);
    assert.deepEqual([expired.status, ((await expired.json()) as { serviceErrorCode: number }).serviceErrorCode], [401, 65602]);
    const fresh = await refresh(tokens.refresh_token!);
    assert.equal((await userinfo(fresh.access_token)).status, 200);
    li.revoke(fresh.access_token);
    assert.equal(((await (await userinfo(fresh.access_token)).json()) as { serviceErrorCode: number }).serviceErrorCode, 65601);
  });

  it('answers userinfo with the OpenID claims the scopes allow', async () => {
    const full = await (await userinfo((await login()).access_token)).json();
    assert.deepEqual(full, { sub: li.member.sub, name: 'Ada Lovelace', given_name: 'Ada', family_name: 'Lovelace', picture: li.member.picture, locale: { country: 'GB', language: 'en' }, email: 'ada@example.org', email_verified: true });
    assert.deepEqual(await (await userinfo((await login('openid')).access_token)).json(), { sub: li.member.sub });
    assert.equal((await userinfo((await login('w_member_social')).access_token)).status, 403);
  });

  it('refuses a post without LinkedIn-Version, with a malformed or inactive one, or without the Rest.li header', async () => {
    await start({ activeVersions: ['202601'] });
    const { access_token } = await login();
    const none = await post(access_token, textPost(), { 'x-restli-protocol-version': '2.0.0' });
    assert.deepEqual([none.status, ((await none.json()) as { code: string }).code], [400, 'VERSION_MISSING']);
    assert.equal((await post(access_token, textPost(), { 'linkedin-version': '2026-01', 'x-restli-protocol-version': '2.0.0' })).status, 400);
    const old = await post(access_token, textPost(), { 'linkedin-version': '202401', 'x-restli-protocol-version': '2.0.0' });
    assert.deepEqual([old.status, await old.json()], [426, { status: 426, code: 'NONEXISTENT_VERSION', message: 'Requested version 202401 is not active' }]);
    assert.equal((await post(access_token, textPost(), { 'linkedin-version': '202601' })).status, 400);
    assert.equal(li.posts.length, 0);
  });

  it('refuses another author, a token without w_member_social and a body missing a required field', async () => {
    const { access_token } = await login();
    const other = await post(access_token, { ...textPost(), author: 'urn:li:person:someoneElse' });
    assert.deepEqual([other.status, ((await other.json()) as { code: string }).code], [403, 'ACCESS_DENIED']);
    assert.equal((await post((await login('openid profile')).access_token, textPost())).status, 403);
    const { visibility: _dropped, ...incomplete } = textPost();
    const invalid = await post(access_token, incomplete);
    assert.equal(invalid.status, 422);
    assert.match(((await invalid.json()) as { message: string }).message, /^ERROR :: \/visibility :: field is required/);
    assert.equal(li.posts.length, 0);
  });

  it('creates a post: 201, empty body, the share URN in x-restli-id, kept for inspection', async () => {
    const { access_token } = await login();
    const res = await post(access_token, textPost());
    assert.equal(res.status, 201);
    assert.equal(await res.text(), '');
    const id = res.headers.get('x-restli-id')!;
    assert.match(id, /^urn:li:share:\d{19}$/);
    assert.deepEqual(li.posts.map((p) => [p.id, p.version, p.body.commentary]), [[id, '202601', 'Hello from nori']]);
  });

  it('rateLimitNext answers LinkedIn 429 with Retry-After when given seconds', async () => {
    const { access_token } = await login();
    li.rateLimitNext(1, 30);
    const limited = await post(access_token, textPost());
    assert.deepEqual([limited.status, limited.headers.get('retry-after'), ((await limited.json()) as { code: string }).code], [429, '30', 'TOO_MANY_REQUESTS']);
    assert.equal((await post(access_token, textPost())).status, 201);
    assert.equal(li.count('/rest/posts'), 2);
  });
});
