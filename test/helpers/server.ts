/**
 * A real nori HTTP server on 127.0.0.1 for a test suite, over the suite's engine.
 */
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import type { Engine } from '../../src/engine.js';
import { createServer } from '../../src/http/server.js';

export interface RunningServer {
  readonly url: string;
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

/** `port` 0 (the default) takes any free port; a fixed one is for a suite that must know nori's URL beforehand. */
export async function startServer(engine: Engine, maxBodyBytes = 1 << 20, port = 0): Promise<RunningServer> {
  const app = createServer({ engine, logger: pino({ level: 'silent' }), maxBodyBytes });
  const url = await app.listen({ host: '127.0.0.1', port });
  return { url, app, close: () => app.close() };
}

/** GET without following redirects: the test looks at where nori sends the browser. */
export async function visit(url: string): Promise<{ status: number; location: string | null; body: string }> {
  const res = await fetch(url, { redirect: 'manual' });
  return { status: res.status, location: res.headers.get('location'), body: await res.text() };
}
