/**
 * Node pod-CIDR allocation (IPv4): the cluster CIDR cut into subnets of `maskSize` bits, handed out
 * lowest first. The allocator holds no state of its own: the used set is derived from the Nodes'
 * spec.podCIDR(s) each time, so a restart can never hand out a duplicate.
 */
export interface Cidr {
  base: number; // network address as uint32
  prefix: number;
}

export function parseCidr(s: string): Cidr {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s.trim());
  if (!m) throw new Error(`invalid IPv4 CIDR "${s}"`);
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) throw new Error(`invalid IPv4 CIDR "${s}"`);
  const prefix = Number(m[5]);
  if (prefix > 32) throw new Error(`invalid IPv4 CIDR "${s}": prefix > 32`);
  const ip = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { base: (ip & mask) >>> 0, prefix };
}

export function ipToString(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

export function ipToNumber(s: string): number {
  const c = parseCidr(`${s}/32`);
  return c.base;
}

export function formatCidr(c: Cidr): string {
  return `${ipToString(c.base)}/${c.prefix}`;
}

export class NodeCidrAllocator {
  readonly cluster: Cidr;
  readonly count: number;

  constructor(
    clusterCidr: string,
    readonly maskSize = 24,
  ) {
    this.cluster = parseCidr(clusterCidr);
    if (maskSize < this.cluster.prefix || maskSize > 30) {
      throw new Error(`node CIDR mask /${maskSize} does not fit in cluster CIDR ${clusterCidr}`);
    }
    this.count = 2 ** (maskSize - this.cluster.prefix);
  }

  /** Index of a subnet inside the cluster CIDR, or undefined when it is not one of ours. */
  indexOf(cidr: string): number | undefined {
    let c: Cidr;
    try {
      c = parseCidr(cidr);
    } catch {
      return undefined;
    }
    if (c.prefix !== this.maskSize) return undefined;
    const offset = c.base - this.cluster.base;
    if (offset < 0 || offset >= this.count * 2 ** (32 - this.maskSize)) return undefined;
    return offset / 2 ** (32 - this.maskSize);
  }

  subnet(index: number): string {
    return formatCidr({ base: (this.cluster.base + index * 2 ** (32 - this.maskSize)) >>> 0, prefix: this.maskSize });
  }

  /** Lowest free subnet given the CIDRs in use; throws when the cluster CIDR is exhausted. */
  allocate(inUse: Iterable<string>): string {
    const used = new Set<number>();
    for (const c of inUse) {
      const i = this.indexOf(c);
      if (i !== undefined) used.add(i);
    }
    for (let i = 0; i < this.count; i++) if (!used.has(i)) return this.subnet(i);
    throw new Error(`cluster CIDR ${formatCidr(this.cluster)} has no free /${this.maskSize} left`);
  }
}
