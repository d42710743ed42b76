import { tryParseCidr } from '../../net/cidr.js';
import { ipFamilyOf } from '../../net/ip.js';
import type { IPFamily, NodeFacts } from './types.js';

/**
 * The proxy's IP families. kube-proxy runs one proxier per family (a MetaProxier over an IPv4 and an IPv6
 * one), each with its own view of the flags that take a list per family (--cluster-cidr, the service CIDRs,
 * --nodeport-addresses); these helpers cut NodeFacts down to one family.
 */

/** The CIDR of one family in a comma-separated list (undefined if the list has none of it). */
function cidrOfFamily(list: string | undefined, f: IPFamily): string | undefined {
  for (const part of (list ?? '').split(',')) {
    const c = tryParseCidr(part.trim());
    if (c?.family === f) return c.toString();
  }
  return undefined;
}

/** Every CIDR of a comma-separated list, normalized; throws naming the bad entry or a repeated family. */
export function parseFamilyCidrs(list: string): string[] {
  const out: string[] = [];
  const seen = new Set<number>();
  for (const part of list.split(',')) {
    const c = tryParseCidr(part.trim());
    if (!c || !part.includes('/')) throw new Error(`"${part.trim()}" is not a CIDR`);
    if (seen.has(c.family)) throw new Error(`at most one CIDR per IP family, not "${list}"`);
    seen.add(c.family);
    out.push(c.toString());
  }
  return out;
}

/** The families this proxy serves: those of the service CIDRs, else of the cluster CIDRs, else IPv4. */
export function proxyFamilies(node: Pick<NodeFacts, 'serviceCIDR' | 'clusterCIDR'>): IPFamily[] {
  for (const list of [node.serviceCIDR, node.clusterCIDR]) {
    const fams = ([4, 6] as const).filter((f) => cidrOfFamily(list, f));
    if (fams.length) return fams;
  }
  return [4];
}

/** The node facts as one family's proxier sees them. */
export function familyFacts(node: NodeFacts, f: IPFamily): NodeFacts {
  return {
    ...node,
    clusterCIDR: cidrOfFamily(node.clusterCIDR, f),
    nodePodCIDR: cidrOfFamily(node.nodePodCIDR, f),
    serviceCIDR: cidrOfFamily(node.serviceCIDR, f),
    nodePortIPs: node.nodePortIPs?.filter((ip) => ipFamilyOf(ip) === f),
  };
}
