/**
 * @module bench/call-peer
 * The CALL benchmark's service, in its own process so that neither nori nor the direct client shares its event
 * loop: a test peer (test/peers/http-peer.ts) that knows one API key, answers /me for AUTHORIZE's key check
 * and echoes /echo?text=… as JSON. Prints {"url": …} once listening; SIGTERM stops it.
 */
import { json, startPeer, type Peer } from '../test/peers/http-peer.js';

const key = process.argv[2] ?? 'bench-key';
const peer: Peer = await startPeer((req) => {
  // The peer logs every request; a benchmark sends tens of thousands.
  if (peer.requests.length > 1000) peer.requests.length = 0;
  if (req.headers['x-api-key'] !== key) return json(401, { error: 'unknown_key' });
  if (req.path === '/me') return json(200, { owner: 'bench' });
  if (req.path === '/echo') return json(200, { text: req.query.get('text'), from: 'peer' });
  return json(404, { error: 'no_route' });
});
console.log(JSON.stringify({ url: peer.url }));
process.once('SIGTERM', () => void peer.close().then(() => process.exit(0)));
