/**
 * @module call/http-client
 * The one HTTP client nori sends with (CALL, key checks, OAuth 1.0a, RFC 7009 revocation): undici with
 * keep-alive connections reused across calls, a deadline per request, a cap on the response size, and, when
 * private targets are refused, a guarded lookup on every connection. simple-oauth2 opens its own connections:
 * it takes `connectionOptions` so the same guard holds for them. The only module that imports undici.
 */
import { Agent, request } from 'undici';
import { ours, safe, type Scrubbed } from '../scrub.js';
import { BlockedTarget, checkLiteralTarget, guardedLookup, type ConnectLookup, type Resolver } from './targets.js';

export interface OutgoingHttp {
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer | string | undefined;
}

export interface IncomingHttp {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Record<string, string>;
  readonly body: Buffer;
}

/** Why no answer came: the CALL's error code is chosen from this. */
export class HttpFailure extends Error {
  override name = 'HttpFailure';
  /** `reason`: nori's own words (a system error code, the refused host and address), never the service's. */
  constructor(readonly kind: 'timeout' | 'unreachable' | 'too_large' | 'blocked', readonly reason: Scrubbed, options?: { cause?: unknown }) {
    super(reason, options);
  }
}

export interface HttpClient {
  send(req: OutgoingHttp, timeoutMs: number): Promise<IncomingHttp>;
  /**
   * What a library that opens its own connections must be given to be held to the same rule: the guarded
   * lookup when private targets are refused (nothing otherwise). Throws HttpFailure('blocked') for a URL whose
   * host is a refused address, which a connection would reach without any lookup.
   */
  connectionOptions(url: string): { lookup?: ConnectLookup };
  close(): Promise<void>;
}

const TIMEOUT_CODES = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT']);

function classify(e: unknown): HttpFailure {
  if (e instanceof HttpFailure) return e;
  const err = e as { name?: string; code?: string; cause?: { code?: string }; message?: string };
  const code = err.code ?? err.cause?.code ?? '';
  // The guard's message names the host and the address it resolved to.
  if (code === 'ERR_NORI_BLOCKED_TARGET') return new HttpFailure('blocked', ours((err.cause as { message?: string } | undefined)?.message ?? err.message ?? 'a private address'), { cause: e });
  if (err.name === 'TimeoutError' || err.name === 'AbortError' || TIMEOUT_CODES.has(code)) return new HttpFailure('timeout', safe`timeout`, { cause: e });
  // Only the code: a message could quote the URL, and URLs may carry keys (Bayard's url_key).
  return new HttpFailure('unreachable', code ? ours(code.toLowerCase()) : safe`connection failed`, { cause: e });
}

export function createHttpClient(options: { maxResponseBytes: number; connections?: number; blockPrivateTargets?: boolean; resolve?: Resolver }): HttpClient {
  const block = options.blockPrivateTargets ?? false;
  // The lookup runs for every new connection, so a name that resolves to a private address later is caught too.
  const lookup = guardedLookup(options.resolve);
  const agent = new Agent({ keepAliveTimeout: 30_000, keepAliveMaxTimeout: 600_000, connections: options.connections ?? 128, ...(block ? { connect: { lookup } } : {}) });
  // An address written in the URL is connected to without any lookup: it is checked before.
  const checkLiteral = (url: string) => {
    if (!block) return;
    try {
      checkLiteralTarget(url);
    } catch (e) {
      if (e instanceof BlockedTarget) throw new HttpFailure('blocked', ours(e.message), { cause: e });
      throw e;
    }
  };
  return {
    connectionOptions(url) {
      checkLiteral(url);
      return block ? { lookup } : {};
    },
    async send(req, timeoutMs) {
      checkLiteral(req.url);
      const signal = AbortSignal.timeout(Math.max(1, timeoutMs));
      try {
        const res = await request(req.url, {
          method: req.method as 'GET',
          headers: req.headers,
          body: req.body ?? null,
          dispatcher: agent,
          signal,
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          // undici.request never follows redirects: a 3xx reaches the plugin as it is.
        });
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of res.body) {
          size += (chunk as Buffer).length;
          if (size > options.maxResponseBytes) {
            res.body.destroy();
            throw new HttpFailure('too_large', safe`the answer is larger than ${options.maxResponseBytes} bytes`);
          }
          chunks.push(chunk as Buffer);
        }
        const headers: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
        return { status: res.statusCode, headers, body: Buffer.concat(chunks) };
      } catch (e) {
        throw classify(e);
      }
    },
    close: () => agent.close(),
  };
}
