/**
 * Node pod-CIDR allocation (either family): the cluster CIDR cut into subnets of `maskSize` bits, handed
 * out lowest first. The allocator holds no state of its own: the used set is derived from the Nodes'
 * spec.podCIDR(s) each time, so a restart can never hand out a duplicate.
 */
import { type Cidr, parseCidr, tryParseCidr } from '../../net/cidr.js';

/** kube-controller-manager's cidrset refuses more than 2^16 subnets per cluster CIDR. */
const MAX_MASK_DIFF = 16;

export class NodeCidrAllocator {
  readonly cluster: Cidr;
  readonly count: number;

  constructor(
    clusterCidr: string,
    readonly maskSize = 24,
  ) {
    this.cluster = parseCidr(clusterCidr).masked;
    if (maskSize < this.cluster.prefix || maskSize > this.cluster.bits - 2) {
      throw new Error(`node CIDR mask /${maskSize} does not fit in cluster CIDR ${clusterCidr}`);
    }
    if (maskSize - this.cluster.prefix > MAX_MASK_DIFF) {
      throw new Error(
        `node CIDR mask /${maskSize} cuts cluster CIDR ${clusterCidr} into more than 2^${MAX_MASK_DIFF} subnets`,
      );
    }
    this.count = Number(this.cluster.subnetCount(maskSize));
  }

  get family(): 4 | 6 {
    return this.cluster.family;
  }

  /** Index of a subnet inside the cluster CIDR, or undefined when it is not one of ours. */
  indexOf(cidr: string): number | undefined {
    const c = tryParseCidr(cidr);
    if (!c || c.prefix !== this.maskSize) return undefined;
    const i = this.cluster.subnetIndex(c);
    return i === undefined ? undefined : Number(i);
  }

  subnet(index: number): string {
    return this.cluster.subnet(this.maskSize, index).toString();
  }

  /** Lowest free subnet given the CIDRs in use; throws when the cluster CIDR is exhausted. */
  allocate(inUse: Iterable<string>): string {
    const used = new Set<number>();
    for (const c of inUse) {
      const i = this.indexOf(c);
      if (i !== undefined) used.add(i);
    }
    for (let i = 0; i < this.count; i++) if (!used.has(i)) return this.subnet(i);
    throw new Error(`cluster CIDR ${this.cluster} has no free /${this.maskSize} left`);
  }
}

/**
 * `--cluster-cidr` as kube-controller-manager takes it: one CIDR, or two of different families for dual
 * stack ("10.244.0.0/16,fd00:10:244::/56"), each cut at its family's mask size. The first is the primary.
 */
export function nodeCidrAllocators(clusterCidrs: string, maskSizeV4 = 24, maskSizeV6 = 64): NodeCidrAllocator[] {
  const parts = clusterCidrs
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (parts.length < 1 || parts.length > 2)
    throw new Error(`cluster CIDR "${clusterCidrs}": give one CIDR, or two of different IP families`);
  const out = parts.map((c) => new NodeCidrAllocator(c, parseCidr(c).family === 4 ? maskSizeV4 : maskSizeV6));
  if (out.length === 2 && out[0]!.family === out[1]!.family)
    throw new Error(`cluster CIDRs "${clusterCidrs}" must be of different IP families`);
  return out;
}
