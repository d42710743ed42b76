import { formatIp } from '../../net/ip.js';
import { type IpRange, parseIpRange } from '../../net/range.js';

/**
 * LoadBalancer address pool: an inclusive range "A-B" (or a CIDR, or one address) of either family. Like
 * the node CIDR allocator it keeps no state: the addresses in use are read from the Services' status each time.
 */
export class AddressPool {
  private readonly range: IpRange;

  constructor(readonly spec: string) {
    try {
      this.range = parseIpRange(spec);
    } catch (e) {
      throw new Error((e as Error).message.replace(/^invalid address range/, 'invalid address pool'), { cause: e });
    }
  }

  get family(): 4 | 6 {
    return this.range.family;
  }

  get size(): number {
    return Number(this.range.size);
  }

  contains(ip: string): boolean {
    return this.range.contains(ip);
  }

  /** `wanted` when it is in the pool and free, otherwise the lowest free address; undefined when full. */
  allocate(inUse: Iterable<string>, wanted?: string): string | undefined {
    const used = new Set<string>(inUse);
    if (wanted) return this.contains(wanted) && !used.has(wanted) ? wanted : undefined;
    for (const ip of this.range.addresses(used.size + 1)) {
      const text = formatIp(ip);
      if (!used.has(text)) return text;
    }
    return undefined;
  }
}

/**
 * `--lb-pool`: one range, or two of different families separated by a comma (a dual-stack pool, as a
 * MetalLB IPAddressPool with an IPv4 and an IPv6 range). A dual-stack Service gets one address of each.
 */
export class AddressPools {
  private readonly pools: AddressPool[];

  constructor(readonly spec: string) {
    const parts = spec
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    if (parts.length === 0 || parts.length > 2)
      throw new Error(`invalid address pool "${spec}": one range, or one IPv4 and one IPv6 range`);
    this.pools = parts.map((p) => new AddressPool(p));
    if (this.pools.length === 2 && this.pools[0]!.family === this.pools[1]!.family)
      throw new Error(`invalid address pool "${spec}": two ranges must be of different families`);
  }

  /** The families there are addresses for, the first range's first. */
  get families(): (4 | 6)[] {
    return this.pools.map((p) => p.family);
  }

  forFamily(family: 4 | 6): AddressPool | undefined {
    return this.pools.find((p) => p.family === family);
  }

  contains(ip: string): boolean {
    return this.pools.some((p) => p.contains(ip));
  }
}
