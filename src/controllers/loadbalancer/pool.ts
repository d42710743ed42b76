import { ipToNumber, ipToString } from '../nodeipam/cidr.js';

/**
 * LoadBalancer address pool: an inclusive IPv4 range "A-B" (or a CIDR, or one address). Like the node
 * CIDR allocator it keeps no state: the addresses in use are read from the Services' status each time.
 */
export class AddressPool {
  readonly first: number;
  readonly last: number;

  constructor(readonly spec: string) {
    const s = spec.trim();
    const dash = s.split('-');
    if (dash.length === 2) {
      this.first = parseIp(dash[0]!, spec);
      this.last = parseIp(dash[1]!, spec);
    } else if (s.includes('/')) {
      const [ip, len] = s.split('/');
      const prefix = Number(len);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > 32) throw new Error(`invalid address pool "${spec}"`);
      const size = 2 ** (32 - prefix);
      const base = Math.floor(parseIp(ip!, spec) / size) * size;
      this.first = base;
      this.last = base + size - 1;
    } else {
      this.first = this.last = parseIp(s, spec);
    }
    if (this.last < this.first) throw new Error(`invalid address pool "${spec}": end before start`);
  }

  get size(): number {
    return this.last - this.first + 1;
  }

  contains(ip: string): boolean {
    let n: number;
    try {
      n = ipToNumber(ip);
    } catch {
      return false;
    }
    return n >= this.first && n <= this.last;
  }

  /** `wanted` when it is in the pool and free, otherwise the lowest free address; undefined when full. */
  allocate(inUse: Iterable<string>, wanted?: string): string | undefined {
    const used = new Set<string>(inUse);
    if (wanted) return this.contains(wanted) && !used.has(wanted) ? wanted : undefined;
    for (let n = this.first; n <= this.last; n++) {
      const ip = ipToString(n);
      if (!used.has(ip)) return ip;
    }
    return undefined;
  }
}

function parseIp(s: string, spec: string): number {
  try {
    return ipToNumber(s.trim());
  } catch {
    throw new Error(`invalid address pool "${spec}": "${s}" is not an IPv4 address`);
  }
}
