/**
 * IP addresses of both families (pure): parse, validate, format, compare and do arithmetic. Every address
 * in skiff goes through here, so IPv4 and IPv6 follow one set of rules:
 * - parsing is strict, as Go's net.ParseIP / Kubernetes' validation: dotted quads without leading zeros,
 *   IPv6 with an optional trailing dotted quad, no zone (`%eth0`), no surrounding spaces;
 * - text is canonical: dotted quads, RFC 5952 lowercase compressed IPv6, and IPv4-mapped addresses as
 *   `::ffff:a.b.c.d` (RFC 5952 §5, Go's netip);
 * - arithmetic is on bigints, so a /64 or a /0 is as easy as a /24.
 * Validation is ipaddr.js's; this module adds the value form (a bigint) that CIDR arithmetic needs.
 */
import ipaddr from 'ipaddr.js';

export type IpFamily = 4 | 6;
/** Kubernetes' names for the families (Service.spec.ipFamilies, EndpointSlice.addressType). */
export type IpFamilyName = 'IPv4' | 'IPv6';

/** An address as a value: its family and its bits as an unsigned integer. */
export interface Ip {
  readonly family: IpFamily;
  readonly value: bigint;
}

class InvalidIpError extends Error {}

const V4_MAPPED_PREFIX = 0xffffn << 32n;

export function familyBits(family: IpFamily): 32 | 128 {
  return family === 4 ? 32 : 128;
}

export function familyName(family: IpFamily): IpFamilyName {
  return family === 4 ? 'IPv4' : 'IPv6';
}

export function familyFromName(name: string): IpFamily | undefined {
  return name === 'IPv4' ? 4 : name === 'IPv6' ? 6 : undefined;
}

/** The largest value an address of this family can hold. */
function maxValue(family: IpFamily): bigint {
  return (1n << BigInt(familyBits(family))) - 1n;
}

export function tryParseIp(text: string): Ip | undefined {
  if (typeof text !== 'string') return undefined;
  if (ipaddr.IPv4.isValidFourPartDecimal(text))
    return { family: 4, value: bytesToBigint(ipaddr.IPv4.parse(text).toByteArray()) };
  if (!text.includes(':') || text.includes('%') || !/^[0-9a-fA-F:.]+$/.test(text)) return undefined;
  const hex = embeddedV4ToHex(text);
  if (hex === undefined || !ipaddr.IPv6.isValid(hex)) return undefined;
  return { family: 6, value: bytesToBigint(ipaddr.IPv6.parse(hex).toByteArray()) };
}

/** Parse an address of either family; throws InvalidIpError naming the text. */
export function parseIp(text: string): Ip {
  const ip = tryParseIp(text);
  if (!ip) throw new InvalidIpError(`invalid IP address ${JSON.stringify(text)}`);
  return ip;
}

/**
 * ipaddr.js reads "::1.2.3.4" as "::ffff:1.2.3.4"; Go (and RFC 4291) read the quad as the last 32 bits
 * whatever precedes it. Rewriting the quad as two hex groups first gives the RFC's reading.
 */
function embeddedV4ToHex(text: string): string | undefined {
  const dot = text.indexOf('.');
  if (dot < 0) return text;
  const colon = text.lastIndexOf(':');
  const quad = text.slice(colon + 1);
  if (colon > dot || !ipaddr.IPv4.isValidFourPartDecimal(quad)) return undefined;
  const [a, b, c, d] = ipaddr.IPv4.parse(quad).octets as [number, number, number, number];
  return `${text.slice(0, colon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

export function isIp(text: string | undefined): text is string {
  return typeof text === 'string' && tryParseIp(text) !== undefined;
}

/** A dotted-quad IPv4 address (an IPv4-mapped IPv6 address is not: it is written as IPv6). */
export function isIPv4(text: string | undefined): text is string {
  return typeof text === 'string' && ipaddr.IPv4.isValidFourPartDecimal(text);
}

export function isIPv6(text: string | undefined): text is string {
  return typeof text === 'string' && tryParseIp(text)?.family === 6;
}

/** The family of an address written as text; undefined when it is not an address. */
export function ipFamilyOf(text: string | undefined): IpFamily | undefined {
  return typeof text === 'string' ? tryParseIp(text)?.family : undefined;
}

export function formatIp(ip: Ip): string {
  if (ip.family === 4) return bigintToBytes(ip.value, 4).join('.');
  if (isV4Mapped(ip)) return `::ffff:${formatIp(unmapV4(ip))}`;
  return (ipaddr.fromByteArray(bigintToBytes(ip.value, 16)) as ipaddr.IPv6).toRFC5952String();
}

/** The canonical text of an address (2001:DB8:0::1 → 2001:db8::1); throws InvalidIpError. */
export function normalizeIp(text: string): string {
  return formatIp(parseIp(text));
}

export function ipFromValue(family: IpFamily, value: bigint): Ip {
  if (value < 0n || value > maxValue(family))
    throw new RangeError(`value ${value} is outside the IPv${family} address space`);
  return { family, value };
}

export function ipToBytes(ip: Ip): number[] {
  return bigintToBytes(ip.value, ip.family === 4 ? 4 : 16);
}

export function ipFromBytes(bytes: ArrayLike<number>): Ip {
  if (bytes.length !== 4 && bytes.length !== 16)
    throw new InvalidIpError(`an IP address has 4 or 16 bytes, not ${bytes.length}`);
  return { family: bytes.length === 4 ? 4 : 6, value: bytesToBigint(Array.from(bytes)) };
}

/** ::ffff:a.b.c.d */
export function isV4Mapped(ip: Ip): boolean {
  return ip.family === 6 && ip.value >> 32n === 0xffffn;
}

/** The IPv4 address inside an IPv4-mapped one; any other address is returned as it is. */
export function unmapV4(ip: Ip): Ip {
  return isV4Mapped(ip) ? { family: 4, value: ip.value & 0xffffffffn } : ip;
}

export function mapV4(ip: Ip): Ip {
  return ip.family === 4 ? { family: 6, value: V4_MAPPED_PREFIX | ip.value } : ip;
}

/** `ip + n`; throws RangeError when the result leaves the family's address space. */
export function addToIp(ip: Ip, n: bigint | number): Ip {
  return ipFromValue(ip.family, ip.value + BigInt(n));
}

export function ipEquals(a: Ip, b: Ip): boolean {
  return a.family === b.family && a.value === b.value;
}

/** Order: IPv4 before IPv6, then numerically (so 10.0.0.9 < 10.0.0.10, unlike string order). */
export function compareIp(a: Ip, b: Ip): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** compareIp over text; text that is not an address sorts after every address, by string. */
export function compareIpText(a: string, b: string): number {
  const pa = tryParseIp(a);
  const pb = tryParseIp(b);
  if (pa && pb) return compareIp(pa, pb);
  if (pa) return -1;
  if (pb) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function sortIps(texts: Iterable<string>): string[] {
  return [...texts].sort(compareIpText);
}

function bytesToBigint(bytes: readonly number[]): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function bigintToBytes(value: bigint, length: number): number[] {
  const out = new Array<number>(length);
  let v = value;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
