/**
 * The whole OAuth 2.0 flow in a real browser: headless Chromium (test/helpers/chromium.ts: Debian's where it is
 * installed, else the one npm installs; driven by playwright-core) follows nori's start link (which sets its
 * binding cookie), signs in on oidc-provider's own login page, consents on its consent page, comes back through
 * nori's real `/oauth/callback` and ends on the CMS's return page; and a victim's Chromium, handed the provider
 * URL of an attacker's flow, gets nothing onto the attacker's account.
 * Everything an integrator does goes over nori's HTTP API.
 * A missing Chromium fails the suite (never skips), saying how to get one.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { DOMParser } from '@xmldom/xmldom';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { Engine } from '../../src/engine.js';
import { Agent } from '../helpers/agent.js';
import { launchChromium } from '../helpers/chromium.js';
import { makeEngine } from '../helpers/engine.js';
import { startServer, type RunningServer } from '../helpers/server.js';
import { expectOk, only, q } from '../helpers/xml.js';
import { startOAuth2Provider } from '../peers/oauth2-provider.js';

const CLIENT_SECRET = 'nori-client-secret-0123456789abcdef';

/** A port free right now on 127.0.0.1: nori must know its public URL before the provider registers it. */
async function freePort(): Promise<number> {
  const probe = createNetServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

/** The CMS: answers every GET with a page showing its query string, and remembers what it was asked. */
async function startCms(): Promise<{ origin: string; seen: string[]; close(): Promise<void> }> {
  const seen: string[] = [];
  const server: Server = createHttpServer((req, res) => {
    seen.push(req.url ?? '');
    const query = (req.url ?? '').split('?')[1] ?? '';
    const text = query.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>CMS</title></head><body><h1>Back in the CMS</h1><p id="query">${text}</p></body></html>`);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('OAuth 2.0 in a real browser (Chromium: provider login and consent, nori callback, CMS return page)', function () {
  this.timeout(90_000);
  let cms: Awaited<ReturnType<typeof startCms>> | undefined;
  let op: Awaited<ReturnType<typeof startOAuth2Provider>> | undefined;
  let engine: Engine | undefined;
  let nori: RunningServer | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext | undefined;
  let adminKey: string;
  let aliceKey: string;
  let carolKey: string;

  /** POSTs one batch to nori as an integrator would; returns the RESPONSE document. */
  async function batch(key: string, ...commands: string[]): Promise<string> {
    const res = await fetch(`${nori!.url}/`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, body: q(...commands) });
    const xml = await res.text();
    assert.equal(res.status, 200, xml);
    return xml;
  }

  before(async () => {
    const launched = await launchChromium();
    browser = launched.browser;
    console.log(`      Chromium ${browser.version()} from ${launched.binary.source}`);

    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    cms = await startCms();
    op = await startOAuth2Provider({ clientId: 'nori', clientSecret: CLIENT_SECRET, redirectUris: [`${publicUrl}/oauth/callback`] });
    engine = await makeEngine({ authorization: { publicUrl, returnUrls: [`${cms.origin}/accounts/`] } });
    nori = await startServer(engine, undefined, port);
    assert.equal(nori.url, publicUrl);
    adminKey = (await engine.keys.create({ contactId: 1, groups: [], admin: true })).key;
    aliceKey = (await engine.keys.create({ contactId: 2, groups: [], admin: false })).key;
    carolKey = (await engine.keys.create({ contactId: 4, groups: [], admin: false })).key;
    expectOk(only(await batch(adminKey, `<CREATE><WEBAPI><INFO><DENOMINATION>op</DENOMINATION><AUTH_TYPE>oauth2</AUTH_TYPE><CLIENT_ID>nori</CLIENT_ID><CLIENT_SECRET>${CLIENT_SECRET}</CLIENT_SECRET><AUTHORIZE_URL>${op!.authorizeUrl}</AUTHORIZE_URL><TOKEN_URL>${op!.tokenUrl}</TOKEN_URL><REVOKE_URL>${op!.revokeUrl}</REVOKE_URL><SCOPES>openid offline_access</SCOPES></INFO></WEBAPI></CREATE>`)));
  });

  /** A fresh Chromium profile (its own cookie jar) that reaches nothing outside 127.0.0.1. */
  async function newContext(): Promise<BrowserContext> {
    const c = await browser!.newContext();
    // The provider's pages @import a web font from Google: such requests are refused.
    await c.route('**/*', (route) => (new URL(route.request().url()).hostname === '127.0.0.1' ? route.continue() : route.abort('blockedbyclient')));
    return c;
  }

  /** oidc-provider's devInteractions pages: sign in as `login` (any password), then consent. */
  async function signInAndConsent(page: Page, login: string): Promise<void> {
    const form = page.locator('form:has(input[name="prompt"][value="login"])');
    await form.waitFor();
    assert.equal(await page.locator('h1').textContent(), 'Sign-in');
    await form.locator('input[name="login"]').fill(login);
    await form.locator('input[name="password"]').fill('any password');
    await form.locator('button[type="submit"]').click();
    const consent = page.locator('form:has(input[name="prompt"][value="consent"])');
    await consent.waitFor();
    assert.equal(await page.locator('h1').textContent(), 'Authorize');
    await consent.locator('button[type="submit"]').click();
  }

  after(async () => {
    await context?.close();
    await browser?.close();
    await nori?.close();
    await engine?.close();
    await op?.close();
    await cms?.close();
  });

  it('follows the start link, signs in and consents at the provider, passes through /oauth/callback and lands authorized on the return page', async () => {
    const created = expectOk(only(await batch(aliceKey, '<CREATE><WEBACCOUNT><INFO><DENOMINATION>My op account</DENOMINATION><API>op</API></INFO></WEBACCOUNT></CREATE>')));
    const id = Number(created.attrs.elementID);
    assert.ok(id > 0, JSON.stringify(created));
    const returnUrl = `${cms!.origin}/accounts/done`;
    const start = expectOk(only(await batch(aliceKey, `<AUTHORIZE><WEBACCOUNT ID="${id}"><RETURN_URL>${returnUrl}</RETURN_URL></WEBACCOUNT></AUTHORIZE>`)));
    const startLink = start.attrs.url!;
    assert.ok(startLink.startsWith(`${nori!.url}/oauth/start?flow=`), `AUTHORIZE gives nori's start link: ${startLink}`);

    context = await newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(20_000);
    const requested: string[] = [];
    const callbackStatuses: number[] = [];
    const startStatuses: number[] = [];
    page.on('request', (r) => requested.push(r.url()));
    page.on('response', (r) => {
      if (r.url().startsWith(`${nori!.url}/oauth/callback?`)) callbackStatuses.push(r.status());
      if (r.url().startsWith(`${nori!.url}/oauth/start?`)) startStatuses.push(r.status());
    });

    await page.goto(startLink);
    // The start link answered 303 to the provider and left its binding cookie, as Chromium stored it.
    assert.deepEqual(startStatuses, [303]);
    const [cookie, ...others] = await context.cookies(nori!.url + '/oauth/callback');
    assert.equal(others.length, 0);
    assert.equal(cookie?.name, 'nori_flow');
    assert.match(cookie!.value, /^[\w-]{43}$/);
    assert.deepEqual([cookie!.path, cookie!.httpOnly, cookie!.sameSite, cookie!.secure], ['/oauth/', true, 'Lax', false]);
    assert.ok(Math.abs(cookie!.expires - (Date.now() / 1000 + 600)) < 30, `expires with the flow, in 600 s: ${cookie!.expires}`);
    assert.deepEqual(await context.cookies(`${nori!.url}/`), [], 'scoped to /oauth/: not sent to the batch endpoint');
    await signInAndConsent(page, 'alice');
    await page.waitForURL((url) => url.origin === cms!.origin && url.pathname === '/accounts/done');

    const landed = new URL(page.url());
    assert.equal(`${landed.origin}${landed.pathname}`, returnUrl);
    assert.equal(landed.search, `?webaccount=${id}&outcome=authorized`);
    assert.equal(await page.locator('#query').textContent(), `webaccount=${id}&outcome=authorized`, 'the CMS page rendered');
    assert.deepEqual(cms!.seen, [`/accounts/done?webaccount=${id}&outcome=authorized`], 'the CMS received the return request once');

    const callbacks = requested.filter((u) => u.startsWith(`${nori!.url}/oauth/callback?`));
    assert.equal(callbacks.length, 1, `the browser went through nori's callback once: ${requested.join('\n')}`);
    assert.deepEqual(callbackStatuses, [303], 'nori answered the callback with a 303 to the return URL');
    const callback = new URL(callbacks[0]!);
    assert.ok(callback.searchParams.get('code'), 'the provider sent a code to nori');
    assert.ok(callback.searchParams.get('state'), 'with nori\'s state');
    // In order: nori's start link, the provider's pages, then nori's callback, then the CMS.
    const steps = [`${nori!.url}/oauth/start?`, `${op!.issuer}/interaction/`, `${nori!.url}/oauth/callback?`, `${returnUrl}?`].map((prefix) => requested.findIndex((u) => u.startsWith(prefix)));
    assert.ok(steps[0] === 0 && steps[0] < steps[1]! && steps[1]! < steps[2]! && steps[2]! < steps[3]!, `start link, provider pages, callback, return page in that order: ${requested.join('\n')}`);

    const state = only(await batch(aliceKey, `<GET><WEBACCOUNT ID="${id}"><RETURN><INFO><AUTHORIZATION_STATE/></INFO></RETURN></WEBACCOUNT></GET>`));
    assert.equal(state.tag, 'RESULTS', JSON.stringify(state));
    assert.equal(state.elements[0]?.fields.AUTHORIZATION_STATE, 'authorized');

    const historyXml = await batch(aliceKey, `<GET><WEBACCOUNT ID="${id}"><RETURN><HISTORY/></RETURN></WEBACCOUNT></GET>`);
    const doc = new DOMParser().parseFromString(historyXml, 'text/xml');
    const transitions = Array.from(doc.getElementsByTagName('TRANSITION')).map((t) => ({
      from: t.getAttribute('from'), to: t.getAttribute('to'), event: t.getAttribute('event'), contactID: t.getAttribute('contactID'),
    }));
    assert.deepEqual(transitions, [
      { from: 'waiting', to: 'requested', event: 'request', contactID: '2' },
      { from: 'requested', to: 'authorized', event: 'grant', contactID: null },
    ], historyXml);

    assert.equal(op!.grants.authorization_code, 1, 'nori exchanged the code at the token endpoint once');
  });
  it('a victim\'s Chromium handed the provider URL of an attacker\'s flow signs in and consents, and gets nothing onto the attacker\'s account', async () => {
    const created = expectOk(only(await batch(carolKey, '<CREATE><WEBACCOUNT><INFO><DENOMINATION>Carol\'s op account</DENOMINATION><API>op</API></INFO></WEBACCOUNT></CREATE>')));
    const id = Number(created.attrs.elementID);
    const start = expectOk(only(await batch(carolKey, `<AUTHORIZE><WEBACCOUNT ID="${id}"><RETURN_URL>${cms!.origin}/accounts/done</RETURN_URL></WEBACCOUNT></AUTHORIZE>`)));
    // The attacker follows the start link without a real browser, keeping the provider URL it leads to.
    const providerUrl = (await new Agent().request(start.attrs.url!)).location!;
    assert.ok(providerUrl.startsWith(`${op!.authorizeUrl}?`), providerUrl);
    const exchanges = op!.grants.authorization_code ?? 0;
    const seen = cms!.seen.length;

    const victim = await newContext();
    try {
      const page = await victim.newPage();
      page.setDefaultTimeout(20_000);
      const callbackStatuses: number[] = [];
      page.on('response', (r) => {
        if (r.url().startsWith(`${nori!.url}/oauth/callback?`)) callbackStatuses.push(r.status());
      });
      await page.goto(providerUrl);
      await signInAndConsent(page, 'victim');
      await page.waitForURL((url) => url.href.startsWith(`${nori!.url}/oauth/callback?`));
      await page.locator('#code').waitFor();
      assert.equal(await page.locator('#code').textContent(), 'CALLBACK_UNBOUND');
      assert.match((await page.locator('#message').textContent())!, /did not come from the browser that started the authorization/);
      assert.deepEqual(callbackStatuses, [403]);
      // The start link, tried in the victim's browser too, has been used.
      await page.goto(start.attrs.url!);
      assert.equal(await page.locator('#code').textContent(), 'START_USED');
    } finally {
      await victim.close();
    }
    assert.equal(op!.grants.authorization_code ?? 0, exchanges, 'the victim\'s code was never exchanged');
    assert.equal(cms!.seen.length, seen, 'the victim was not sent to the attacker\'s return URL');
    const state = only(await batch(carolKey, `<GET><WEBACCOUNT ID="${id}"><RETURN><INFO><AUTHORIZATION_STATE/></INFO></RETURN></WEBACCOUNT></GET>`));
    assert.equal(state.elements[0]?.fields.AUTHORIZATION_STATE, 'requested', 'no tokens: the account still waits for its own browser');
  });
});
