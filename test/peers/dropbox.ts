/**
 * @module test/peers/dropbox
 * A Dropbox API v2 peer written from Dropbox's HTTP documentation: OAuth 2.0 (/oauth2/authorize, /oauth2/token,
 * refresh tokens only with token_access_type=offline, never rotated), /2/auth/token/revoke, RPC endpoints (JSON
 * body) and content endpoints (arguments in the Dropbox-API-Arg header, which must be HTTP-header-safe JSON: 0x7F
 * and every non-ASCII character escaped as \uXXXX). Errors take Dropbox's shapes: 400 plain text for bad input,
 * 401 JSON auth errors, 409 JSON endpoint errors, 429 with Retry-After.
 *
 * The content host (content.dropboxapi.com) is `contentUrl`: a TCP forwarder onto the same peer, so there is one
 * request log and one fault queue; a request's `url` tells which host the client addressed. Every endpoint
 * answers on both hosts unless `strictHosts` is set.
 */
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { json, startPeer, text, type PeerRequest, type PeerResponse } from './http-peer.js';
import { authorizeCode, pkce, startAuthorizationServer, type AccessToken, type OAuthClient } from './oauth2-server.js';

export { authorizeCode, pkce };

export interface DropboxPeerOptions {
  clients: OAuthClient[];
  accessTokenTtlSeconds?: number;
  /** Dropbox does not rotate refresh tokens; on for tests of a client that must cope with rotation. */
  rotateRefreshTokens?: boolean;
  /** Refuse RPC endpoints on the content host and content endpoints on the API host. */
  strictHosts?: boolean;
  /** Files to start with (path → content); folders are created as needed. Default: a small seeded tree. */
  files?: Record<string, string | Buffer>;
  account?: Record<string, unknown>;
}

interface Node { tag: 'file' | 'folder'; name: string; pathDisplay: string; id: string; rev?: string; bytes?: Buffer; clientModified?: string; serverModified?: string }
interface Cursor { path: string; recursive: boolean; limit: number; seen: ReadonlyMap<string, string>; pending: readonly string[] }
type Arg = Record<string, unknown>;
type Handler = (arg: Arg, token: AccessToken, req: PeerRequest) => PeerResponse;

const SCOPES = ['account_info.read', 'files.metadata.read', 'files.content.read', 'files.content.write'];
const PATH = /^((\/(.|[\r\n])*)?|id:.*|(ns:[0-9]+(\/.*)?))$/;
const PATH_PATTERN = String.raw`(/(.|[\r\n])*)?|id:.*|(ns:[0-9]+(/.*)?)`;
const SEED = { '/hello.txt': 'hello, world\n', '/Documents/Report.txt': 'quarterly numbers\n', '/Documents/Notes.md': '# notes\n', '/Photos/2024/beach.jpg': Buffer.from([0xff, 0xd8, 0xff, 0xe0]) };
/** Dropbox's JSON encoding page: escape 0x7F and every non-ASCII character so the JSON is HTTP-header safe. */
export const headerSafeJson = (value: unknown) => JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
/** Dropbox's documented content_hash: SHA-256 over the concatenated SHA-256 of each 4 MiB block. */
export function contentHash(bytes: Buffer): string {
  const blocks: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 4 * 1024 * 1024) blocks.push(createHash('sha256').update(bytes.subarray(i, i + 4 * 1024 * 1024)).digest());
  return createHash('sha256').update(Buffer.concat(blocks)).digest('hex');
}
const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
const parentOf = (lower: string) => lower.slice(0, lower.lastIndexOf('/'));
const pathError = (tag: string) => json(409, { error_summary: `path/${tag}/..`, error: { '.tag': 'path', path: { '.tag': tag } } });

export async function startDropboxPeer(options: DropboxPeerOptions) {
  const account = {
    account_id: 'dbid:AADq3Vx0sHq0n8TQ4pLr7c9bX2u5WmYkZlo',
    name: { given_name: 'Ada', surname: 'Lovelace', familiar_name: 'Ada', display_name: 'Ada Lovelace', abbreviated_name: 'AL' },
    email: 'ada@example.org', email_verified: true, disabled: false, country: 'GB', locale: 'en', referral_link: 'https://db.tt/peer', is_paired: false,
    account_type: { '.tag': 'basic' }, root_info: { '.tag': 'user', root_namespace_id: '3235641', home_namespace_id: '3235641' },
    ...options.account,
  };
  const auth = startAuthorizationServer({
    clients: options.clients,
    accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 14_400,
    rotateRefreshTokens: options.rotateRefreshTokens ?? false,
    scopes: SCOPES,
    scopeRequired: false,
    offline: (q) => q.get('token_access_type') === 'offline',
    tokenPrefix: 'sl.u.',
    // The code exchange names the account; a refresh answers only the new access token (Dropbox OAuth guide).
    shape: (t) => ({ access_token: t.accessToken, token_type: 'bearer', expires_in: t.expiresIn, ...(t.grantType === 'authorization_code' ? { scope: t.scopes.join(' '), uid: '12345678', account_id: account.account_id, ...(t.refreshToken ? { refresh_token: t.refreshToken } : {}) } : {}) }),
  });
  /** The tree, keyed by path_lower (Dropbox paths are case-insensitive, case-preserving). */
  const tree = new Map<string, Node>();
  const cursors = new Map<string, Cursor>();
  const newId = () => `id:${randomBytes(16).toString('base64url')}`;

  function put(path: string, bytes: Buffer, existing?: Node): Node {
    const parts = path.split('/').slice(1);
    for (let i = 1; i < parts.length; i++) {
      const display = `/${parts.slice(0, i).join('/')}`;
      if (!tree.has(display.toLowerCase())) tree.set(display.toLowerCase(), { tag: 'folder', name: parts[i - 1]!, pathDisplay: display, id: newId() });
    }
    const node: Node = { tag: 'file', name: existing?.name ?? parts.at(-1)!, pathDisplay: existing?.pathDisplay ?? path, id: existing?.id ?? newId(), rev: randomBytes(8).toString('hex'), bytes, clientModified: now(), serverModified: now() };
    tree.set(path.toLowerCase(), node);
    return node;
  }
  for (const [path, content] of Object.entries(options.files ?? SEED)) put(path, Buffer.from(content));

  function meta(n: Node, tagged = true): Record<string, unknown> {
    const common = { ...(tagged ? { '.tag': n.tag } : {}), name: n.name, path_lower: n.pathDisplay.toLowerCase(), path_display: n.pathDisplay, id: n.id };
    if (n.tag === 'folder') return common;
    return { ...common, client_modified: n.clientModified, server_modified: n.serverModified, rev: n.rev, size: n.bytes!.length, is_downloadable: true, content_hash: contentHash(n.bytes!) };
  }
  const find = (path: string) => (path.startsWith('id:') ? [...tree.values()].find((n) => n.id === path) : tree.get(path.toLowerCase()));
  const listing = (dir: string, recursive: boolean) =>
    [...tree.keys()].filter((p) => (recursive ? p.startsWith(`${dir}/`) : parentOf(p) === dir)).sort();

  /** One page from the cursor's pending entries; a drained cursor later yields what changed since. */
  function page(c: Cursor): PeerResponse {
    const version = (p: string) => tree.get(p)?.rev ?? 'folder';
    const pending = c.pending.length ? c.pending : listing(c.path, c.recursive).filter((p) => c.seen.get(p) !== version(p));
    const taken = pending.slice(0, c.limit).filter((p) => tree.has(p));
    const seen = new Map(c.seen);
    for (const p of taken) seen.set(p, version(p));
    const next: Cursor = { ...c, seen, pending: pending.slice(c.limit) };
    const cursor = `AAE${randomBytes(24).toString('base64url')}`;
    cursors.set(cursor, next);
    return json(200, { entries: taken.map((p) => meta(tree.get(p)!)), cursor, has_more: next.pending.length > 0 });
  }

  const requirePath = (arg: Arg, fn: string): string | PeerResponse =>
    typeof arg.path === 'string' && PATH.test(arg.path) ? arg.path : text(400, `Error in call to API function "${fn}": ${content.has(fn) ? 'HTTP header "Dropbox-API-Arg"' : 'request body'}: path: '${String(arg.path)}' did not match pattern '${PATH_PATTERN}'`);

  const rpc = new Map<string, [scope: string, Handler]>([
    ['users/get_current_account', ['account_info.read', () => json(200, account)]],
    ['auth/token/revoke', ['', (_a, token) => {
      auth.revoke(token.token);
      return json(200, null);
    }]],
    ['files/get_metadata', ['files.metadata.read', (arg) => {
      const path = requirePath(arg, 'files/get_metadata');
      if (typeof path !== 'string') return path;
      if (path === '') return text(400, 'Error in call to API function "files/get_metadata": request body: path: The root folder is unsupported.');
      const node = find(path);
      return node ? json(200, meta(node)) : pathError('not_found');
    }]],
    ['files/list_folder', ['files.metadata.read', (arg) => {
      const path = requirePath(arg, 'files/list_folder');
      if (typeof path !== 'string') return path;
      const node = path === '' ? undefined : find(path);
      if (path !== '' && !node) return pathError('not_found');
      if (node?.tag === 'file') return pathError('not_folder');
      const limit = arg.limit === undefined ? 2000 : Number(arg.limit);
      if (!Number.isInteger(limit) || limit < 1 || limit > 2000) return text(400, `Error in call to API function "files/list_folder": request body: limit: ${String(arg.limit)} is not within range [1, 2000]`);
      return page({ path: node ? node.pathDisplay.toLowerCase() : '', recursive: arg.recursive === true, limit, seen: new Map(), pending: [] });
    }]],
    ['files/list_folder/continue', ['files.metadata.read', (arg) => {
      const c = cursors.get(String(arg.cursor));
      return c ? page(c) : json(409, { error_summary: 'reset/..', error: { '.tag': 'reset' } });
    }]],
  ]);

  const content = new Map<string, [scope: string, Handler]>([
    ['files/upload', ['files.content.write', (arg, _t, req) => {
      const path = requirePath(arg, 'files/upload');
      if (typeof path !== 'string') return path;
      if (!path.startsWith('/') || path.endsWith('/')) return text(400, `Error in call to API function "files/upload": HTTP header "Dropbox-API-Arg": path: '${path}' is not a file path`);
      const mode = typeof arg.mode === 'string' ? arg.mode : (arg.mode as { '.tag'?: string; update?: string } | undefined)?.['.tag'] ?? 'add';
      let target = path;
      let existing = find(target);
      if (existing?.tag === 'file' && mode === 'update' && (arg.mode as { update?: string }).update === existing.rev) return json(200, meta(put(target, req.body, existing), false));
      if (existing?.tag === 'file' && mode === 'overwrite') return json(200, meta(put(target, req.body, existing), false));
      for (let n = 1; existing && arg.autorename === true; n++) {
        target = path.replace(/(\.[^./]*)?$/, (ext) => ` (${n})${ext}`);
        existing = find(target);
      }
      if (existing) return json(409, { error_summary: `path/conflict/${existing.tag}/..`, error: { '.tag': 'path', reason: { '.tag': 'conflict', conflict: { '.tag': existing.tag } }, upload_session_id: randomBytes(8).toString('hex') } });
      return json(200, meta(put(target, req.body), false));
    }]],
    ['files/download', ['files.content.read', (arg) => {
      const path = requirePath(arg, 'files/download');
      if (typeof path !== 'string') return path;
      const node = find(path);
      if (!node) return pathError('not_found');
      if (node.tag === 'folder') return pathError('not_file');
      return { status: 200, headers: { 'content-type': 'application/octet-stream', 'dropbox-api-result': headerSafeJson(meta(node, false)) }, body: node.bytes! };
    }]],
  ]);

  function unauthorized(reason: string, fn: string, header: string): PeerResponse {
    if (reason === 'missing') return text(400, `Error in call to API function "${fn}": Must provide HTTP header "Authorization" or URL parameter "authorization".`);
    if (reason === 'malformed') return text(400, `Error in call to API function "${fn}": Invalid authorization value in HTTP header "Authorization": "${header}".  Expecting "Bearer <oauth2-access-token>".`);
    const tag = reason === 'expired' ? 'expired_access_token' : 'invalid_access_token';
    return json(401, { error_summary: `${tag}/`, error: { '.tag': tag } });
  }

  /** The argument of an RPC call (JSON body) or a content call (Dropbox-API-Arg header), or Dropbox's 400. */
  function argument(req: PeerRequest, fn: string, isContent: boolean): { arg: Arg } | { refused: PeerResponse } {
    const bad = (why: string) => ({ refused: text(400, `Error in call to API function "${fn}": ${why}`) });
    const type = req.headers['content-type'];
    if (isContent) {
      const raw = req.headers['dropbox-api-arg'];
      if (fn === 'files/upload' && type !== 'application/octet-stream' && type !== 'text/plain; charset=dropbox-cors-hack') return bad(`Bad HTTP "Content-Type" header: "${type}".  Expecting one of "application/octet-stream", "text/plain; charset=dropbox-cors-hack".`);
      if (typeof raw !== 'string') return bad('Must provide HTTP header "Dropbox-API-Arg" or URL parameter "arg".');
      // Node hands header bytes over as latin1: anything outside printable ASCII arrived unescaped.
      if (/[^\x20-\x7e]/.test(raw)) return bad('HTTP header "Dropbox-API-Arg": could not decode input as JSON');
      try {
        return { arg: JSON.parse(raw) as Arg };
      } catch {
        return bad('HTTP header "Dropbox-API-Arg": could not decode input as JSON');
      }
    }
    if (req.body.length === 0 && type === undefined && (fn === 'users/get_current_account' || fn === 'auth/token/revoke')) return { arg: {} };
    if (!/^application\/json(; *charset=utf-8)?$/i.test(type ?? '') && type !== 'text/plain; charset=dropbox-cors-hack') return bad(`Bad HTTP "Content-Type" header: "${type ?? ''}".  Expecting one of "application/json", "application/json; charset=utf-8", "text/plain; charset=dropbox-cors-hack".`);
    try {
      return { arg: (JSON.parse(req.body.toString('utf8')) as Arg | null) ?? {} };
    } catch {
      return bad('request body: could not decode input as JSON');
    }
  }

  let contentUrl = '';
  const peer = await startPeer((req) => {
    if (req.path === '/oauth2/authorize' && req.method === 'GET') return auth.authorize(req);
    if (req.path === '/oauth2/token') return auth.token(req);
    const fn = req.path.replace(/^\/2\//, '');
    const isContent = content.has(fn);
    const endpoint = rpc.get(fn) ?? content.get(fn);
    if (!req.path.startsWith('/2/') || !endpoint) return text(404, `Unknown API function: "${fn}"`);
    if (req.method !== 'POST') return text(405, `Error in call to API function "${fn}": Expecting POST`);
    if (options.strictHosts && isContent !== req.url.startsWith(contentUrl)) return text(400, `Error in call to API function "${fn}": this function is served on the ${isContent ? 'content' : 'API'} host`);
    const check = auth.bearer(req.headers.authorization);
    if (!check.ok) return unauthorized(check.reason, fn, req.headers.authorization ?? '');
    const [scope, handler] = endpoint;
    if (scope && !check.token.scopes.includes(scope)) return json(401, { error_summary: 'missing_scope/..', error: { '.tag': 'missing_scope', required_scope: scope } });
    const parsed = argument(req, fn, isContent);
    return 'refused' in parsed ? parsed.refused : handler(parsed.arg, check.token, req);
  });
  const forwarder = await forward(new URL(peer.url).port);
  contentUrl = forwarder.url;

  return {
    ...peer,
    contentUrl,
    grants: auth.grants,
    refusals: auth.refusals,
    tokens: auth.tokens,
    account,
    /** The file tree by path_lower, for inspection. */
    tree: tree as ReadonlyMap<string, Readonly<Node>>,
    denyNext: auth.denyNext,
    expire: auth.expire,
    expireAll: () => auth.expire(),
    revoke: auth.revoke,
    /** Every cursor issued so far answers 409 reset, as Dropbox does when a cursor must be rebuilt. */
    resetCursors: () => cursors.clear(),
    /** The next `times` requests get Dropbox's 429 with Retry-After. */
    rateLimitNext(times = 1, seconds = 1) {
      peer.inject({ status: 429, headers: { 'retry-after': String(seconds) }, body: JSON.stringify({ error_summary: 'too_many_requests/..', error: { reason: { '.tag': 'too_many_requests' }, retry_after: seconds } }) }, times);
    },
    async close() {
      await forwarder.close();
      await peer.close();
    },
  };
}

/** A loopback TCP forwarder: a second base URL onto the same HTTP peer. */
async function forward(port: string): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(port), '127.0.0.1');
    for (const [a, b] of [[client, upstream], [upstream, client]] as const) {
      sockets.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => {
        sockets.delete(a);
        b.destroy();
      });
      a.pipe(b);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}

export type DropboxPeer = Awaited<ReturnType<typeof startDropboxPeer>>;
