/**
 * An inclusive address range of one family (pure): "A-B", a CIDR (all of its addresses) or one address.
 * The shape of LoadBalancer pools (MetalLB's address syntax) and of IPAM rangeStart/rangeEnd.
 */
import { parseCidr } from './cidr.js';
import { compareIp, formatIp, ipFromValue, tryParseIp, type Ip, type IpFamily } from './ip.js';

class InvalidRangeError extends Error {}

export class IpRange {
  constructor(
    readonly first: Ip,
    readonly last: Ip,
  ) {
    if (first.family !== last.family) throw new InvalidRangeError(`range ${this.toString()}: mixes IPv4 and IPv6`);
    if (compareIp(first, last) > 0) throw new InvalidRangeError(`range ${this.toString()}: end before start`);
  }

  get family(): IpFamily {
    return this.first.family;
  }

  get size(): bigint {
    return this.last.value - this.first.value + 1n;
  }

  contains(address: Ip | string): boolean {
    const ip = typeof address === 'string' ? tryParseIp(address) : address;
    return !!ip && ip.family === this.family && ip.value >= this.first.value && ip.value <= this.last.value;
  }

  nth(index: bigint | number): Ip {
    const i = BigInt(index);
    if (i < 0n || i >= this.size) throw new RangeError(`index ${i} is outside ${this.toString()}`);
    return ipFromValue(this.family, this.first.value + i);
  }

  /** Up to `limit` addresses from the first, in order. */
  *addresses(limit: number): Generator<Ip> {
    for (let i = 0n; i < this.size && i < BigInt(limit); i++) yield this.nth(i);
  }

  toString(): string {
    return `${formatIp(this.first)}-${formatIp(this.last)}`;
  }
}

/** Parse "A-B" (spaces around the dash allowed), "network/prefix" or a single address. */
export function parseIpRange(text: string): IpRange {
  const bad = (why: string) => new InvalidRangeError(`invalid address range ${JSON.stringify(text)}: ${why}`);
  const s = text.trim();
  const dash = s.split('-');
  if (dash.length === 2) {
    const [a, b] = dash.map((p) => p.trim()) as [string, string];
    const first = tryParseIp(a);
    const last = tryParseIp(b);
    if (!first) throw bad(`${JSON.stringify(a)} is not an IP address`);
    if (!last) throw bad(`${JSON.stringify(b)} is not an IP address`);
    try {
      return new IpRange(first, last);
    } catch (e) {
      throw bad((e as Error).message.replace(/^range \S+: /, ''));
    }
  }
  if (dash.length > 2) throw bad('more than one "-"');
  if (s.includes('/')) {
    try {
      const c = parseCidr(s);
      return new IpRange(c.network, c.last);
    } catch (e) {
      throw bad((e as Error).message);
    }
  }
  const ip = tryParseIp(s);
  if (!ip) throw bad('not an address, a CIDR or "first-last"');
  return new IpRange(ip, ip);
}
