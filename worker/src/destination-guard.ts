/**
 * The SSRF guard of webhook delivery: a customer-supplied URL must not reach loopback,
 * private, link-local or other non-public addresses (the metadata service at
 * 169.254.169.254, a Redis on 127.0.0.1…) unless an operator listed its host in
 * WEBHOOK_ALLOWED_HOSTS.
 *
 * The check runs inside the request's own `lookup`, on the addresses the socket will then
 * connect to, so a DNS answer cannot change between the check and the connection
 * (DNS rebinding). IP literals skip `lookup` in node, so they are checked up front.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { PermanentJobError } from './permanent-error.ts';

const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local (cloud metadata services)
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
] as const) {
  blocked.addSubnet(network, prefix, 'ipv6');
}

/** True for addresses a webhook may not reach by default; IPv4-mapped IPv6 counts as its IPv4. */
export function isNonPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) throw new Error(`"${address}" is not an IP address`);
  return blocked.check(address, family === 4 ? 'ipv4' : 'ipv6');
}

export class DestinationRefusedError extends PermanentJobError {
  constructor(
    readonly host: string,
    readonly address: string,
  ) {
    super(
      `destination refused: ${host === address ? address : `${host} resolves to ${address}, which`} is a ` +
        'loopback, private, link-local or otherwise non-public address (list the host in ' +
        'WEBHOOK_ALLOWED_HOSTS to allow it)',
    );
    this.name = 'DestinationRefusedError';
  }
}

export interface DestinationGuard {
  /**
   * The connection options for `url`: throws DestinationRefusedError for a refused IP
   * literal, and otherwise returns the `lookup` to give the request (none when allowed).
   */
  connectOptions(url: URL): { lookup?: LookupFunction };
}

export function createDestinationGuard(options: {
  /** Lower-case hostnames or IPs (no brackets) allowed even when non-public. */
  allowedHosts: readonly string[];
}): DestinationGuard {
  const allowed = new Set(options.allowedHosts);
  return {
    connectOptions(url) {
      const host = url.hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
      if (allowed.has(host)) return {};
      if (isIP(host) !== 0) {
        if (isNonPublicAddress(host)) throw new DestinationRefusedError(host, host);
        return {};
      }
      return { lookup: guardedLookup };
    },
  };
}

/** dns.lookup that keeps only public addresses, and fails when none is left. */
const guardedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
  dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, []);
    const usable = addresses.filter((entry) => !isNonPublicAddress(entry.address));
    if (usable.length === 0) {
      return callback(new DestinationRefusedError(hostname, addresses[0]?.address ?? 'no address'), []);
    }
    if (lookupOptions.all) return callback(null, usable);
    const [first] = usable;
    callback(null, first!.address, first!.family);
  });
};
