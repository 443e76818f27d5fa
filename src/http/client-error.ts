/**
 * @module http/client-error
 * Refusals node makes below any request (its `clientError`: bytes its parser refuses, headers past
 * `maxHeaderSize`, a request that does not arrive within `headersTimeout`/`requestTimeout`), answered as nori
 * answers everything: a RESPONSE with a coded MESSAGE, then the connection is closed, since the parser cannot
 * find where the next request would start. Only the error's code goes to the log: node attaches the raw bytes
 * to the error (`rawPacket`), and they may hold an API key.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { MESSAGES, failure, type Failure } from '../errors.js';
import { buildRequestFailure } from '../xml/build.js';
import type { Connections } from './connections.js';

/** What node passes to `clientError`: llhttp's errors carry a code `HPE_*` and a fixed reason. */
export interface ClientError extends Error {
  readonly code?: string;
  readonly reason?: string;
}

/** llhttp's reasons are fixed sentences of its own ("Invalid header token"); anything else is not repeated. */
const PLAIN_REASON = /^[\w ,.'/()-]+$/;

function reasonOf(err: ClientError): string {
  const reason = typeof err.reason === 'string' ? err.reason : '';
  if (reason.length > 0 && reason.length <= 120 && PLAIN_REASON.test(reason)) return reason.toLowerCase();
  return err.code ?? 'unreadable';
}

/** The refusal for a client error, or undefined when there is no one left to answer (a reset connection). */
export function clientErrorFailure(err: ClientError, headerLimit: number): Failure | undefined {
  const code = err.code ?? '';
  if (code === 'HPE_HEADER_OVERFLOW') return failure('LIMIT_HEADER_SIZE', { limit: headerLimit });
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') return failure('REQUEST_TIMEOUT');
  if (code.startsWith('HPE_')) return failure('HTTP_MALFORMED', { reason: reasonOf(err) });
  return undefined;
}

/** A whole HTTP/1.1 response for a refusal written straight to the socket (there is no ServerResponse). */
export function rawRefusal(f: Failure): string {
  const status = MESSAGES[f.code].status;
  const body = buildRequestFailure(f);
  return `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\ncontent-type: text/xml; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`;
}

export interface ClientErrorContext {
  readonly connections: Connections;
  readonly log: FastifyBaseLogger;
  /** The server's `maxHeaderSize`, in bytes. */
  readonly headerLimit: number;
}

// The parser stays in error and reports again on every later chunk: a connection is refused once.
const refused = new WeakSet<Socket>();

/** nori's `clientErrorHandler`: answers in XML once the requests before the bad bytes have their answers. */
export function refuseClientError(err: ClientError, socket: Socket, context: ClientErrorContext): void {
  if (refused.has(socket)) return;
  refused.add(socket);
  const f = socket.destroyed ? undefined : clientErrorFailure(err, context.headerLimit);
  if (!f) {
    socket.destroy();
    return;
  }
  context.log.info({ status: MESSAGES[f.code].status, code: f.code, error: err.code }, 'request refused before it was read');
  context.connections.afterAnswered(socket, () => {
    if (socket.writable) socket.write(rawRefusal(f));
    socket.destroySoon();
  });
}
