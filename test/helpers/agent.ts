/**
 * @module test/helpers/agent
 * A browser without Chromium, for tests: one cookie jar (the RFC 6265 rules that matter here: host-only cookies,
 * path match, Max-Age and Expires, Secure sent only over https) and requests sent one hop at a time, never
 * following a redirect by itself, so a test sees every step. `hosts` maps an origin the browser believes in
 * (a test's NORI_PUBLIC_URL, `http://nori.test`) to the one that answers (the test server on 127.0.0.1): cookies
 * belong to the first, bytes go to the second, as behind a reverse proxy.
 */

export interface StoredCookie {
  readonly name: string;
  readonly value: string;
  readonly host: string;
  readonly path: string;
  readonly expires?: number;
  readonly secure: boolean;
  readonly httpOnly: boolean;
  readonly sameSite?: string;
  /** The Set-Cookie header it came from, for tests that assert its attributes. */
  readonly header: string;
}

export interface Hop {
  readonly url: string;
  readonly status: number;
  readonly location: string | null;
  readonly body: string;
  readonly setCookie: readonly string[];
}

/** RFC 6265 §5.1.4: the default path is the request path up to its last slash. */
const defaultPath = (path: string) => (path.lastIndexOf('/') <= 0 ? '/' : path.slice(0, path.lastIndexOf('/')));
const pathMatches = (requestPath: string, cookiePath: string) =>
  requestPath === cookiePath || (requestPath.startsWith(cookiePath) && (cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/'));

export class Agent {
  private jar: StoredCookie[] = [];
  /** Every URL this browser asked for, in order. */
  readonly visited: string[] = [];

  private readonly hosts: Record<string, string>;

  constructor(hosts: Readonly<Record<string, string>> = {}) {
    this.hosts = { ...hosts };
  }

  /** From now on `origin` is answered by `real` (another nori process behind the same public URL). */
  route(origin: string, real: string): void {
    this.hosts[origin] = real;
  }

  /** One request, no redirect followed; cookies sent and stored as a browser would. */
  async request(url: string, init: { method?: string; headers?: Record<string, string>; body?: string | URLSearchParams } = {}): Promise<Hop> {
    const target = new URL(url);
    const real = this.hosts[target.origin];
    const sent = real ? `${real}${target.pathname}${target.search}` : url;
    // A cookie header the test gives (a session at a peer) goes with the jar's own.
    const cookie = [init.headers?.cookie, this.cookieHeader(url)].filter(Boolean).join('; ');
    this.visited.push(url);
    const res = await fetch(sent, { method: init.method ?? 'GET', redirect: 'manual', headers: { ...init.headers, ...(cookie ? { cookie } : {}) }, ...(init.body !== undefined ? { body: init.body } : {}) });
    const setCookie = res.headers.getSetCookie();
    for (const header of setCookie) this.store(target, header);
    const location = res.headers.get('location');
    return { url, status: res.status, location: location === null ? null : new URL(location, url).toString(), body: await res.text(), setCookie };
  }

  /** Follows redirects until one leads to a URL starting with `stop` (returned, not visited) or a page answers. */
  async follow(url: string, stop?: string): Promise<Hop & { stoppedAt?: string }> {
    let hop = await this.request(url);
    for (let i = 0; i < 20 && hop.location; i++) {
      if (stop !== undefined && hop.location.startsWith(stop)) return { ...hop, stoppedAt: hop.location };
      hop = await this.request(hop.location);
    }
    return hop;
  }

  /** The cookies this browser would send to `url`. */
  cookiesFor(url: string): StoredCookie[] {
    const u = new URL(url);
    const now = Date.now();
    this.jar = this.jar.filter((c) => c.expires === undefined || c.expires > now);
    return this.jar
      .filter((c) => c.host === u.hostname && pathMatches(u.pathname, c.path) && (!c.secure || u.protocol === 'https:'))
      // RFC 6265 §5.4: longer paths first.
      .sort((a, b) => b.path.length - a.path.length);
  }

  /** A stored cookie by name, whatever URL it is for. */
  cookie(name: string): StoredCookie | undefined {
    return this.jar.find((c) => c.name === name);
  }

  private cookieHeader(url: string): string {
    return this.cookiesFor(url).map((c) => `${c.name}=${c.value}`).join('; ');
  }

  private store(from: URL, header: string): void {
    const [pair = '', ...attributes] = header.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let path = defaultPath(from.pathname);
    let expires: number | undefined;
    let secure = false;
    let httpOnly = false;
    let sameSite: string | undefined;
    for (const attribute of attributes) {
      const at = attribute.indexOf('=');
      const key = (at < 0 ? attribute : attribute.slice(0, at)).toLowerCase();
      const val = at < 0 ? '' : attribute.slice(at + 1);
      if (key === 'path' && val.startsWith('/')) path = val;
      else if (key === 'max-age') expires = Date.now() + Number(val) * 1000;
      else if (key === 'expires' && expires === undefined) expires = Date.parse(val);
      else if (key === 'secure') secure = true;
      else if (key === 'httponly') httpOnly = true;
      else if (key === 'samesite') sameSite = val;
    }
    // A Secure cookie set over http is ignored (RFC 6265bis §5.6 step 14).
    if (secure && from.protocol !== 'https:') return;
    this.jar = this.jar.filter((c) => !(c.name === name && c.host === from.hostname && c.path === path));
    if (expires !== undefined && expires <= Date.now()) return;
    this.jar.push({ name, value, host: from.hostname, path, secure, httpOnly, header, ...(expires !== undefined ? { expires } : {}), ...(sameSite !== undefined ? { sameSite } : {}) });
  }
}
