/**
 * @module test/peers/oauth1-provider
 * An OAuth 1.0a provider for tests, written from RFC 5849 and independent of nori's client: it verifies the
 * HMAC-SHA1 signature over the base string (§3.4), the timestamp window and nonce reuse (§3.3), callback
 * confirmation (§2.1) and the single-use verifier (§2.3), and answers 401 with oauth_problem as providers do.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** RFC 5849 §3.6: percent-encode everything but the unreserved set. */
export const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** §3.4.1: METHOD & base URI & normalized parameters (sorted by encoded name, then value). */
export function baseString(method: string, baseUri: string, params: [string, string][]): string {
  const normalized = params.map(([k, v]) => [enc(k), enc(v)] as const).sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('&');
  return `${method.toUpperCase()}&${enc(baseUri)}&${enc(normalized)}`;
}

export const hmacSha1 = (base: string, consumerSecret: string, tokenSecret = '') => createHmac('sha1', `${enc(consumerSecret)}&${enc(tokenSecret)}`).update(base).digest('base64');

interface Options {
  consumers: Record<string, string>;
  confirmCallback?: boolean;
  windowSeconds?: number;
}

interface Temporary { secret: string; consumer: string; callback: string; verifier?: string; used: boolean; expires: number }

export async function startOAuth1Provider(options: Options) {
  const temporary = new Map<string, Temporary>();
  const access = new Map<string, { secret: string; consumer: string; revoked: boolean }>();
  const nonces = new Set<string>();
  const stats = { requests: {} as Record<string, number>, rejected: {} as Record<string, number> };
  const windowSeconds = options.windowSeconds ?? 300;

  function refuse(res: ServerResponse, problem: string, status = 401): void {
    stats.rejected[problem] = (stats.rejected[problem] ?? 0) + 1;
    res.writeHead(status, { 'www-authenticate': 'OAuth realm="peer"', 'content-type': 'application/x-www-form-urlencoded' }).end(`oauth_problem=${problem}`);
  }

  /** §3.5.1 header parameters, plus query and form parameters (§3.4.1.3.1); returns the oauth_* ones verified. */
  function verify(req: IncomingMessage, body: string, url: URL, res: ServerResponse, tokenSecretOf: (token: string) => string | undefined): Record<string, string> | undefined {
    const header = req.headers.authorization ?? '';
    if (!header.startsWith('OAuth ')) return void refuse(res, 'parameter_absent', 400);
    const oauth: Record<string, string> = {};
    for (const m of header.slice(6).matchAll(/([\w-]+)="([^"]*)"/g)) oauth[decodeURIComponent(m[1]!)] = decodeURIComponent(m[2]!);
    const form = req.headers['content-type']?.startsWith('application/x-www-form-urlencoded') ? [...new URLSearchParams(body)] : [];
    const params: [string, string][] = [...url.searchParams, ...form, ...Object.entries(oauth).filter(([k]) => k !== 'oauth_signature' && k !== 'realm')];
    const secret = options.consumers[oauth.oauth_consumer_key ?? ''];
    if (secret === undefined) return void refuse(res, 'consumer_key_unknown');
    if (oauth.oauth_signature_method !== 'HMAC-SHA1') return void refuse(res, 'signature_method_rejected', 400);
    if (oauth.oauth_version !== undefined && oauth.oauth_version !== '1.0') return void refuse(res, 'version_rejected', 400);
    const ts = Number(oauth.oauth_timestamp);
    if (!Number.isFinite(ts) || Math.abs(ts - Date.now() / 1000) > windowSeconds) return void refuse(res, 'timestamp_refused');
    let tokenSecret = '';
    if (oauth.oauth_token !== undefined) {
      const s = tokenSecretOf(oauth.oauth_token);
      if (s === undefined) return void refuse(res, 'token_rejected');
      tokenSecret = s;
    }
    const expected = Buffer.from(hmacSha1(baseString(req.method!, `http://${req.headers.host}${url.pathname}`, params), secret, tokenSecret));
    const given = Buffer.from(oauth.oauth_signature ?? '');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return void refuse(res, 'signature_invalid');
    const nonce = `${oauth.oauth_consumer_key}:${ts}:${oauth.oauth_nonce}:${oauth.oauth_token ?? ''}`;
    if (!oauth.oauth_nonce || nonces.has(nonce)) return void refuse(res, 'nonce_used');
    nonces.add(nonce);
    return oauth;
  }

  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const url = new URL(req.url!, `http://${req.headers.host}`);
      stats.requests[url.pathname] = (stats.requests[url.pathname] ?? 0) + 1;
      const form = (o: Record<string, string>) => res.writeHead(200, { 'content-type': 'application/x-www-form-urlencoded' }).end(new URLSearchParams(o).toString());
      if (url.pathname === '/oauth/request_token') {
        const oauth = verify(req, body, url, res, () => undefined);
        if (!oauth) return;
        if (!oauth.oauth_callback) return refuse(res, 'parameter_absent', 400);
        const token = randomBytes(12).toString('hex');
        temporary.set(token, { secret: randomBytes(12).toString('hex'), consumer: oauth.oauth_consumer_key!, callback: oauth.oauth_callback, used: false, expires: Date.now() + 600_000 });
        return form({ oauth_token: token, oauth_token_secret: temporary.get(token)!.secret, oauth_callback_confirmed: String(options.confirmCallback ?? true) });
      }
      if (url.pathname === '/oauth/authorize') {
        const token = url.searchParams.get('oauth_token') ?? '';
        const t = temporary.get(token);
        if (!t || t.used) return refuse(res, 'token_rejected');
        const decision = url.searchParams.get('decision');
        if (!decision) return res.writeHead(200, { 'content-type': 'text/html' }).end(`<form><input type="hidden" name="oauth_token" value="${token}"><button id="approve" name="decision" value="approve">Approve</button><button id="deny" name="decision" value="deny">Deny</button></form>`);
        const back = new URL(t.callback);
        if (decision === 'approve') {
          t.verifier = randomBytes(10).toString('hex');
          back.searchParams.set('oauth_token', token);
          back.searchParams.set('oauth_verifier', t.verifier);
        } else back.searchParams.set('denied', token);
        return res.writeHead(302, { location: back.toString() }).end();
      }
      if (url.pathname === '/oauth/access_token') {
        const oauth = verify(req, body, url, res, (tok) => {
          const t = temporary.get(tok);
          return t && !t.used && t.expires > Date.now() ? t.secret : undefined;
        });
        if (!oauth) return;
        const t = temporary.get(oauth.oauth_token!)!;
        if (!t.verifier || oauth.oauth_verifier !== t.verifier) return refuse(res, 'verifier_invalid');
        t.used = true; // §2.3: temporary credentials and verifier are single-use
        const token = randomBytes(12).toString('hex');
        access.set(token, { secret: randomBytes(12).toString('hex'), consumer: t.consumer, revoked: false });
        return form({ oauth_token: token, oauth_token_secret: access.get(token)!.secret, user_id: '1001', screen_name: 'alice' });
      }
      if (url.pathname.startsWith('/api/')) {
        const oauth = verify(req, body, url, res, (tok) => (access.get(tok)?.revoked === false ? access.get(tok)!.secret : undefined));
        if (!oauth) return;
        return res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id: '1001', screen_name: 'alice', echo: Object.fromEntries(new URLSearchParams(body)) }));
      }
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    stats,
    /** The token credentials issued so far, to sign API calls with in tests. */
    access,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
