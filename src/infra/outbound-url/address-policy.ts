import { createRequire } from 'node:module';
import { isIP } from 'node:net';

/** The part of ipaddr.js this file uses. */
interface IpAddrModule {
  parse(address: string): { kind(): 'ipv4' | 'ipv6'; range(): string };
}

/**
 * ipaddr.js exactly as request-filtering-agent (the connect-time filter)
 * loads it: resolved from that package, so both judge addresses with the same
 * library version and the same range tables (a copy hoisted for another
 * package, such as express's ipaddr.js 1.x, is not used).
 */
const ipaddr = createRequire(require.resolve('request-filtering-agent'))('ipaddr.js') as IpAddrModule;

/** How a refused range is named in error messages. */
const RANGE_LABELS: Record<string, string> = {
  loopback: 'loopback',
  private: 'private',
  uniqueLocal: 'private (IPv6 unique local)',
  linkLocal: 'link-local (where cloud metadata services live)',
  carrierGradeNat: 'carrier-grade NAT (shared address space)',
  multicast: 'multicast',
  broadcast: 'broadcast',
  unspecified: 'unspecified',
  ipv4Mapped: 'IPv4-mapped IPv6',
  reserved: 'reserved',
};

/**
 * Why a webhook (or any outbound request of ZapHub's) must not connect to
 * `address`, or null when it may. The rule is request-filtering-agent's own
 * (`allowPrivateIPAddress: false`): only addresses ipaddr.js classifies as
 * plain `unicast` are allowed; every special range is refused: loopback,
 * private (RFC 1918, IPv6 ULA), link-local (169.254.169.254 and other cloud
 * metadata endpoints), CGNAT (100.64/10, where e.g. Alibaba's metadata
 * lives), multicast, broadcast, unspecified, reserved and documentation
 * ranges, and the IPv6 forms that embed an IPv4 address (IPv4-mapped,
 * NAT64, 6to4, Teredo), whatever they embed.
 *
 * Not an IP address at all: refused too (the caller resolves names first).
 */
export function refusedAddressReason(address: string): string | null {
  if (isIP(address) === 0) return 'is not an IP address';
  const range = ipaddr.parse(address).range();
  if (range === 'unicast') return null;
  return `is a ${RANGE_LABELS[range] ?? `special-purpose (${range})`} address`;
}
