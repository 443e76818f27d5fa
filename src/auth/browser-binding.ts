/**
 * @module auth/browser-binding
 * Binds a redirect flow to the browser that started it (RFC 6749 §10.12, login CSRF): the start link sets a
 * random value in a cookie, the flow keeps its SHA-256, and the callback must bring the value back. A browser
 * that already holds a well-formed value keeps it, so two flows of one browser (two tabs) both finish.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** The cookie nori's own routes use; a CMS that mounts them may keep the value anywhere of the browser's own. */
export const BINDING_COOKIE = 'nori_flow';

/** 32 random bytes, base64url: 43 characters. */
const LENGTH = 43;
const WELL_FORMED = /^[\w-]{43}$/;
/** Most values of the cookie looked at: a jar can hold one per path, and a stranger may add some (cookie tossing). */
const MAX_VALUES = 4;

export const newBinding = (): string => randomBytes(32).toString('base64url');
export const hashBinding = (value: string): string => createHash('sha256').update(value).digest('hex');

/** The values worth comparing: well-formed ones only (length first), at most MAX_VALUES. */
export function bindingValues(given: string | readonly string[] | undefined): string[] {
  const all = given === undefined ? [] : typeof given === 'string' ? [given] : given;
  return all.filter((v) => typeof v === 'string' && v.length === LENGTH && WELL_FORMED.test(v)).slice(0, MAX_VALUES);
}

/** Whether one of the values hashes to the stored hash; compared in constant time. */
export function isBound(storedHash: string | null, given: string | readonly string[] | undefined): boolean {
  if (storedHash === null || storedHash.length !== 64) return false;
  const stored = Buffer.from(storedHash, 'hex');
  // Not hex after all (written by hand): timingSafeEqual would throw on the shorter buffer.
  if (stored.length !== 32) return false;
  // Every value is compared, so the time does not say which one matched.
  return bindingValues(given).reduce((found, v) => timingSafeEqual(stored, Buffer.from(hashBinding(v), 'hex')) || found, false);
}

/**
 * The Set-Cookie value of nori's start route: HttpOnly, SameSite=Lax (sent on the provider's top-level redirect
 * back, not on a cross-site subrequest), Secure when the public URL is https, scoped to `<public path>/oauth/`,
 * and as short-lived as the flow.
 */
export function bindingCookie(value: string, publicUrl: string, maxAgeSeconds: number): string {
  const base = new URL(publicUrl);
  // The routes are `${publicUrl without its trailing slash}/oauth/…`, as the callback URL is built.
  const path = `${base.pathname.endsWith('/') ? base.pathname.slice(0, -1) : base.pathname}/oauth/`;
  return [`${BINDING_COOKIE}=${value}`, `Path=${path}`, `Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`, 'HttpOnly', 'SameSite=Lax', ...(base.protocol === 'https:' ? ['Secure'] : [])].join('; ');
}

/** The binding cookie's values in a Cookie header (a jar may send the name more than once). */
export function readBindingCookies(header: string | undefined): string[] {
  if (!header || header.length > 16_384) return [];
  const values: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === BINDING_COOKIE) values.push(part.slice(eq + 1).trim());
  }
  return bindingValues(values);
}
