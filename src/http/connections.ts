/**
 * @module http/connections
 * What nori owes each connection: the requests node has handed over on it (its 'request' event: the headers
 * arrived) whose answers have not gone out yet, in order. HTTP/1.1 answers go out in the order the requests
 * came, and node runs a pipelined request at once, beside the one before it. So the close must not end a
 * connection with an answer that has others queued behind it: they ran, and their answers would be lost.
 *
 * While closing, the answer to the most recent request on a connection carries `connection: close` (node
 * then ends the connection after it); one with requests behind it leaves the connection open for them; a
 * connection whose answers are all out is ended. A request that arrives during the close is refused before it
 * runs (server.ts), and its refusal is the newest answer, so it is the one that closes.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface Connections {
  /** True from the start of the close: new requests are refused and connections end after their last answer. */
  readonly closing: boolean;
  /**
   * Starts the close: ends every connection that is owed nothing now (idle, or part of a request's headers in),
   * since nothing of it has run. node's `server.close()` ends only the idle ones, and stops the timers that would
   * refuse slow headers, so a client sending headers byte by byte could hold the close open for ever.
   */
  close(): void;
  /** Whether `req` is the newest request on its connection: no request is queued behind it. */
  isNewest(req: IncomingMessage): boolean;
  /**
   * Runs `then` once every request on the socket whose body has fully arrived has been answered: bytes node
   * cannot parse came after them, and a refusal written now would be read as their answer, or cut them off.
   */
  afterAnswered(socket: Socket, then: () => void): void;
}

interface Owed {
  readonly requests: Set<IncomingMessage>;
  waiting?: () => void;
}

const answered = (owed: Owed) => ![...owed.requests].some((r) => r.complete);

/** Starts tracking the connections of `server`; call before it listens. */
export function trackConnections(server: Server): Connections {
  const sockets = new WeakMap<Socket, Owed>();
  const open = new Set<Socket>();
  let closing = false;
  server.on('connection', (socket: Socket) => {
    open.add(socket);
    socket.once('close', () => open.delete(socket));
  });

  // First of the 'request' listeners, so a request is counted before fastify answers it (a refusal is synchronous).
  server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    let owed = sockets.get(socket);
    if (!owed) sockets.set(socket, (owed = { requests: new Set() }));
    const entry = owed;
    entry.requests.add(req);
    let settled = false;
    // 'finish': the answer is handed to the socket; 'close' alone: the connection went first.
    const settle = () => {
      if (settled) return;
      settled = true;
      entry.requests.delete(req);
      if (entry.waiting && answered(entry)) {
        const then = entry.waiting;
        delete entry.waiting;
        then();
      } else if (closing && entry.requests.size === 0 && !socket.writableEnded) {
        // Its last answer was sent before the close began, with keep-alive: nothing more will come on it.
        socket.destroySoon();
      }
    };
    res.once('finish', settle);
    res.once('close', settle);
  });

  return {
    get closing() {
      return closing;
    },
    close() {
      closing = true;
      for (const socket of open) if (!sockets.get(socket)?.requests.size) socket.destroySoon();
    },
    isNewest(req) {
      const requests = sockets.get(req.socket)?.requests;
      if (!requests) return true;
      let newest: IncomingMessage | undefined;
      for (const r of requests) newest = r;
      return newest === req;
    },
    afterAnswered(socket, then) {
      const owed = sockets.get(socket);
      if (!owed || answered(owed)) then();
      else owed.waiting = then;
    },
  };
}
