/**
 * @module test/peers/http-peer
 * The shared base of the provider peers: a real node:http server on 127.0.0.1 that logs every request it
 * receives (so a test can count what reached the provider) and can be told to misbehave for the next N
 * requests the way real providers do: an HTTP status (401 expired token, 429 with Retry-After, 500…), a slow
 * answer, a reset connection, or garbage. Each peer supplies only its own routes.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface PeerRequest {
  readonly method: string;
  /** Path without the query string, still percent-encoded as it arrived. */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** The full URL as the client addressed it (http://127.0.0.1:port/path?query). */
  readonly url: string;
}

export interface PeerResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Buffer;
}

/** How the next matching requests misbehave. */
export interface Fault {
  /** Answer this status instead of the route's answer. */
  readonly status?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Wait this long before answering (the route's answer, or the fault's status). */
  readonly delayMs?: number;
  /** Hold the answer until this settles: the test decides when the service answers, by an event, not a time. */
  readonly until?: Promise<unknown>;
  /** Destroy the connection without answering. */
  readonly reset?: boolean;
  /** Answer 200 with bytes that are not what the content type promises. */
  readonly garbage?: boolean;
  /** Only requests whose path starts with this are affected. Default: every request. */
  readonly path?: string;
}

export type Route = (req: PeerRequest) => PeerResponse | Promise<PeerResponse>;

export interface Peer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Every request received, in order (faulted ones included). */
  readonly requests: PeerRequest[];
  /** How many requests reached the peer, optionally only those whose path starts with `prefix`. */
  count(prefix?: string): number;
  /** The next `times` matching requests get this fault. Faults queue in order. */
  inject(fault: Fault, times?: number): void;
  close(): Promise<void>;
}

export const json = (status: number, value: unknown, headers: Record<string, string> = {}): PeerResponse => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  body: JSON.stringify(value),
});

export const xml = (status: number, text: string, headers: Record<string, string> = {}): PeerResponse => ({
  status,
  headers: { 'content-type': 'text/xml; charset=utf-8', ...headers },
  body: text,
});

export const text = (status: number, body: string, headers: Record<string, string> = {}): PeerResponse => ({
  status,
  headers: { 'content-type': 'text/plain; charset=utf-8', ...headers },
  body,
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function send(res: ServerResponse, answer: PeerResponse): void {
  res.writeHead(answer.status, answer.headers ?? {});
  res.end(answer.body ?? '');
}

/** Starts a peer on a free port of 127.0.0.1 with `route` answering every request that is not faulted. */
export async function startPeer(route: Route): Promise<Peer> {
  const requests: PeerRequest[] = [];
  const faults: { fault: Fault; left: number }[] = [];
  const sockets = new Set<Socket>();

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      void (async () => {
        const [path = '/', search = ''] = (req.url ?? '/').split('?', 2);
        const request: PeerRequest = {
          method: req.method ?? 'GET',
          path,
          query: new URLSearchParams(search),
          headers: req.headers,
          body: Buffer.concat(chunks),
          url: `http://${req.headers.host ?? '127.0.0.1'}${req.url ?? '/'}`,
        };
        requests.push(request);
        const slot = faults.find((f) => f.left > 0 && (!f.fault.path || path.startsWith(f.fault.path)));
        const fault = slot?.fault;
        if (slot) slot.left -= 1;
        if (fault?.delayMs) await sleep(fault.delayMs);
        if (fault?.until) await fault.until.catch(() => {});
        if (res.destroyed) return;
        if (fault?.reset) {
          req.socket.destroy();
          return;
        }
        if (fault?.garbage) {
          send(res, { status: 200, headers: { 'content-type': 'application/json' }, body: '\u0000<<not json {' });
          return;
        }
        if (fault?.status) {
          send(res, { status: fault.status, headers: { 'content-type': 'application/json', ...fault.headers }, body: fault.body ?? JSON.stringify({ error: `injected_${fault.status}` }) });
          return;
        }
        try {
          send(res, await route(request));
        } catch (e) {
          send(res, { status: 500, headers: { 'content-type': 'text/plain' }, body: `peer route failed: ${(e as Error).message}` });
        }
      })();
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    count: (prefix) => (prefix ? requests.filter((r) => r.path.startsWith(prefix)).length : requests.length),
    inject(fault, times = 1) {
      faults.push({ fault, left: times });
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
