/**
 * @module plugins/bayard/harness.test-helper
 * What the bayard tests share: an engine with only this plugin, nori's real HTTP server, the Bayard peer
 * (test/peers/bayard.ts) as the service, and accounts holding a partner's url_key and salt, authorized the real
 * way (AUTHORIZE, which checks the key at the peer).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { useEngine } from '../../test/helpers/engine.js';
import { startServer, type RunningServer } from '../../test/helpers/server.js';
import { expectOk, only, q } from '../../test/helpers/xml.js';
import { seedBayard, startBayardPeer, type BayardPartner, type BayardPeer, type BayardPeerOptions } from '../../test/peers/bayard.js';

export const PARTNERS: readonly BayardPartner[] = seedBayard().partners;
export const partner = (name: string) => PARTNERS.find((p) => p.name === name)!;
export const md5 = (s: string) => createHash('md5').update(s, 'utf8').digest('hex');
/** The probe address checkKey looks up. */
export const PROBE_PATH = '/nori-key-check%40bayard.invalid';

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** CALL parameters as XML: text, or a map written one element per entry. */
export type Params = Readonly<Record<string, string | Readonly<Record<string, string>>>>;
export const paramsXml = (params: Params): string =>
  Object.entries(params).map(([k, v]) => `<${k}>${typeof v === 'string' ? escapeXml(v) : paramsXml(v)}</${k}>`).join('');
export const callXml = (id: number, method: string, params: Params = {}) => `<CALL><WEBACCOUNT ID="${id}"><${method}>${paramsXml(params)}</${method}></WEBACCOUNT></CALL>`;

export interface Harness {
  readonly engine: ReturnType<typeof useEngine>['engine'];
  readonly peer: BayardPeer;
  readonly server: RunningServer;
  /** Alice's API key (contact 2). */
  readonly alice: string;
  /** One batch over HTTP; answers the RESPONSE's text. */
  post(key: string, ...commands: string[]): Promise<string>;
  /** The WEBAPI `name` (plugin bayard), its BASE_URL at the peer. */
  createApi(name?: string, baseUrl?: string): Promise<void>;
  /** Alice's WEBACCOUNT with this url_key and salt, not yet authorized. */
  createAccount(token: string, salt: string, api?: string): Promise<number>;
  /** AUTHORIZE over HTTP: its one reply. */
  authorize(id: number): Promise<ReturnType<typeof only>>;
  /** Alice's account for a partner of the peer, authorized (memoized per test). */
  account(name: string, api?: string): Promise<number>;
  /** A CALL as Alice over HTTP: the raw RESPONSE. */
  call(id: number, method: string, params?: Params): Promise<string>;
  /** Replaces the peer (e.g. one that no longer knows a partner), pointing the WEBAPI at it. */
  restartPeer(options: BayardPeerOptions): Promise<void>;
  /** UPDATEs the `bayard` WEBAPI's BASE_URL. */
  setBaseUrl(url: string): Promise<void>;
}

/** Mocha hooks for a suite; the peer is fresh for every test, with the `bayard` WEBAPI pointing at it. */
export function useBayard(options: { logger?: Logger; peer?: () => BayardPeerOptions } = {}): Harness {
  const t = useEngine({
    plugins: { builtins: false, folders: [fileURLToPath(new URL('.', import.meta.url))] },
    calls: { timeoutMs: 2000, maxAttempts: 3, budgetMs: 8000, maxResponseBytes: 1 << 20 },
    ...(options.logger ? { logger: options.logger } : {}),
  });
  const h = {} as { -readonly [K in keyof Harness]: Harness[K] };
  let admin = '';
  let accounts = new Map<string, number>();

  h.post = async (key, ...commands) => {
    const res = await fetch(`${h.server.url}/`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/xml' }, body: q(...commands) });
    return res.text();
  };
  h.createApi = async (name = 'bayard', baseUrl = `${h.peer.url}/api`) => {
    const plugin = name === 'bayard' ? '' : '<PLUGIN>bayard</PLUGIN>';
    expectOk(only(await h.post(admin, `<CREATE><WEBAPI><INFO><DENOMINATION>${name}</DENOMINATION><AUTH_TYPE>apikey</AUTH_TYPE>${plugin}<BASE_URL>${baseUrl}</BASE_URL></INFO></WEBAPI></CREATE>`)));
  };
  h.createAccount = async (token, salt, api = 'bayard') => {
    const created = expectOk(only(await h.post(h.alice, `<CREATE><WEBACCOUNT><INFO><API>${api}</API><TOKEN>${token}</TOKEN><TOKEN_SECRET>${escapeXml(salt)}</TOKEN_SECRET></INFO></WEBACCOUNT></CREATE>`)));
    return Number(created.attrs.elementID);
  };
  h.authorize = async (id) => only(await h.post(h.alice, `<AUTHORIZE><WEBACCOUNT ID="${id}"/></AUTHORIZE>`));
  h.account = async (name, api = 'bayard') => {
    const known = accounts.get(`${api}/${name}`);
    if (known !== undefined) return known;
    const p = partner(name);
    const id = await h.createAccount(p.urlKey, p.salt, api);
    const done = expectOk(await h.authorize(id));
    assert.equal(done.attrs.errorCode, undefined, done.text);
    accounts.set(`${api}/${name}`, id);
    return id;
  };
  h.call = (id, method, params = {}) => h.post(h.alice, callXml(id, method, params));
  h.restartPeer = async (peerOptions) => {
    await h.peer.close();
    h.peer = await startBayardPeer(peerOptions);
    await h.setBaseUrl(`${h.peer.url}/api`);
  };
  h.setBaseUrl = async (url) => {
    expectOk(only(await h.post(admin, `<UPDATE><WEBAPI ID="1"><INFO><BASE_URL>${url}</BASE_URL></INFO></WEBAPI></UPDATE>`)));
  };

  before(async () => {
    h.server = await startServer(t.engine);
  });
  after(() => h.server.close());
  beforeEach(async () => {
    h.engine = t.engine;
    h.peer = await startBayardPeer(options.peer?.() ?? {});
    accounts = new Map();
    admin = (await t.engine.keys.create({ contactId: 1, groups: [], admin: true })).key;
    h.alice = (await t.engine.keys.create({ contactId: 2, groups: [], admin: false })).key;
    await h.createApi();
  });
  afterEach(() => h.peer.close());
  return h;
}
