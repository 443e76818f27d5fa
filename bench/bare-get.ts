/**
 * @module bench/bare-get
 * The floor of the small-requests benchmark in a process of its own: a bare `node:http` server that answers
 * every request with one SELECT of account 1 through a `pg` pool of nori's size, written to the bytes nori
 * sends. `node bench/bare-get.ts <schema> [prepared]`; with `prepared`, the statement is a named one, planned
 * once per connection as nori's is (a reference, not the floor). Prints one line `{"url": …}` when listening.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { OWNER, PG_URL } from './common.js';
import { ACCOUNT_COLUMNS, resultsXml } from './xml.js';

const [schema, mode] = process.argv.slice(2);
if (!schema) throw new Error('usage: bare-get.ts <schema> [prepared]');
const pool = new pg.Pool({ connectionString: PG_URL, max: 10 });
const text = `SELECT ${ACCOUNT_COLUMNS.map((c) => `"${c}"`).join(', ')} FROM "${schema}".webaccount WHERE id = $1`;
const query = mode === 'prepared' ? { name: 'bench_get', text, values: [1] } : { text, values: [1] };
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    pool.query(query).then(
      ({ rows }) => res.writeHead(200, { 'content-type': 'text/xml; charset=utf-8' }).end(resultsXml('GET', rows, { hits: rows.length }, OWNER)),
      (e: Error) => res.writeHead(500).end(e.message),
    );
  });
});
server.keepAliveTimeout = 30_000;
server.listen(0, '127.0.0.1', () => console.log(JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/` })));
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => void pool.end());
});
