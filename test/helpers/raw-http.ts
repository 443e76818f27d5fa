/**
 * @module test/helpers/raw-http
 * HTTP/1.1 by hand on one TCP connection, for what node:http and fetch will not do: pipelining requests,
 * sending half a body, malformed bytes. Responses are parsed as they arrive (Content-Length or chunked), in order.
 */
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { expectError, only, type Reply } from './xml.js';

export interface RawResponse {
  readonly status: number;
  /** Header names in lower case; a repeated header keeps its last value. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface RawConnection {
  readonly socket: Socket;
  /** Every whole response received so far, in order. */
  readonly responses: RawResponse[];
  /** Resolves once the server has closed the connection (or it was reset), with the bytes never parsed. */
  readonly closed: Promise<{ rest: string; error?: string }>;
  write(text: string | Buffer): void;
  /** Resolves once `n` responses have arrived; rejects if the connection closes before. */
  responsesBy(n: number): Promise<RawResponse[]>;
}

/** A request's text: `body` gets its Content-Length; `headers` may override Host. */
export function rawRequest(method: string, path: string, headers: Record<string, string>, body = ''): string {
  const all = { host: '127.0.0.1', ...headers, ...(body || method === 'POST' ? { 'content-length': String(Buffer.byteLength(body)) } : {}) };
  return `${method} ${path} HTTP/1.1\r\n${Object.entries(all).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n${body}`;
}

/** Takes one response off the front of `buf`, or undefined while it is incomplete. */
function parseOne(buf: Buffer): { response: RawResponse; used: number } | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let at = end + 4;
  if (headers['transfer-encoding'] === 'chunked') {
    const parts: Buffer[] = [];
    for (;;) {
      const eol = buf.indexOf('\r\n', at);
      if (eol < 0) return undefined;
      const size = parseInt(buf.subarray(at, eol).toString('latin1'), 16);
      if (buf.length < eol + 2 + size + 2) return undefined;
      parts.push(buf.subarray(eol + 2, eol + 2 + size));
      at = eol + 2 + size + 2;
      if (size === 0) return { response: { status, headers, body: Buffer.concat(parts).toString('utf8') }, used: at };
    }
  }
  const length = Number(headers['content-length'] ?? 0);
  if (buf.length < at + length) return undefined;
  return { response: { status, headers, body: buf.subarray(at, at + length).toString('utf8') }, used: at + length };
}

/** Opens a connection to `url` (http://host:port) and resolves once it is connected. */
export async function openRaw(url: string): Promise<RawConnection> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  const responses: RawResponse[] = [];
  const waiters: (() => void)[] = [];
  let pending = Buffer.alloc(0);
  let ended = false;
  const wake = () => waiters.splice(0).forEach((w) => w());
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    for (let one = parseOne(pending); one; one = parseOne(pending)) {
      responses.push(one.response);
      pending = pending.subarray(one.used);
    }
    wake();
  });
  const closed = new Promise<{ rest: string; error?: string }>((resolve) => {
    let error: string | undefined;
    socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
    socket.on('close', () => {
      ended = true;
      wake();
      resolve({ rest: pending.toString('utf8'), ...(error ? { error } : {}) });
    });
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return {
    socket,
    responses,
    closed,
    write: (text) => void socket.write(text),
    async responsesBy(n) {
      while (responses.length < n) {
        if (ended) throw new Error(`the connection closed after ${responses.length} of ${n} responses; unparsed: ${pending.toString('utf8').slice(0, 300)}`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
      return responses.slice(0, n);
    },
  };
}

/** Asserts a refusal of the whole request in nori's shape: this status, XML, one MESSAGE with this code. */
export function expectRefusal(r: RawResponse, status: number, code: string): Reply {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status}: ${r.body.slice(0, 300)}`);
  assert.equal(r.headers['content-type'], 'text/xml; charset=utf-8');
  return expectError(only(r.body), code);
}
