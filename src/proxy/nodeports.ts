import { normalizeCidr, parseCidr } from '../net/cidr.js';
import { isIp } from '../net/ip.js';
import { getAddrs } from '../os/net.js';
import { nsOf } from '../os/ns.js';

/**
 * kube-proxy's --nodeport-addresses: `primary` (the nftables mode's default) means the node's primary IP
 * (its InternalIP, or --node-ip); a list of CIDRs means every local address inside them. NodePorts answer
 * on these addresses only, not on the pod-bridge gateway, announced LoadBalancer IPs or other local ones.
 */
export type NodePortAddresses = 'primary' | string[];

export function parseNodePortAddresses(text: string): NodePortAddresses {
  if (text.trim() === 'primary') return 'primary';
  // normalizeCidr throws a clear error naming what is wrong with a bad entry
  return text.split(',').map((s) => normalizeCidr(s.trim()));
}

/** This node's addresses for NodePorts (both families: `primary` is the node's IP of each family); undefined
 * while the primary IP is not known yet. */
export async function resolveNodePortIPs(
  spec: NodePortAddresses,
  nodeIPs: readonly string[],
  netns?: string,
): Promise<string[] | undefined> {
  if (spec === 'primary') {
    const ips = nodeIPs.filter(isIp);
    return ips.length ? [...new Set(ips)] : undefined;
  }
  const cidrs = spec.map((c) => parseCidr(c));
  const out = new Set<string>();
  for (const link of await getAddrs(nsOf(netns))) {
    for (const a of link.addr_info ?? []) {
      const usable = a.family === 'inet' ? !a.local.startsWith('127.') : a.family === 'inet6' && a.local !== '::1';
      if (usable && cidrs.some((c) => c.family === (a.family === 'inet' ? 4 : 6) && c.contains(a.local)))
        out.add(a.local);
    }
  }
  return [...out].sort();
}
