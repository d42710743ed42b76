import { createHash } from 'node:crypto';
import type { DesiredState } from '../model/types.js';

/**
 * Which node answers ARP for a LoadBalancer IP (MetalLB's L2 mode): every proxy computes the same answer
 * from the same inputs, so exactly one node announces. Candidates are the ready nodes (for Local policy,
 * only those with an endpoint of the service); the winner has the smallest sha256(node "#" ip).
 */
export function lbOwner(ip: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestHash = '';
  for (const node of candidates) {
    const h = createHash('sha256').update(`${node}#${ip}`).digest('hex');
    if (best === undefined || h < bestHash || (h === bestHash && node < best)) {
      best = node;
      bestHash = h;
    }
  }
  return best;
}

/** The LoadBalancer IPs this node should announce. Pure. */
export function ownedLoadBalancerIPs(
  desired: DesiredState,
  nodeName: string,
  readyNodes: readonly string[],
): Set<string> {
  const out = new Set<string>();
  const ready = new Set(readyNodes);
  for (const st of desired.values()) {
    if (!st.loadBalancerIPs.length) continue;
    const candidates = st.externalLocal ? st.endpointNodes.filter((n) => ready.has(n)) : [...ready];
    for (const ip of st.loadBalancerIPs) if (lbOwner(ip, candidates) === nodeName) out.add(ip);
  }
  return out;
}
