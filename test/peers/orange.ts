/**
 * @module test/peers/orange
 * An Orange "Personal API" peer behind the privacy-consent mechanism of test/fixtures/orange/ (steps 1-8).
 *
 * Paths (the document names none; these are chosen): `GET /personal/contact` (family `contact`) and
 * `GET /personal/profile` (family `profile`), Bearer-token protected, answering XML. A service that the user
 * has not granted gets the PrivacyAccessDeniedException XML whose <url> (XML-encoded) is
 * `<peer>/urm-gui/interaction.do?familly=<family>&serviceId=<serviceId>&attributes=<list>`, parameters in that
 * order and spelled as the document's template spells them. That privacy page shows the three choices; a script
 * may add `&choice=once|permanent|reject`, and the page then redirects to `urlRetour` exactly as given.
 *
 * The browser on the privacy page is an Orange user signed in to Orange: `signIn(userId)` gives the cookie
 * that says who. The page never learns the user from its URL, as the service only forwards what it received.
 */
import { randomBytes } from 'node:crypto';
import { startPeer, text, xml, type Peer, type PeerRequest, type PeerResponse } from './http-peer.js';

export type ConsentState = 'none' | 'once' | 'permanent' | 'rejected';
export type Choice = 'once' | 'permanent' | 'reject';
export interface OrangeFamily {
  /** Path of the protected resource. */
  path: string;
  /** The `attributes` value sent to the privacy page, e.g. the document's `,see`. */
  attributes: string;
  /** The user's data as an XML document. */
  render: (userId: string) => string;
}
export interface OrangePeerOptions {
  /** Default: the document's placeholder `YOURSERVIC1234567890`. */
  serviceId?: string;
  families?: Readonly<Record<string, OrangeFamily>>;
  /**
   * Status of the privacy exception. The document shows only the body; 500 is what a 2008 capture of the alpha
   * Personal API shows (see fixtures/orange/index.json), so a client must read the body before retrying a 500.
   */
  deniedStatus?: number;
  /** The template spells the parameter `familly`, the document's example `family`. Default `familly`. */
  familyParam?: 'familly' | 'family';
}
export interface ConsentRecord { userId: string; serviceId: string; family: string; state: ConsentState }

export const PRIVACY_PATH = '/urm-gui/interaction.do';
const SESSION_COOKIE = 'orange_session';
const XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>';
const CHOSEN: Readonly<Record<Choice, ConsentState>> = { once: 'once', permanent: 'permanent', reject: 'rejected' };
/** What a protected call does in each consent state: whether it is served, and the state it leaves. */
const ON_CALL: Readonly<Record<ConsentState, { granted: boolean; next: ConsentState }>> = {
  none: { granted: false, next: 'none' },
  once: { granted: true, next: 'none' },
  permanent: { granted: true, next: 'permanent' },
  rejected: { granted: false, next: 'rejected' },
};

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
/** Percent-encodes like encodeURIComponent but keeps commas raw, as in the document's `attributes=,see`. */
const encodeParam = (s: string) => encodeURIComponent(s).replace(/%2C/gi, ',');

export const DEFAULT_FAMILIES: Readonly<Record<string, OrangeFamily>> = {
  contact: {
    path: '/personal/contact',
    attributes: ',see',
    render: (userId) => `${XML_DECL}<contacts user="${escapeXml(userId)}"><contact><firstName>Marie</firstName><lastName>Dupont</lastName><email>marie.dupont@example.org</email></contact></contacts>`,
  },
  profile: {
    path: '/personal/profile',
    attributes: ',see',
    render: (userId) => `${XML_DECL}<profile><userId>${escapeXml(userId)}</userId><firstName>Jean</firstName><lastName>Martin</lastName><lang>fr</lang></profile>`,
  },
};

export async function startOrangePeer(options: OrangePeerOptions = {}) {
  const serviceId = options.serviceId ?? 'YOURSERVIC1234567890';
  const families = options.families ?? DEFAULT_FAMILIES;
  const familyParam = options.familyParam ?? 'familly';
  const deniedStatus = options.deniedStatus ?? 500;
  const tokens = new Map<string, { userId: string; serviceId: string }>();
  const sessions = new Map<string, string>();
  const consents = new Map<string, ConsentRecord>();
  const byPath = new Map(Object.entries(families).map(([family, f]) => [f.path, family]));
  let url = '';

  const key = (userId: string, service: string, family: string) => JSON.stringify([userId, service, family]);
  const stateOf = (userId: string, service: string, family: string) => consents.get(key(userId, service, family))?.state ?? 'none';
  const setState = (userId: string, service: string, family: string, state: ConsentState) => consents.set(key(userId, service, family), { userId, serviceId: service, family, state });

  /** The [privacy_redirection_url] of step 3, before XML encoding. */
  const privacyUrl = (family: string, service: string) =>
    `${url}${PRIVACY_PATH}?${familyParam}=${encodeParam(family)}&serviceId=${encodeParam(service)}&attributes=${encodeParam(families[family]!.attributes)}`;
  // Same layout as fixtures/orange/privacy-exception.familly.xml, so a test can compare the text.
  const deniedXml = (target: string) => `${XML_DECL} <error> <code>-3</code> <detail>PrivacyAccessDeniedException</detail>\n<url>${escapeXml(target)}</url>\n</error>\n`;

  function personal(req: PeerRequest, family: string): PeerResponse {
    const token = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const holder = token ? tokens.get(token) : undefined;
    // Not a consent matter: without a valid token the user is unknown, so there is nobody whose consent to ask.
    if (!holder) return xml(401, `${XML_DECL}<error><detail>invalid or missing token</detail></error>`, { 'www-authenticate': 'Bearer error="invalid_token"' });
    const { granted, next } = ON_CALL[stateOf(holder.userId, holder.serviceId, family)];
    setState(holder.userId, holder.serviceId, family, next);
    return granted ? xml(200, families[family]!.render(holder.userId)) : xml(deniedStatus, deniedXml(privacyUrl(family, holder.serviceId)));
  }

  function privacyPage(req: PeerRequest): PeerResponse {
    const q = req.query;
    const family = q.get(familyParam);
    const service = q.get('serviceId');
    if (!family || !service || q.get('attributes') === null) {
      const other = familyParam === 'familly' ? 'family' : 'familly';
      const hint = q.has(other) ? ` (got '${other}': this privacy page reads '${familyParam}', the spelling it sends)` : '';
      return html(400, `<p>Missing ${familyParam}, serviceId or attributes${escapeXml(hint)}.</p>`);
    }
    if (!families[family]) return html(400, `<p>Unknown family ${escapeXml(family)}.</p>`);
    const cookie = new RegExp(`(?:^|;\\s*)${SESSION_COOKIE}=([^;]+)`).exec(req.headers.cookie ?? '')?.[1];
    const userId = cookie ? sessions.get(cookie) : undefined;
    if (!userId) return html(401, '<p>Sign in to Orange first.</p>');
    const choice = q.get('choice');
    const back = q.get('urlRetour');
    if (choice === null) return html(200, choicesPage(q));
    if (!Object.hasOwn(CHOSEN, choice)) return html(400, `<p>Unknown choice ${escapeXml(choice)}.</p>`);
    setState(userId, service, family, CHOSEN[choice as Choice]);
    // Step 6: the user is simply sent back to the return URL; nothing is added to it.
    return back ? { status: 302, headers: { location: back }, body: '' } : html(200, '<p>Your preferences are saved.</p>');
  }

  function route(req: PeerRequest): PeerResponse {
    if (req.method === 'GET' && req.path === PRIVACY_PATH) return privacyPage(req);
    const family = byPath.get(req.path);
    if (req.method === 'GET' && family) return personal(req, family);
    return text(404, 'not found');
  }

  const base: Peer = await startPeer(route);
  url = base.url;
  return {
    url: base.url,
    requests: base.requests,
    count: base.count,
    inject: base.inject,
    close: base.close,
    serviceId,
    /** Where each family's protected resource is, e.g. { contact: 'http://127.0.0.1:port/personal/contact' }. */
    resources: Object.fromEntries(Object.entries(families).map(([family, f]) => [family, `${base.url}${f.path}`])),
    /** A token from the Authentication API for this user and service (default: the peer's service). */
    issueToken(userId: string, service = serviceId): string {
      const token = randomBytes(24).toString('base64url');
      tokens.set(token, { userId, serviceId: service });
      return token;
    },
    /** The Cookie header value of a browser signed in to Orange as this user (read by the privacy page). */
    signIn(userId: string): string {
      const session = randomBytes(16).toString('hex');
      sessions.set(session, userId);
      return `${SESSION_COOKIE}=${session}`;
    },
    /** Every consent recorded so far (a used `once` shows as `none`). */
    get consents(): ConsentRecord[] {
      return [...consents.values()].map((c) => ({ ...c }));
    },
    consentOf: (userId: string, family: string, service = serviceId): ConsentState => stateOf(userId, service, family),
  };
}

export type OrangePeer = Awaited<ReturnType<typeof startOrangePeer>>;

function html(status: number, body: string): PeerResponse {
  return { status, headers: { 'content-type': 'text/html; charset=utf-8' }, body: `<!doctype html><html><head><title>Orange privacy</title></head><body>${body}</body></html>` };
}

/** Step 5: one GET form carrying the received parameters in their order, one button per choice. */
function choicesPage(q: URLSearchParams): string {
  const hidden = [...q].map(([k, v]) => `<input type="hidden" name="${escapeXml(k)}" value="${escapeXml(v)}">`).join('');
  const buttons: [Choice, string][] = [
    ['once', 'Grant access for this request only'],
    ['permanent', 'Grant access permanently'],
    ['reject', 'Reject'],
  ];
  return `<h1>Service ${escapeXml(q.get('serviceId') ?? '')} asks to access your data</h1><form method="get" action="${PRIVACY_PATH}">${hidden}${buttons.map(([v, label]) => `<button type="submit" name="choice" value="${v}">${label}</button>`).join('')}</form>`;
}
