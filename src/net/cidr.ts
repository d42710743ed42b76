/**
 * One CIDR shape for both families (pure). A Cidr keeps the address as written (an interface address such
 * as 10.244.1.5/24 keeps its host bits) and answers everything about the network it names: canonical text,
 * network / last / usable host range, size, membership, the n-th address and the offset of an address,
 * bounded iteration, and the subnets it splits into (node pod CIDRs).
 */
import { addToIp, compareIp, familyBits, formatIp, ipFromValue, tryParseIp, type Ip, type IpFamily } from './ip.js';

class InvalidCidrError extends Error {}

export interface ParseCidrOptions {
  /** Reject host bits ("10.0.0.1/24"): the error names the network meant (10.0.0.0/24). */
  strict?: boolean;
  /** Accept a bare address as a single-address CIDR (/32 or /128). */
  allowBareAddress?: boolean;
}

export class Cidr {
  private constructor(
    /** The address as written; host bits are kept (see `network` for the masked one). */
    readonly ip: Ip,
    readonly prefix: number,
  ) {}

  static of(ip: Ip, prefix: number): Cidr {
    if (!Number.isInteger(prefix) || prefix < 0 || prefix > familyBits(ip.family))
      throw new InvalidCidrError(`prefix length ${prefix} is outside 0-${familyBits(ip.family)} for IPv${ip.family}`);
    return new Cidr(ip, prefix);
  }

  get family(): IpFamily {
    return this.ip.family;
  }

  get bits(): 32 | 128 {
    return familyBits(this.ip.family);
  }

  private get hostMask(): bigint {
    return (1n << BigInt(this.bits - this.prefix)) - 1n;
  }

  /** The first address (host bits cleared). */
  get network(): Ip {
    return { family: this.family, value: this.ip.value & ~this.hostMask };
  }

  /** The last address (host bits set). */
  get last(): Ip {
    return { family: this.family, value: (this.ip.value & ~this.hostMask) | this.hostMask };
  }

  /** IPv4's directed broadcast address (the last one); IPv6 has none. */
  get broadcast(): Ip | undefined {
    return this.family === 4 ? this.last : undefined;
  }

  /** Number of addresses (2^(bits - prefix)). */
  get size(): bigint {
    return 1n << BigInt(this.bits - this.prefix);
  }

  /**
   * The usable host range, as the reference host-local IPAM sees it: the network address is never a host,
   * IPv4's broadcast is not either, IPv6's last address is. /31, /32, /127 and /128 have no reserved address
   * (RFC 3021, RFC 6164).
   */
  get firstHost(): Ip {
    return this.size <= 2n ? this.network : addToIp(this.network, 1n);
  }

  get lastHost(): Ip {
    return this.family === 4 && this.size > 2n ? addToIp(this.last, -1n) : this.last;
  }

  get hasHostBits(): boolean {
    return (this.ip.value & this.hostMask) !== 0n;
  }

  /** The same network with host bits cleared. */
  get masked(): Cidr {
    return this.hasHostBits ? new Cidr(this.network, this.prefix) : this;
  }

  /** Canonical "network/prefix" (host bits cleared, canonical address text). */
  toString(): string {
    return `${formatIp(this.network)}/${this.prefix}`;
  }

  /** "address/prefix" with the host bits as written (interface addresses, CNI results). */
  toAddressString(): string {
    return `${formatIp(this.ip)}/${this.prefix}`;
  }

  toJSON(): string {
    return this.toString();
  }

  equals(other: Cidr): boolean {
    return this.family === other.family && this.prefix === other.prefix && this.network.value === other.network.value;
  }

  /** Whether the address (an Ip or text) lies inside; text that is not an address, or another family, does not. */
  contains(address: Ip | string): boolean {
    const ip = typeof address === 'string' ? tryParseIp(address) : address;
    return !!ip && ip.family === this.family && (ip.value & ~this.hostMask) === this.network.value;
  }

  containsCidr(other: Cidr): boolean {
    return other.prefix >= this.prefix && this.contains(other.network);
  }

  overlaps(other: Cidr): boolean {
    return this.containsCidr(other) || other.containsCidr(this);
  }

  /** The address at `index` from the network address (0 = network); RangeError outside the CIDR. */
  nth(index: bigint | number): Ip {
    const i = BigInt(index);
    if (i < 0n || i >= this.size) throw new RangeError(`index ${i} is outside ${this.toString()} (size ${this.size})`);
    return ipFromValue(this.family, this.network.value + i);
  }

  /** The inverse of nth: the address's offset from the network address; undefined when outside. */
  offsetOf(address: Ip | string): bigint | undefined {
    const ip = typeof address === 'string' ? tryParseIp(address) : address;
    if (!ip || !this.contains(ip)) return undefined;
    return ip.value - this.network.value;
  }

  /** Up to `limit` addresses from offset `from`, in order; a limit is required (a /64 does not end). */
  *addresses(limit: number, from: bigint | number = 0n): Generator<Ip> {
    const start = BigInt(from);
    for (let i = start; i < this.size && i - start < BigInt(limit); i++) yield this.nth(i);
  }

  /** How many subnets of prefix length `prefix` this CIDR splits into. */
  subnetCount(prefix: number): bigint {
    this.checkSubnetPrefix(prefix);
    return 1n << BigInt(prefix - this.prefix);
  }

  /** The `index`-th subnet of prefix length `prefix` (node pod CIDRs cut from the cluster CIDR). */
  subnet(prefix: number, index: bigint | number): Cidr {
    const count = this.subnetCount(prefix);
    const i = BigInt(index);
    if (i < 0n || i >= count)
      throw new RangeError(`${this.toString()} has ${count} /${prefix} subnets, not index ${i}`);
    return new Cidr(ipFromValue(this.family, this.network.value + (i << BigInt(this.bits - prefix))), prefix);
  }

  /** The index of `child` among this CIDR's subnets of its prefix length; undefined when it is not one. */
  subnetIndex(child: Cidr): bigint | undefined {
    if (child.prefix < this.prefix || !this.containsCidr(child)) return undefined;
    return (child.network.value - this.network.value) >> BigInt(this.bits - child.prefix);
  }

  private checkSubnetPrefix(prefix: number): void {
    if (!Number.isInteger(prefix) || prefix < this.prefix || prefix > this.bits)
      throw new InvalidCidrError(`/${prefix} subnets do not fit in ${this.toString()}`);
  }
}

export function tryParseCidr(text: string, options: ParseCidrOptions = {}): Cidr | undefined {
  try {
    return parseCidr(text, options);
  } catch {
    return undefined;
  }
}

/** Parse "address/prefix" of either family; throws InvalidCidrError saying what is wrong with the text. */
export function parseCidr(text: string, options: ParseCidrOptions = {}): Cidr {
  const bad = (why: string) => new InvalidCidrError(`invalid CIDR ${JSON.stringify(text)}: ${why}`);
  if (typeof text !== 'string') throw bad('not a string');
  const slash = text.indexOf('/');
  if (slash < 0) {
    const ip = tryParseIp(text);
    if (ip && options.allowBareAddress) return Cidr.of(ip, familyBits(ip.family));
    throw bad(ip ? 'missing "/prefix-length"' : 'not an address/prefix-length');
  }
  const addressText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const ip = tryParseIp(addressText);
  if (!ip) throw bad(`${JSON.stringify(addressText)} is not an IP address`);
  const max = familyBits(ip.family);
  if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max)
    throw bad(`prefix length must be a number from 0 to ${max} for IPv${ip.family}`);
  const cidr = Cidr.of(ip, Number(prefixText));
  if (options.strict && cidr.hasHostBits) throw bad(`host bits are set (the network is ${cidr.toString()})`);
  return cidr;
}

/** Canonical text of a CIDR ("10.1.2.3/8" → "10.0.0.0/8"); throws InvalidCidrError. */
export function normalizeCidr(text: string, options: ParseCidrOptions = {}): string {
  return parseCidr(text, options).toString();
}

export function isCidr(text: string | undefined, options: ParseCidrOptions = {}): text is string {
  return typeof text === 'string' && tryParseCidr(text, options) !== undefined;
}

/** Order: family, then network address, then prefix length (wider first). */
export function compareCidr(a: Cidr, b: Cidr): number {
  return compareIp(a.network, b.network) || a.prefix - b.prefix;
}
