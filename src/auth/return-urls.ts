/**
 * @module auth/return-urls
 * Where a finished authorization may send the browser: only to a configured prefix (same scheme, host and
 * port; the path under the prefix's path). Anything else would make nori an open redirect.
 */

/** Whether `url` is an absolute http(s) URL under one of the allowlist's prefixes. */
export function isAllowedReturnUrl(url: string, allowlist: readonly string[]): boolean {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return false;
  }
  if ((target.protocol !== 'http:' && target.protocol !== 'https:') || target.username || target.password) return false;
  return allowlist.some((entry) => {
    const allowed = new URL(entry);
    if (allowed.origin !== target.origin) return false;
    const prefix = allowed.pathname.endsWith('/') ? allowed.pathname : `${allowed.pathname}/`;
    // URL() has already resolved dot segments and percent-encoded the path, so "/app/../admin" cannot pass as "/app/".
    return target.pathname === allowed.pathname || target.pathname.startsWith(prefix);
  });
}
