/**
 * @module test/peers/oauth1-provider
 * An OAuth 1.0a provider for tests, written from RFC 5849 and independent of nori's client: it verifies the
 * HMAC-SHA1 signature over the base string (§3.4), the timestamp window and nonce reuse (§3.3), callback
 * confirmation (§2.1) and the single-use verifier (§2.3), and answers 401 with oauth_problem as providers do.
 * The verifier and the three endpoints are exported so that peers of real services (x-api.ts) verify with this
 * one implementation and differ only in how they word a refusal.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { json, startPeer, type PeerRequest, type PeerResponse } from './http-peer.js';

/** RFC 5849 §3.6: percent-encode everything but the unreserved set. */
export const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** §3.4.1: METHOD & base URI & normalized parameters (sorted by encoded name, then value). */
export function baseString(method: string, baseUri: string, params: [string, string][]): string {
  const normalized = params.map(([k, v]) => [enc(k), enc(v)] as const).sort(([a, x], [b, y]) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('&');
  return `${method.toUpperCase()}&${enc(baseUri)}&${enc(normalized)}`;
}

export const hmacSha1 = (base: string, consumerSecret: string, tokenSecret = '') => createHmac('sha1', `${enc(consumerSecret)}&${enc(tokenSecret)}`).update(base).digest('base64');

/** The oauth_problem values (OAuth Problem Reporting extension) this provider answers. */
export type OAuth1Problem =
  | 'parameter_absent' | 'consumer_key_unknown' | 'signature_method_rejected' | 'version_rejected'
  | 'timestamp_refused' | 'token_rejected' | 'signature_invalid' | 'nonce_used' | 'verifier_invalid';

export interface Refusal { readonly problem: OAuth1Problem; readonly status: 400 | 401 }
export type Verification = { readonly ok: true; readonly oauth: Readonly<Record<string, string>> } | ({ readonly ok: false } & Refusal);

const refusal = (problem: OAuth1Problem, status: 400 | 401 = 401) => ({ ok: false, problem, status }) as const;

export interface VerifierOptions {
  /** consumer key → consumer secret. */
  consumers: Readonly<Record<string, string>>;
  /** How far oauth_timestamp may stray from the clock. Default 300 s. */
  windowSeconds?: number;
}

const isForm = (req: PeerRequest) => String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');

/**
 * Builds `verify(req, tokenSecretOf)`. It remembers the nonces it has seen, so a provider keeps one verifier.
 * Only query and form parameters enter the base string (§3.4.1.3.1): a JSON body is not signed.
 * @example const verify = oauth1Verifier({ consumers: { key: 'secret' } }); verify(req, (t) => tokens.get(t)?.secret);
 */
export function oauth1Verifier(options: VerifierOptions) {
  const nonces = new Set<string>();
  const windowSeconds = options.windowSeconds ?? 300;
  return function verify(req: PeerRequest, tokenSecretOf: (token: string) => string | undefined): Verification {
    const header = String(req.headers.authorization ?? '');
    if (!header.startsWith('OAuth ')) return refusal('parameter_absent', 400);
    const oauth: Record<string, string> = {};
    try {
      for (const m of header.slice(6).matchAll(/(?<![\w-])([\w-]+)="([^"]*)"/g)) oauth[decodeURIComponent(m[1]!)] = decodeURIComponent(m[2]!);
    } catch {
      return refusal('parameter_absent', 400); // malformed percent-encoding in the header
    }
    const url = new URL(req.url);
    const carried: [string, string][] = [...url.searchParams, ...(isForm(req) ? new URLSearchParams(req.body.toString('utf8')) : [])];
    const params = [...carried, ...Object.entries(oauth).filter(([k]) => k !== 'realm')].filter(([k]) => k !== 'oauth_signature');
    // §3.5.2–3: protocol parameters may also ride in the query or the form (X documents oauth_verifier there).
    for (const [k, v] of carried) if (k.startsWith('oauth_') && !(k in oauth)) oauth[k] = v;
    const secret = options.consumers[oauth.oauth_consumer_key ?? ''];
    if (secret === undefined) return refusal('consumer_key_unknown');
    if (oauth.oauth_signature_method !== 'HMAC-SHA1') return refusal('signature_method_rejected', 400);
    if (oauth.oauth_version !== undefined && oauth.oauth_version !== '1.0') return refusal('version_rejected', 400);
    const ts = Number(oauth.oauth_timestamp);
    if (!Number.isFinite(ts) || Math.abs(ts - Date.now() / 1000) > windowSeconds) return refusal('timestamp_refused');
    let tokenSecret = '';
    if (oauth.oauth_token !== undefined) {
      const s = tokenSecretOf(oauth.oauth_token);
      if (s === undefined) return refusal('token_rejected');
      tokenSecret = s;
    }
    const expected = Buffer.from(hmacSha1(baseString(req.method, `${url.origin}${url.pathname}`, params), secret, tokenSecret));
    const given = Buffer.from(oauth.oauth_signature ?? '');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return refusal('signature_invalid');
    // Checked after the signature, so an attacker cannot burn a legitimate client's nonces with forged requests.
    const nonce = `${oauth.oauth_consumer_key}:${ts}:${oauth.oauth_nonce}:${oauth.oauth_token ?? ''}`;
    if (!oauth.oauth_nonce || nonces.has(nonce)) return refusal('nonce_used');
    nonces.add(nonce);
    return { ok: true, oauth };
  };
}

/** Token credentials a provider issued, and to whom. */
export interface AccessGrant { secret: string; consumer: string; userId: string; screenName: string; revoked: boolean }
export type AccessVerification = { readonly ok: true; readonly oauth: Readonly<Record<string, string>>; readonly grant: AccessGrant } | ({ readonly ok: false } & Refusal);

interface Temporary { secret: string; consumer: string; callback: string; verifier?: string; used: boolean; expires: number }

export interface FlowOptions extends VerifierOptions {
  /** Answer oauth_callback_confirmed=false (a pre-1.0a provider). Default: confirmed. */
  confirmCallback?: boolean;
  /** The user who approves at the authorize page. Default: 1001, alice. */
  user?: { id: string; screenName: string };
  /** How the provider words a refusal at its three endpoints. Default: RFC 5849's form-encoded oauth_problem. */
  refuse?: (refusal: Refusal) => PeerResponse;
}

export const formRefusal = ({ problem, status }: Refusal): PeerResponse => ({
  status,
  headers: { 'www-authenticate': 'OAuth realm="peer"', 'content-type': 'application/x-www-form-urlencoded' },
  body: `oauth_problem=${problem}`,
});

const form = (o: Record<string, string>): PeerResponse => ({ status: 200, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(o).toString() });
const hex = (n: number) => randomBytes(n).toString('hex');

/**
 * The three-legged flow (§2): `endpoints` maps /oauth/request_token, /oauth/authorize and /oauth/access_token to
 * handlers; `verifyAccess` checks an API call signed with issued token credentials; `issue` mints them directly.
 * @example const flow = oauth1Flow({ consumers }); startPeer((req) => flow.endpoints.get(req.path)?.(req) ?? notFound);
 */
export function oauth1Flow(options: FlowOptions) {
  const verify = oauth1Verifier(options);
  const refuse = options.refuse ?? formRefusal;
  const user = options.user ?? { id: '1001', screenName: 'alice' };
  const temporary = new Map<string, Temporary>();
  const access = new Map<string, AccessGrant>();

  function issue(consumer: string, who = user): { token: string; secret: string } {
    const token = `${who.id}-${hex(12)}`; // X's access tokens start with the user id, too
    const secret = hex(16);
    access.set(token, { secret, consumer, userId: who.id, screenName: who.screenName, revoked: false });
    return { token, secret };
  }

  const endpoints = new Map<string, (req: PeerRequest) => PeerResponse>([
    ['/oauth/request_token', (req) => {
      const v = verify(req, () => undefined);
      if (!v.ok) return refuse(v);
      if (!v.oauth.oauth_callback) return refuse({ problem: 'parameter_absent', status: 400 });
      const token = hex(12);
      const secret = hex(12);
      temporary.set(token, { secret, consumer: v.oauth.oauth_consumer_key!, callback: v.oauth.oauth_callback, used: false, expires: Date.now() + 600_000 });
      return form({ oauth_token: token, oauth_token_secret: secret, oauth_callback_confirmed: String(options.confirmCallback ?? true) });
    }],
    ['/oauth/authorize', (req) => {
      const token = req.query.get('oauth_token') ?? '';
      const t = temporary.get(token);
      if (!t || t.used) return refuse({ problem: 'token_rejected', status: 401 });
      const decision = req.query.get('decision');
      if (!decision) {
        return { status: 200, headers: { 'content-type': 'text/html' }, body: `<form><input type="hidden" name="oauth_token" value="${token}"><button id="approve" name="decision" value="approve">Approve</button><button id="deny" name="decision" value="deny">Deny</button></form>` };
      }
      if (decision === 'approve') t.verifier = hex(10);
      // §2.2 out-of-band: no callback to go back to, so the user reads the verifier off the page.
      if (t.callback === 'oob') return { status: 200, headers: { 'content-type': 'text/html' }, body: t.verifier ? `<code id="verifier">${t.verifier}</code>` : '<p>Denied</p>' };
      const back = new URL(t.callback);
      if (t.verifier) {
        back.searchParams.set('oauth_token', token);
        back.searchParams.set('oauth_verifier', t.verifier);
      } else back.searchParams.set('denied', token);
      return { status: 302, headers: { location: back.toString() } };
    }],
    ['/oauth/access_token', (req) => {
      const v = verify(req, (tok) => {
        const t = temporary.get(tok);
        return t && !t.used && t.expires > Date.now() ? t.secret : undefined;
      });
      if (!v.ok) return refuse(v);
      const t = temporary.get(v.oauth.oauth_token ?? '');
      if (!t) return refuse({ problem: 'token_rejected', status: 401 }); // signed without any oauth_token
      if (!t.verifier || v.oauth.oauth_verifier !== t.verifier) return refuse({ problem: 'verifier_invalid', status: 401 });
      t.used = true; // §2.3: temporary credentials and verifier are single-use
      const { token, secret } = issue(t.consumer);
      return form({ oauth_token: token, oauth_token_secret: secret, user_id: user.id, screen_name: user.screenName });
    }],
  ]);

  return {
    endpoints,
    access,
    issue,
    verifyAccess(req: PeerRequest): AccessVerification {
      const v = verify(req, (tok) => (access.get(tok)?.revoked === false ? access.get(tok)!.secret : undefined));
      if (!v.ok) return v;
      const grant = access.get(v.oauth.oauth_token ?? '');
      // A call signed with the consumer alone (no oauth_token) has no user: refused like an unknown token.
      return grant ? { ...v, grant } : refusal('token_rejected');
    },
  };
}

/** A generic OAuth 1.0a provider: the three endpoints, and /api/* echoing signed calls. */
export async function startOAuth1Provider(options: FlowOptions) {
  const stats = { requests: {} as Record<string, number>, rejected: {} as Record<string, number> };
  const refuse = (r: Refusal) => {
    stats.rejected[r.problem] = (stats.rejected[r.problem] ?? 0) + 1;
    return formRefusal(r);
  };
  const flow = oauth1Flow({ ...options, refuse });
  const peer = await startPeer((req) => {
    stats.requests[req.path] = (stats.requests[req.path] ?? 0) + 1;
    const endpoint = flow.endpoints.get(req.path);
    if (endpoint) return endpoint(req);
    if (!req.path.startsWith('/api/')) return { status: 404 };
    const v = flow.verifyAccess(req);
    if (!v.ok) return refuse(v);
    return json(200, { id: v.grant.userId, screen_name: v.grant.screenName, echo: Object.fromEntries(new URLSearchParams(req.body.toString('utf8'))) });
  });
  return {
    ...peer,
    stats,
    /** The token credentials issued so far, to sign API calls with in tests. */
    access: flow.access,
    issue: flow.issue,
  };
}
