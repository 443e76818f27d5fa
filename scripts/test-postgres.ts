/**
 * @module scripts/test-postgres
 * The PostgreSQL server of one `npm test` run when TEST_DATABASE_URL is not set (scripts/test.sh starts it):
 * a cluster from the server binaries npm installs (test/helpers/pg-cluster.ts), in a temporary folder, on a
 * free port. It prints the server's URL as its first line on stdout, then stops the server and deletes its
 * folder when its standard input closes (the script that started it ended, whichever way: even killed, it
 * closes its end) or on SIGINT, SIGTERM or SIGHUP (Ctrl-C reaches the whole foreground group).
 */
import { startCluster } from '../test/helpers/pg-cluster.js';

const starting = startCluster({ maxConnections: 100 });
let ending = false;

/** Stops the server, once it has started if it is still starting, and exits. */
async function end(code: number): Promise<void> {
  if (ending) return;
  ending = true;
  const cluster = await starting.catch(() => undefined);
  try {
    await cluster?.destroy();
  } catch (e) {
    console.error(`test-postgres: could not stop the server in ${cluster?.dir}: ${(e as Error).message}`);
    code = 1;
  }
  process.exit(code);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void end(0));
process.stdin.on('end', () => void end(0)).on('error', () => void end(0));
process.stdin.resume();

try {
  const cluster = await starting;
  // A signal that came while it started has it stopping already: then nothing is printed.
  if (!ending) process.stdout.write(`${cluster.url}\n`);
} catch (e) {
  console.error(`test-postgres: PostgreSQL did not start: ${(e as Error).message}`);
  await end(1);
}
