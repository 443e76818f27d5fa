/**
 * @module http/server
 * The HTTP face of the engine: `POST /` and `POST /nql` take a batch, `GET /health` reports readiness.
 * Authentication runs in onRequest, before any byte of the body is read, so a stranger cannot make nori
 * buffer a large body. Every refusal is a RESPONSE document with its code.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { maxHeaderSize } from 'node:http';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { readBindingCookies } from '../auth/browser-binding.js';
import type { CallbackResult, StartResult } from '../auth/service.js';
import type { Engine } from '../engine.js';
import { MESSAGES, failure, type Failure } from '../errors.js';
import type { Principal } from '../principal.js';
import { buildRequestFailure } from '../xml/build.js';
import { refuseClientError } from './client-error.js';
import { trackConnections } from './connections.js';

export interface ServerOptions {
  readonly engine: Engine;
  readonly logger: Logger;
  /** Largest XML body in bytes; a form-encoded body may be three times that (percent-encoding). */
  readonly maxBodyBytes: number;
}

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
  }
}

const XML_TYPE = 'text/xml; charset=utf-8';
const BATCH_PATHS = new Set(['/', '/nql']);

function refuse(reply: FastifyReply, f: Failure): FastifyReply {
  return reply.code(MESSAGES[f.code].status).type(XML_TYPE).send(buildRequestFailure(f));
}

/** Maps fastify's own errors (body too large, bad media type) to nori codes. */
function failureOf(err: FastifyError, req: FastifyRequest, limit: number): Failure | undefined {
  switch (err.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return failure('LIMIT_BODY_SIZE', { limit });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return failure('UNSUPPORTED_MEDIA_TYPE');
    case 'FST_ERR_CTP_EMPTY_BODY':
      return failure('XML_MALFORMED', { reason: 'the body is empty' });
    case 'ECONNRESET':
      // The body stopped coming: the client went away, or nori closed the connection on bytes it could not parse
      // (client-error.ts). No one reads this answer; it is no incident either.
      return failure('HTTP_MALFORMED', { reason: 'the connection closed before the whole body arrived' });
    default:
      req.log.debug({ code: err.code }, 'unmapped request error');
      return undefined;
  }
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page a browser sees when the flow had no return URL, or could not be tied to one. */
function callbackPage(result: CallbackResult | StartResult): string {
  const title = result.code === 'AUTHORIZED' ? 'Authorized' : 'Authorization not completed';
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head><body><h1>${title}</h1><p id="message">${escapeHtml(result.message)}</p><p><code id="code">${result.code}</code></p></body></html>`;
}

export function createServer(options: ServerOptions): FastifyInstance {
  const { engine, maxBodyBytes } = options;
  const log = options.logger as unknown as FastifyBaseLogger;
  const app = Fastify({
    loggerInstance: log,
    // nori writes its own one line per request (onResponse below), without query strings.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: () => randomUUID(),
    bodyLimit: maxBodyBytes,
    // Refusals during the close, and node's own below the request, are nori's XML (onRequest below, client-error.ts).
    return503OnClosing: false,
    http: { requireHostHeader: false },
    clientErrorHandler: (err, socket) => refuseClientError(err, socket, { connections, log, headerLimit: maxHeaderSize }),
  });
  const connections = trackConnections(app.server);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser(['application/xml', 'text/xml'], { parseAs: 'buffer', bodyLimit: maxBodyBytes }, (_req, body, done) => done(null, body));
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: maxBodyBytes * 3 }, (_req, body, done) => {
    const nql = new URLSearchParams(body as string).get('NQL');
    done(null, nql ?? '');
  });

  // First of all: during the close a new request is refused before any of it runs, so nothing runs that might not
  // be answered (connections.ts). Callbacks, not async functions, for the hooks every request takes: two promises fewer.
  app.addHook('onRequest', (req, reply, done) => {
    if (connections.closing) return void refuse(reply.header('retry-after', '5'), failure('SHUTTING_DOWN'));
    if (req.headers.host === undefined && req.raw.httpVersion === '1.1') {
      return void refuse(reply.header('connection', 'close'), failure('HTTP_MALFORMED', { reason: 'an HTTP/1.1 request needs a Host header' }));
    }
    done();
  });

  app.addHook('onRequest', async (req, reply) => {
    if (req.method !== 'POST' || !BATCH_PATHS.has(req.routeOptions.url ?? '')) return;
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return refuse(reply.header('www-authenticate', 'Bearer realm="nori"'), failure('AUTH_REQUIRED'));
    let principal: Principal | undefined;
    try {
      principal = await engine.authenticate(m[1]!);
    } catch (err) {
      req.log.error({ err: { name: (err as Error).name, code: (err as { code?: string }).code, message: (err as Error).message } }, 'cannot check the API key');
      return refuse(reply.header('retry-after', '5'), failure('SERVICE_UNAVAILABLE'));
    }
    if (!principal) return refuse(reply.header('www-authenticate', 'Bearer realm="nori", error="invalid_token"'), failure('AUTH_INVALID'));
    req.principal = principal;
  });

  // Closing (SIGTERM): node ends the connections idle when the close starts, not those that become idle after: a
  // keep-alive client would hold the close open for the keep-alive timeout (72 s). So while closing, the answer to
  // the newest request on a connection closes it; an answer with pipelined requests behind it does not, or their
  // answers would be lost though they ran (connections.ts).
  app.addHook('preClose', (done) => {
    connections.close();
    done();
  });
  app.addHook('onSend', (req, reply, payload, done) => {
    if (connections.closing && connections.isNewest(req.raw)) reply.header('connection', 'close');
    done(null, payload);
  });

  // One line per request (the child logger adds reqId): method, path (never the query string, which may carry codes), status, duration.
  app.addHook('onResponse', (req, reply, done) => {
    req.log.info(
      { method: req.method, path: req.url.split('?')[0], status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, contact: req.principal?.contactId },
      'request',
    );
    done();
  });

  const batch = async (req: FastifyRequest, reply: FastifyReply) => {
    const body = req.body as Buffer | string | undefined;
    if (body === undefined || body.length === 0) return refuse(reply, failure('XML_MALFORMED', { reason: 'the body is empty' }));
    const result = await engine.run(body, req.principal!);
    return reply.code(result.status).type(XML_TYPE).send(result.xml);
  };
  for (const path of BATCH_PATHS) app.post(path, batch);

  // The url AUTHORIZE answers: binds the flow to this browser (a cookie) and sends it on to the provider, once.
  app.get('/oauth/start', async (req, reply) => {
    const flows = new URLSearchParams(req.url.split('?')[1] ?? '').getAll('flow');
    const result = await engine.startAuthorization(flows.length === 1 ? flows[0]! : '', { browserBinding: readBindingCookies(req.headers.cookie) });
    // no-referrer: the provider never sees the start link, nor the callback's code and state, in a Referer.
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    if (result.location) return reply.header('set-cookie', result.cookie).redirect(result.location, 303);
    return reply.code(result.status).type('text/html; charset=utf-8').send(callbackPage(result));
  });

  // The browser comes back here from the provider. No API key: the single-use state and the browser's binding
  // cookie, set by the start link, are the credentials.
  app.get('/oauth/callback', async (req, reply) => {
    const query = new URLSearchParams(req.url.split('?')[1] ?? '');
    const result = await engine.finishAuthorization(query, { browserBinding: readBindingCookies(req.headers.cookie) });
    reply.header('cache-control', 'no-store').header('referrer-policy', 'no-referrer');
    if (result.location) return reply.redirect(result.location, 303);
    return reply.code(result.status).type('text/html; charset=utf-8').send(callbackPage(result));
  });

  app.get('/health', async (_req, reply) => {
    const ok = await engine.healthy();
    return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', database: engine.database.kind });
  });

  app.setNotFoundHandler((req, reply) => refuse(reply, failure('ROUTE_NOT_FOUND', { method: req.method, path: req.url.split('?')[0] ?? '' })));
  app.setErrorHandler((err: FastifyError, req, reply) => {
    const known = failureOf(err, req, maxBodyBytes);
    if (known) return refuse(reply, known);
    const incident = randomBytes(4).toString('hex');
    req.log.error({ incident, err: { name: err.name, code: err.code, message: err.message } }, 'request failed unexpectedly');
    return refuse(reply, failure('INTERNAL_ERROR', { incident }));
  });
  return app;
}
