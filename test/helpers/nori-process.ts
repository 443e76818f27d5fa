/**
 * @module test/helpers/nori-process
 * nori as a real process: `nori serve` (and `nori keys create`) as children of the test, from source, on the
 * shared PostgreSQL in a fresh schema of their own, with their JSON log lines collected.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freshSchema, PG_URL } from './engine.js';
import { freePort } from './pg-cluster.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const ENTRY = 'test/fixtures/cli/nori.ts';

/** The environment of one nori installation: a schema, a secret key, a port. */
export async function noriEnv(): Promise<{ env: NodeJS.ProcessEnv; schema: string; port: number; url: string }> {
  const schema = freshSchema();
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: PG_URL,
    NORI_DB_SCHEMA: schema,
    NORI_SECRET_KEY: randomBytes(32).toString('base64'),
    NORI_HOST: '127.0.0.1',
    NORI_PORT: String(port),
    NORI_LOG_LEVEL: 'info',
  };
  return { env, schema, port, url: `http://127.0.0.1:${port}` };
}

const spawnNori = (args: string[], env: NodeJS.ProcessEnv) => spawn(process.execPath, ['--import', 'tsx', ENTRY, ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });

/** Runs a nori command to its end. */
export function runNori(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawnNori(args, env);
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c));
  child.stderr!.on('data', (c: Buffer) => (err += c));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

/** An admin API key for contact 1, made by `nori keys create` as an operator would. */
export async function createAdminKey(env: NodeJS.ProcessEnv): Promise<string> {
  const r = await runNori(['keys', 'create', '--contact', '1', '--admin'], env);
  if (r.code !== 0) throw new Error(`nori keys create exited ${r.code}: ${r.err}`);
  return r.out.trim();
}

export interface NoriProcess {
  readonly child: ChildProcess;
  /** Every line the process wrote on stdout (its JSON log) and stderr. */
  readonly stdout: string[];
  readonly stderr: string[];
  /** Resolves with the exit code and signal once the process has ended. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills the process if it is still running (SIGKILL), and waits for it. */
  stop(): Promise<void>;
}

/** Starts `nori serve` and waits for its "nori is listening" line (at most `timeoutMs`). */
export async function startNori(env: NodeJS.ProcessEnv, timeoutMs = 30_000): Promise<NoriProcess> {
  const child = spawnNori(['serve'], env);
  const stdout: string[] = [];
  const stderr: string[] = [];
  const lines = (into: string[]) => {
    let rest = '';
    return (chunk: Buffer) => {
      const parts = (rest + chunk.toString('utf8')).split('\n');
      rest = parts.pop()!;
      into.push(...parts);
    };
  };
  child.stdout!.on('data', lines(stdout));
  child.stderr!.on('data', lines(stderr));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const proc: NoriProcess = {
    child,
    stdout,
    stderr,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  const deadline = Date.now() + timeoutMs;
  while (!stdout.some((l) => l.includes('"msg":"nori is listening"'))) {
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await proc.stop();
      throw new Error(`nori serve did not start (exit ${child.exitCode}, signal ${child.signalCode}):\n${[...stdout, ...stderr].join('\n').slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  return proc;
}
