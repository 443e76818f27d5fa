/**
 * The binding's small parts as data tables: the cookie nori sets for each public URL, the values read back from
 * Cookie headers, and the constant-time comparison (test/security/browser-binding.test.ts has the flows).
 */
import assert from 'node:assert/strict';
import { bindingCookie, hashBinding, isBound, newBinding, readBindingCookies } from '../../src/auth/browser-binding.js';

const A = 'A'.repeat(43);
const B = `${'b'.repeat(42)}_`;

describe('browser binding: cookie, reading, comparing', () => {
  it('sets the cookie under the public URL\'s path, Secure only over https, as long as the flow', () => {
    const table: [string, number, string][] = [
      ['http://nori.test', 600, `nori_flow=${A}; Path=/oauth/; Max-Age=600; HttpOnly; SameSite=Lax`],
      ['https://nori.test/', 600, `nori_flow=${A}; Path=/oauth/; Max-Age=600; HttpOnly; SameSite=Lax; Secure`],
      ['https://cms.test/nori', 90.7, `nori_flow=${A}; Path=/nori/oauth/; Max-Age=90; HttpOnly; SameSite=Lax; Secure`],
      ['https://cms.test/nori/', 600, `nori_flow=${A}; Path=/nori/oauth/; Max-Age=600; HttpOnly; SameSite=Lax; Secure`],
    ];
    for (const [url, ttl, cookie] of table) assert.equal(bindingCookie(A, url, ttl), cookie, url);
  });

  it('reads every well-formed value of the cookie from a Cookie header, and nothing else', () => {
    const table: [string | undefined, string[]][] = [
      [undefined, []],
      ['', []],
      [`nori_flow=${A}`, [A]],
      [`other=1; nori_flow=${A}; x=y`, [A]],
      [`nori_flow=${B}; nori_flow=${A}`, [B, A]],
      [` nori_flow = ${A} `, [A]],
      [`nori_flow=${A}x`, []],
      [`nori_flow=${A.slice(1)}`, []],
      [`nori_flow=${'A'.repeat(42)}=`, []],
      [`xnori_flow=${A}`, []],
      [`nori_flow=${A}; ${'junk=1; '.repeat(3000)}`, []],
      [Array.from({ length: 6 }, () => `nori_flow=${A}`).join('; '), [A, A, A, A]],
    ];
    for (const [header, values] of table) assert.deepEqual(readBindingCookies(header), values, String(header).slice(0, 60));
  });

  it('matches a value against the stored hash, among several; refuses a missing or malformed hash', () => {
    const value = newBinding();
    assert.match(value, /^[\w-]{43}$/);
    const stored = hashBinding(value);
    const table: [string | null, string | readonly string[] | undefined, boolean][] = [
      [stored, value, true],
      [stored, [A, value], true],
      [stored, [value, A], true],
      [stored, A, false],
      [stored, undefined, false],
      [stored, [], false],
      [stored, `${value} `, false],
      [null, value, false],
      ['z'.repeat(64), value, false],
      [stored.slice(1), value, false],
    ];
    for (const [hash, given, bound] of table) assert.equal(isBound(hash, given), bound, `${String(hash).slice(0, 8)} ${JSON.stringify(given)}`);
  });
});
