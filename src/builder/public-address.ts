/**
 * Which network addresses are the public internet. A source without a checksum is fetched only from
 * there (unless the user named its origin): its content is not known beforehand, so a package could
 * otherwise have ecocheck fetch what a service of the machine's own network holds — a cloud metadata
 * endpoint (169.254.169.254 on CI runners holds credentials), a database's HTTP port on loopback, an
 * intranet page — and have the build print it into its log and the report, which a pull-request
 * workflow posts as a comment. A source with a checksum is not concerned: what it gets must match a
 * hash the package's author wrote, so nothing unknown can come of it.
 */
import { BlockList, isIP } from 'node:net';

/** Loopback, private, link-local, shared (CGNAT), multicast, reserved and unspecified ranges. */
const NOT_PUBLIC = (() => {
  const b = new BlockList();
  for (const [net, bits] of [
    ['0.0.0.0', 8],
    ['10.0.0.0', 8],
    ['100.64.0.0', 10],
    ['127.0.0.0', 8],
    ['169.254.0.0', 16],
    ['172.16.0.0', 12],
    ['192.0.0.0', 24],
    ['192.168.0.0', 16],
    ['198.18.0.0', 15],
    ['224.0.0.0', 4],
    ['240.0.0.0', 4],
  ] as const) {
    b.addSubnet(net, bits, 'ipv4');
  }
  for (const [net, bits] of [
    ['::', 128],
    ['::1', 128],
    ['fe80::', 10],
    ['fc00::', 7],
    ['ff00::', 8],
  ] as const) {
    b.addSubnet(net, bits, 'ipv6');
  }
  return b;
})();

/** The IPv4 address an IPv6 address carries (`::ffff:a.b.c.d`, NAT64 `64:ff9b::/96`), else null. */
function embeddedIPv4(address: string): string | null {
  const m = /^(?:::ffff:|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (m) return m[1];
  const hex = /^(?:::ffff:|64:ff9b::)([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (!hex) return null;
  const hi = parseInt(hex[1], 16);
  const lo = parseInt(hex[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Whether `address` (an IP address, v4 or v6) is on the public internet. Anything else is not. */
export function isPublicAddress(address: string): boolean {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 4) return !NOT_PUBLIC.check(bare, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIPv4(bare);
    if (v4 !== null) return isPublicAddress(v4);
    return !NOT_PUBLIC.check(bare, 'ipv6');
  }
  return false;
}
