/**
 * Reverse-DNS names (pure): an address to its PTR name (RFC 1035 in-addr.arpa, RFC 3596 ip6.arpa nibbles)
 * and back, and the reverse zones a CIDR is served under. Names are written without the trailing dot;
 * parsing accepts it, and any letter case.
 */
import { Cidr } from './cidr.js';
import { ipFromBytes, ipToBytes, parseIp, type Ip } from './ip.js';

const V4_SUFFIX = 'in-addr.arpa';
const V6_SUFFIX = 'ip6.arpa';

/** 10.0.0.1 → "1.0.0.10.in-addr.arpa"; 2001:db8::1 → "1.0.0.0…8.b.d.0.1.0.0.2.ip6.arpa". */
export function reverseName(address: Ip | string): string {
  const ip = typeof address === 'string' ? parseIp(address) : address;
  return [...labelsOf(ip, ip.family === 4 ? 32 : 128).reverse(), ip.family === 4 ? V4_SUFFIX : V6_SUFFIX].join('.');
}

/** The address a complete PTR name stands for; undefined for a partial name, a zone, or anything else. */
export function parseReverseName(name: string): Ip | undefined {
  const n = name.toLowerCase().replace(/\.$/, '');
  if (n.endsWith(`.${V4_SUFFIX}`)) {
    const labels = n.slice(0, -V4_SUFFIX.length - 1).split('.');
    if (labels.length !== 4 || !labels.every((l) => /^(0|[1-9]\d{0,2})$/.test(l) && Number(l) <= 255)) return undefined;
    return ipFromBytes(labels.reverse().map(Number));
  }
  if (n.endsWith(`.${V6_SUFFIX}`)) {
    const labels = n.slice(0, -V6_SUFFIX.length - 1).split('.');
    if (labels.length !== 32 || !labels.every((l) => /^[0-9a-f]$/.test(l))) return undefined;
    const nibbles = labels.reverse().map((l) => parseInt(l, 16));
    const bytes: number[] = [];
    for (let i = 0; i < 32; i += 2) bytes.push((nibbles[i]! << 4) | nibbles[i + 1]!);
    return ipFromBytes(bytes);
  }
  return undefined;
}

/** Whether a name lies under either reverse tree (so a DNS server knows it is a PTR query to answer). */
export function isReverseName(name: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '');
  return [V4_SUFFIX, V6_SUFFIX].some((s) => n === s || n.endsWith(`.${s}`));
}

/**
 * The reverse zones that together cover a CIDR: one when its prefix sits on a label boundary (octets for
 * IPv4, nibbles for IPv6), else the CIDR split at the next boundary (10.0.0.0/23 → 0.0.10… and 1.0.10…),
 * as CoreDNS does for reverse zones. Throws when that would be more than `limit` zones.
 */
export function reverseZones(cidr: Cidr, limit = 256): string[] {
  const step = cidr.family === 4 ? 8 : 4;
  const boundary = Math.ceil(cidr.prefix / step) * step;
  const count = cidr.subnetCount(boundary);
  if (count > BigInt(limit))
    throw new RangeError(`${cidr.toString()} spans ${count} reverse zones (more than ${limit})`);
  const zones: string[] = [];
  for (let i = 0n; i < count; i++) {
    const sub = cidr.subnet(boundary, i);
    const labels = labelsOf(sub.network, boundary).reverse();
    zones.push([...labels, cidr.family === 4 ? V4_SUFFIX : V6_SUFFIX].join('.'));
  }
  return zones;
}

/** The leading `bits` of an address as reverse-name labels, most significant first. */
function labelsOf(ip: Ip, bits: number): string[] {
  const bytes = ipToBytes(ip);
  if (ip.family === 4) return bytes.slice(0, bits / 8).map(String);
  const nibbles = bytes.flatMap((b) => [(b >> 4).toString(16), (b & 15).toString(16)]);
  return nibbles.slice(0, bits / 4);
}
