/**
 * The scrubber (src/scrub.ts) as a table: each secret, in each form a provider may echo it, is gone from the
 * text; the text around it stays. What reaches the sinks end to end is test/security/echoing-provider.test.ts.
 */
import assert from 'node:assert/strict';
import { clip, MIN_SECRET_LENGTH, REDACTED, safe, scrubberFor, type Scrubbed } from '../src/scrub.js';

const ID = 'nori app/1';
const SECRET = "s3cr3t+/=!'()* é~";
const TOKEN = 'ya29.a0AfH6SMB-token_value~1';
const VERIFIER = 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk';
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** [how the provider wrote it back, the text it wrote] */
const ECHOES: readonly [string, string][] = [
  ['as sent', TOKEN],
  ['in a header echo', `Authorization: Bearer ${TOKEN}`],
  ['percent-encoded', encodeURIComponent(SECRET)],
  ['percent-encoded, lower-case hex', encodeURIComponent(SECRET).replace(/%[0-9A-F]{2}/g, (h) => h.toLowerCase())],
  ['form-encoded (URLSearchParams)', new URLSearchParams({ client_secret: SECRET }).toString()],
  ['form-encoded twice', encodeURIComponent(encodeURIComponent(SECRET))],
  ['JSON-escaped', JSON.stringify({ echo: SECRET })],
  ['JSON-escaped with \\/', JSON.stringify({ echo: SECRET }).replace(/\//g, '\\/')],
  ['JSON-escaped as ASCII', JSON.stringify({ echo: SECRET }).replace(/é/g, '\\u00e9')],
  ['XML-escaped', `<echo>${SECRET.replace(/'/g, '&apos;')}</echo>`],
  ['base64', b64(SECRET)],
  ['base64 without padding', b64(TOKEN).slice(0, b64(TOKEN).indexOf('=') >>> 0)],
  ['base64url', Buffer.from(VERIFIER).toString('base64url')],
  ['Basic, urlencoded id and secret (RFC 6749 §2.3.1)', `Basic ${b64(`${encodeURIComponent(ID)}:${encodeURIComponent(SECRET)}`)}`],
  ['Basic, as simple-oauth2 encodes (+ for space, !\'()* escaped)', `Basic ${b64(`nori+app%2F1:${encodeURIComponent(SECRET).replace(/%20/g, '+').replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`)}`],
  ['Basic, plain id and secret', `Basic ${b64(`${ID}:${SECRET}`)}`],
  ['Basic, percent-encoded in a JSON echo of the query', JSON.stringify({ q: encodeURIComponent(`Basic ${b64(`${ID}:${SECRET}`)}`) })],
  ['the PKCE verifier in a form body', `grant_type=authorization_code&code_verifier=${VERIFIER}&code=abc`],
];

describe('scrubbing provider text', () => {
  const scrubber = scrubberFor({ values: [TOKEN, VERIFIER, SECRET], basic: { id: ID, secret: SECRET } });

  for (const [how, text] of ECHOES) {
    it(`takes out a secret ${how}`, () => {
      const out = scrubber.scrub(`before ${text} after`);
      assert.ok(out.startsWith('before ') && out.endsWith(' after'), out);
      assert.ok(out.includes(REDACTED), out);
      for (const secret of [TOKEN, VERIFIER, SECRET, encodeURIComponent(SECRET), b64(SECRET)]) assert.ok(!out.includes(secret), `${how}: ${out}`);
    });
  }

  it('leaves text without secrets as it is, and values shorter than the minimum alone', () => {
    assert.equal(scrubber.scrub('invalid_grant: the code expired'), 'invalid_grant: the code expired');
    const short = 'x'.repeat(MIN_SECRET_LENGTH - 1);
    assert.equal(scrubberFor({ values: [short, null, undefined, ''] }).scrub(`a ${short} b`), `a ${short} b`);
  });

  it('takes out a refreshed token once it is added, the old ones still', () => {
    const renewed = scrubber.with({ values: ['fresh-token-2'] });
    assert.equal(renewed.scrub(`fresh-token-2 ${TOKEN}`), `${REDACTED} ${REDACTED}`);
    assert.equal(scrubber.scrub('fresh-token-2'), 'fresh-token-2');
  });

  it('scrubs every string of a value, keeps its shape, leaves bytes and shared branches whole', () => {
    const shared = { t: TOKEN };
    const bytes = Buffer.from(TOKEN);
    const value = { a: [TOKEN, 1, true, null], b: { c: `x${TOKEN}` }, bytes, one: shared, two: shared };
    assert.deepEqual(scrubber.scrubValue(value), { a: [REDACTED, 1, true, null], b: { c: `x${REDACTED}` }, bytes, one: { t: REDACTED }, two: { t: REDACTED } });
    const loop: Record<string, unknown> = { t: TOKEN };
    loop.self = loop;
    assert.deepEqual(scrubber.scrubValue(loop), { t: REDACTED, self: '[circular]' });
    assert.deepEqual(scrubber.scrubValue({ err: Object.assign(new Error(`bad ${TOKEN}`), { code: 'E1' }) }), { err: { type: 'Error', message: `bad ${REDACTED}`, code: 'E1' } });
  });

  it('nori\'s own text: constants with numbers and scrubbed parts, cut with a marker', () => {
    const part = scrubber.scrub(`refused ${TOKEN}`);
    assert.equal(safe`HTTP ${401}: ${part}`, `HTTP 401: refused ${REDACTED}`);
    assert.equal(clip(safe`abcdef`, 3), 'abc…');
    // Raw text does not type as Scrubbed: the sinks refuse it at compile time (npx tsc checks this file too).
    // @ts-expect-error a plain string is not Scrubbed
    const raw: Scrubbed = `refused ${TOKEN}`;
    // @ts-expect-error safe takes no plain string substitution
    assert.ok(safe`refused ${String(raw)}`);
  });
});
