/**
 * The Orange peer follows the privacy-consent steps of the transcribed document, proven with plain fetch and an
 * independent XML parser: the exception carries the XML-encoded privacy URL with the template's `familly`
 * spelling; each of the three choices has its defined effect on the following calls; the browser comes back to
 * urlRetour unchanged.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { DOMParser } from '@xmldom/xmldom';
import { startPeer, text } from './http-peer.js';
import { startOrangePeer, type Choice, type OrangePeer } from './orange.js';

const fixtures = new URL('../fixtures/orange/', import.meta.url);
const read = (name: string) => readFileSync(new URL(name, fixtures), 'utf8');
const index = JSON.parse(read('index.json')) as { steps: { n: number }[]; choices: { choice: Choice }[]; fixtures: { file: string; url?: string; returnUrl?: string }[] };
const RETURN_URL = index.fixtures.find((f) => f.returnUrl)!.returnUrl!;

/** The three elements of a PrivacyAccessDeniedException, read with a real XML parser (so &amp; is decoded). */
function parseDenied(text: string): { code: string; detail: string; url: string } {
  const doc = new DOMParser().parseFromString(text, 'text/xml');
  const el = (name: string) => doc.getElementsByTagName(name)[0]?.textContent ?? '';
  assert.equal(doc.documentElement?.nodeName, 'error');
  return { code: el('code'), detail: el('detail'), url: el('url') };
}

describe('Orange Personal API peer (privacy consent)', () => {
  let orange: OrangePeer;
  beforeEach(async () => {
    orange = await startOrangePeer();
  });
  afterEach(() => orange.close());

  const call = (token: string, family = 'contact') => fetch(orange.resources[family]!, { headers: { authorization: `Bearer ${token}` } });
  async function denied(token: string, family = 'contact') {
    const res = await call(token, family);
    const text = await res.text();
    assert.equal(res.status, 500, text);
    assert.match(res.headers.get('content-type') ?? '', /xml/);
    return { text, ...parseDenied(text) };
  }
  /** Steps 4-6 as a browser signed in as `userId`: the received URL plus urlRetour, then the user's choice. */
  async function choose(privacyUrl: string, userId: string, choice: Choice): Promise<Response> {
    const step4 = `${privacyUrl}&urlRetour=${encodeURIComponent(RETURN_URL)}`;
    return fetch(`${step4}&choice=${choice}`, { redirect: 'manual', headers: { cookie: orange.signIn(userId) } });
  }

  it('the fixtures: both spellings decode to the documented URLs, and the document describes 8 steps and 3 choices', () => {
    for (const f of index.fixtures.filter((x) => x.file.endsWith('.xml'))) {
      const text = read(f.file);
      assert.match(text, /&amp;serviceId=[^&]+&amp;attributes=/, `${f.file} is XML-encoded`);
      assert.deepEqual(parseDenied(text), { code: '-3', detail: 'PrivacyAccessDeniedException', url: f.url });
    }
    assert.equal(read('privacy-url.familly.txt').trim(), parseDenied(read('privacy-exception.familly.xml')).url);
    assert.equal(read('privacy-url-with-return.familly.txt').trim(), `${read('privacy-url.familly.txt').trim()}&urlRetour=${encodeURIComponent(RETURN_URL)}`);
    assert.deepEqual(index.steps.map((s) => s.n), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.deepEqual(index.choices.map((c) => c.choice), ['once', 'permanent', 'reject']);
  });

  it('answers an ungranted service with the exception, its URL XML-encoded, spelled familly, parameters in order', async () => {
    const got = await denied(orange.issueToken('alice'));
    // With the document's serviceId and family the whole answer is the fixture, on the peer's own host.
    assert.equal(got.text, read('privacy-exception.familly.xml').replace('http://privacy.orange.fr', orange.url));
    assert.ok(got.text.includes('&amp;serviceId=') && !/&(?!amp;)/.test(got.text), 'every & is encoded');
    assert.deepEqual([got.code, got.detail], ['-3', 'PrivacyAccessDeniedException']);
    const url = new URL(got.url);
    assert.equal(`${url.origin}${url.pathname}`, `${orange.url}/urm-gui/interaction.do`);
    assert.equal(url.search, '?familly=contact&serviceId=YOURSERVIC1234567890&attributes=,see');
    assert.deepEqual([...url.searchParams.keys()], ['familly', 'serviceId', 'attributes']);
    assert.equal(url.searchParams.has('family'), false);
    assert.equal(orange.consentOf('alice', 'contact'), 'none');
  });

  it('answers 401, not a consent exception, without a valid token', async () => {
    for (const headers of [{}, { authorization: 'Bearer nope' }] as Record<string, string>[]) {
      const res = await fetch(orange.resources.contact!, { headers });
      const text = await res.text();
      assert.equal(res.status, 401);
      assert.doesNotMatch(text, /PrivacyAccessDeniedException/);
    }
  });

  it('shows the three choices on the privacy page, in a form that carries the received parameters', async () => {
    const { url } = await denied(orange.issueToken('alice'));
    const page = await fetch(`${url}&urlRetour=${encodeURIComponent(RETURN_URL)}`, { headers: { cookie: orange.signIn('alice') } });
    const html = await page.text();
    assert.equal(page.status, 200);
    assert.deepEqual([...html.matchAll(/name="choice" value="(\w+)"/g)].map((m) => m[1]), ['once', 'permanent', 'reject']);
    assert.deepEqual([...html.matchAll(/type="hidden" name="(\w+)"/g)].map((m) => m[1]), ['familly', 'serviceId', 'attributes', 'urlRetour']);
    assert.ok(html.includes(`value="${RETURN_URL.replace(/&/g, '&amp;')}"`));
    assert.equal((await fetch(`${url}&urlRetour=x`)).status, 401, 'nobody signed in to Orange');
  });

  it('once: the next call succeeds one time, then the exception comes back', async () => {
    const token = orange.issueToken('alice');
    const back = await choose((await denied(token)).url, 'alice', 'once');
    assert.equal(back.status, 302);
    assert.equal(orange.consentOf('alice', 'contact'), 'once');
    const ok = await call(token);
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /^<\?xml[^>]*\?><contacts user="alice">/);
    await denied(token);
    assert.equal(orange.consentOf('alice', 'contact'), 'none');
  });

  it('permanent: every following call succeeds', async () => {
    const token = orange.issueToken('alice');
    assert.equal((await choose((await denied(token)).url, 'alice', 'permanent')).status, 302);
    for (let i = 0; i < 3; i++) assert.equal((await call(token)).status, 200);
    assert.deepEqual(orange.consents, [{ userId: 'alice', serviceId: 'YOURSERVIC1234567890', family: 'contact', state: 'permanent' }]);
  });

  it('reject: the calls keep answering the exception, until the user changes their mind', async () => {
    const token = orange.issueToken('alice');
    const { url } = await denied(token);
    assert.equal((await choose(url, 'alice', 'reject')).status, 302);
    for (let i = 0; i < 2; i++) assert.equal((await denied(token)).url, url);
    assert.equal(orange.consentOf('alice', 'contact'), 'rejected');
    await choose(url, 'alice', 'permanent');
    assert.equal((await call(token)).status, 200);
  });

  it('sends the browser back to urlRetour exactly as given, adding nothing', async () => {
    const { url } = await denied(orange.issueToken('alice'));
    for (const choice of index.choices.map((c) => c.choice)) {
      const res = await choose(url, 'alice', choice);
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), RETURN_URL);
    }
    assert.equal((await choose(url, 'alice', 'always' as Choice)).status, 400);
    // Followed by a real browser-like client, the service's return endpoint sees its own URL, byte for byte.
    const service = await startPeer(() => text(200, 'thanks'));
    try {
      const returnUrl = `${service.url}/webaccount/orange/return?account=42&step=consent&note=caf%C3%A9`;
      const landed = await fetch(`${url}&urlRetour=${encodeURIComponent(returnUrl)}&choice=once`, { headers: { cookie: orange.signIn('alice') } });
      assert.equal(landed.url, returnUrl);
      assert.deepEqual(service.requests.map((r) => r.url), [returnUrl]);
    } finally {
      await service.close();
    }
  });

  it('keeps consent per user, service and family', async () => {
    const alice = orange.issueToken('alice');
    await choose((await denied(alice)).url, 'alice', 'permanent');
    assert.equal((await call(alice)).status, 200);
    const profile = await denied(alice, 'profile');
    assert.equal(new URL(profile.url).searchParams.get('familly'), 'profile');
    await denied(orange.issueToken('bob'));
    const other = await denied(orange.issueToken('alice', 'OTHERSERVICE00000000'));
    assert.equal(new URL(other.url).searchParams.get('serviceId'), 'OTHERSERVICE00000000');
    assert.equal(orange.count('/personal/'), 5);
  });

  it('reads only the spelling it sends; the document\'s example spelling and another status are options', async () => {
    const { url } = await denied(orange.issueToken('alice'));
    const respelled = await fetch(`${url.replace('familly=', 'family=')}&urlRetour=x&choice=once`, { redirect: 'manual', headers: { cookie: orange.signIn('alice') } });
    assert.equal(respelled.status, 400);
    assert.match(await respelled.text(), /got 'family'/);
    await orange.close();
    orange = await startOrangePeer({ familyParam: 'family', deniedStatus: 403 });
    const res = await call(orange.issueToken('alice'));
    assert.equal(res.status, 403);
    assert.equal(parseDenied(await res.text()).url, read('privacy-exception.example-family.xml').match(/<url>(.*)<\/url>/)![1]!.replace(/&amp;/g, '&').replace('http://privacy.orange.fr', orange.url));
  });
});
