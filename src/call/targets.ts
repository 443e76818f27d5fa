/**
 * @module call/targets
 * Refusing private and local addresses as service targets (NORI_BLOCK_PRIVATE_TARGETS): a WEBAPI URL pointed
 * at 10.0.0.5 or at a name resolving to 169.254.169.254 would let whoever sets it reach the deployment's own
 * network through nori. Every request nori sends (CALL, key checks, OAuth token, refresh, revocation, request
 * token) checks the address it connects to, at connection time (`guardedLookup` as the connection's lookup), so
 * a name that resolves differently later (DNS rebinding) is caught too; an address written in the URL, which is
 * connected to without a lookup, is checked before (`checkLiteralTarget`).
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/** What an address is: allowed only when plain unicast, `range` saying why not (ipaddr.js's range names). */
export interface AddressClass {
  readonly allowed: boolean;
  readonly range: string;
}

const ipv4 = (hi: number, lo: number) => new ipaddr.IPv4([hi >> 8, hi & 0xff, lo >> 8, lo & 0xff]);

function judgeV4(address: ipaddr.IPv4, form?: string): AddressClass {
  const range = address.range();
  if (range === 'unicast') return { allowed: true, range: form ?? range };
  return { allowed: false, range: form ? `${form} ${range}` : range };
}

/**
 * The IPv4 address(es) an IPv6 address carries, for the forms that deliver to them: IPv4-mapped (::ffff:0:0/96)
 * and IPv4-translated (::ffff:0:0:0/96, RFC 6145), IPv4-compatible (::/96, deprecated but still routed by some
 * stacks), NAT64's well-known prefix (64:ff9b::/96, RFC 6052, what DNS64 answers for IPv4-only names), 6to4
 * (2002::/16, RFC 3056) and Teredo (2001::/32, RFC 4380: the server, and the client inverted).
 */
function embedded(address: ipaddr.IPv6, range: string): { form: string; v4: ipaddr.IPv4[] } | undefined {
  const p = address.parts;
  const zeros = (from: number, to: number) => p.slice(from, to).every((x) => x === 0);
  if (range === 'ipv4Mapped' || range === 'rfc6145') return { form: range, v4: [ipv4(p[6]!, p[7]!)] };
  if (range === 'unicast' && zeros(0, 6)) return { form: 'ipv4Compatible', v4: [ipv4(p[6]!, p[7]!)] };
  if (range === 'rfc6052' && zeros(2, 6)) return { form: range, v4: [ipv4(p[6]!, p[7]!)] };
  if (range === '6to4') return { form: range, v4: [ipv4(p[1]!, p[2]!)] };
  if (range === 'teredo') return { form: range, v4: [ipv4(p[2]!, p[3]!), ipv4(p[6]! ^ 0xffff, p[7]! ^ 0xffff)] };
  return undefined;
}

/**
 * ipaddr.js reads a dotted IPv4 tail as IPv4-mapped whatever precedes it (`::127.0.0.1` becomes ::ffff:7f00:1):
 * the tail is written in hex first, so `::127.0.0.1` stays the IPv4-compatible ::7f00:1 it is. The zone is dropped.
 */
function parseV6(address: string): ipaddr.IPv6 {
  const bare = address.split('%', 1)[0]!;
  const cut = bare.lastIndexOf(':');
  const tail = bare.slice(cut + 1);
  if (!tail.includes('.')) return ipaddr.IPv6.parse(bare);
  const o = ipaddr.IPv4.parse(tail).octets;
  return ipaddr.IPv6.parse(`${bare.slice(0, cut + 1)}${((o[0]! << 8) | o[1]!).toString(16)}:${((o[2]! << 8) | o[3]!).toString(16)}`);
}

/**
 * Classifies an IP address with ipaddr.js's ranges: IPv4 and IPv6 `unicast` are allowed, every other range is
 * refused (private, loopback, link-local, unique-local, site-local, multicast, reserved and documentation,
 * benchmarking, discard…), and an IPv6 form that carries an IPv4 address is judged by that address. A string
 * that is not an IP address is refused, not guessed at.
 */
export function classifyAddress(address: string): AddressClass {
  const family = isIP(address);
  if (family === 0) return { allowed: false, range: 'invalid' };
  const parsed = family === 4 ? ipaddr.IPv4.parse(address) : parseV6(address);
  if (parsed.kind() === 'ipv4') return judgeV4(parsed as ipaddr.IPv4);
  const v6 = parsed as ipaddr.IPv6;
  const range = v6.range();
  // RFC 8215's local-use prefix: where the IPv4 sits depends on a prefix length only its operator knows.
  if (range === 'rfc6052' && v6.parts[2] === 1) return { allowed: false, range: 'rfc6052 local-use' };
  const carried = embedded(v6, range);
  if (carried) {
    for (const v4 of carried.v4) {
      const verdict = judgeV4(v4, carried.form);
      if (!verdict.allowed) return verdict;
    }
    return { allowed: true, range: carried.form };
  }
  return range === 'unicast' ? { allowed: true, range } : { allowed: false, range };
}

/** Whether nori refuses to connect to an IP address (see {@link classifyAddress}). */
export function isPrivateAddress(address: string): boolean {
  return !classifyAddress(address).allowed;
}

export class BlockedTarget extends Error {
  override name = 'BlockedTarget';
  readonly code = 'ERR_NORI_BLOCKED_TARGET';
  constructor(readonly host: string, readonly range: string) {
    super(`${host} is a private or local address (${range})`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
/** dns.lookup's shape, with `all: true`: what a deployment (split-horizon DNS) or a test may put in its place. */
export type Resolver = (hostname: string, options: LookupOptions & { all: true }, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;
/** A lookup as net.connect takes it. */
export type ConnectLookup = (hostname: string, options: LookupOptions, callback: LookupCallback) => void;

const systemResolver: Resolver = (hostname, options, callback) => dnsLookup(hostname, options, callback);

/**
 * A lookup for a connection that fails when any address the name resolves to is refused: the address checked
 * is the address connected to, so no later answer of the name (DNS rebinding) can slip in between.
 */
export function guardedLookup(resolve: Resolver = systemResolver): ConnectLookup {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, list) => {
      if (err) return callback(err, []);
      if (!list.length) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      for (const a of list) {
        const verdict = classifyAddress(a.address);
        if (!verdict.allowed) return callback(new BlockedTarget(`${hostname} (${a.address})`, verdict.range), []);
      }
      if (options.all) return callback(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  };
}

/** The host of a URL as an address when it is one (brackets of IPv6 removed), else undefined. */
function literalHost(url: string): string | undefined {
  const host = new URL(url).hostname;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return isIP(bare) ? bare : undefined;
}

/**
 * Throws BlockedTarget for a URL whose host is a refused IP address: such a URL is connected to without any
 * lookup, so the connection's guarded lookup never sees it. A name is left to the connection.
 */
export function checkLiteralTarget(url: string): void {
  const host = literalHost(url);
  if (host === undefined) return;
  const verdict = classifyAddress(host);
  if (!verdict.allowed) throw new BlockedTarget(host, verdict.range);
}

/**
 * Checks a URL's host before anything is sent, by its address or by resolving its name: a refusal before a flow
 * begins, not the guard (the connection checks again whatever the name resolves to then).
 */
export async function checkTarget(url: string, resolve: Resolver = systemResolver): Promise<void> {
  checkLiteralTarget(url);
  const host = new URL(url).hostname;
  if (literalHost(url) !== undefined) return;
  await new Promise<void>((done, reject) => guardedLookup(resolve)(host, {}, (err) => (err ? reject(err) : done())));
}
