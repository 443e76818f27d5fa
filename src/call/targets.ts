/**
 * @module call/targets
 * Refusing private and local addresses as service targets (NORI_BLOCK_PRIVATE_TARGETS): a WEBAPI URL pointed
 * at 10.0.0.5 or at a name resolving to 169.254.169.254 would let whoever sets it reach the deployment's own
 * network through nori. CALL checks every address it connects to, at connection time, so a name that
 * resolves differently later (DNS rebinding) is caught too; the OAuth flows check before they send.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP } from 'node:net';

const PRIVATE = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.0.0.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 4], ['240.0.0.0', 4]] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
for (const [net, bits] of [['::', 128], ['::1', 128], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) PRIVATE.addSubnet(net, bits, 'ipv6');

/** Whether an IP address is private, local, link-local, multicast or reserved (IPv4-mapped IPv6 included). */
export function isPrivateAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
  if (mapped) return PRIVATE.check(mapped, 'ipv4');
  const family = isIP(address);
  return family === 0 ? true : PRIVATE.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class BlockedTarget extends Error {
  override name = 'BlockedTarget';
  readonly code = 'ERR_NORI_BLOCKED_TARGET';
  constructor(readonly host: string) {
    super(`${host} is a private or local address`);
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A dns.lookup for the HTTP client's connections that fails on private addresses. */
export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const list = addresses as LookupAddress[];
    const bad = list.find((a) => isPrivateAddress(a.address));
    if (bad) return callback(new BlockedTarget(`${hostname} (${bad.address})`), []);
    if (options.all) return callback(null, list);
    callback(null, list[0]!.address, list[0]!.family);
  });
}

/** Checks a URL's host before a request that cannot use the guarded lookup (the OAuth clients). */
export async function checkTarget(url: string): Promise<void> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    if (isPrivateAddress(host)) throw new BlockedTarget(host);
    return;
  }
  await new Promise<void>((resolve, reject) => guardedLookup(host, {}, (err) => (err ? reject(err) : resolve())));
}
