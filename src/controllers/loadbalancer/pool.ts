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
