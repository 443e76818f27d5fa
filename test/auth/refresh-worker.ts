/**
 * One nori process of the single-flight test: opens the shared PostgreSQL schema and asks for the same
 * account's credentials N times at once, printing the access tokens it got as JSON.
 */
import pino from 'pino';
import { createEngine } from '../../src/engine.js';

const [url, schema, key, id, n] = process.argv.slice(2) as [string, string, string, string, string];
const engine = await createEngine({ database: { url, schema, poolSize: 10 }, secretKeys: [key], migrate: false, logger: pino({ level: 'silent' }) });
const results = await Promise.all(Array.from({ length: Number(n) }, () => engine.credentials(Number(id))));
await engine.close();
process.stdout.write(JSON.stringify(results));
