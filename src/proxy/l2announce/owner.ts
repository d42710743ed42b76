import { createHash } from 'node:crypto';
import type { DesiredState, ServiceState } from '../model/types.js';

/**
 * Which node answers ARP for a LoadBalancer IP (MetalLB's L2 mode): every proxy computes the same answer
 * from the same inputs, so exactly one node announces. The winner among the candidates is the one with the
 * smallest sha256(node "#" ip).
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

/** Nodes hosting a ready endpoint of any port of the Service (MetalLB's nodesWithEndpoint). */
function nodesWithReadyEndpoint(st: ServiceState): Set<string> {
  const out = new Set<string>();
  for (const sp of st.ports) for (const e of sp.clusterWideEndpoints) if (e.ready && e.nodeName) out.add(e.nodeName);
  return out;
}

function hasReadyEndpoint(st: ServiceState): boolean {
  return st.ports.some((sp) => sp.clusterWideEndpoints.some((e) => e.ready));
}

/**
 * The LoadBalancer IPs this node should announce, as MetalLB's L2 ShouldAnnounce: a Service with no ready
 * endpoint is announced by nobody; for externalTrafficPolicy Local the candidates are the members that
 * host a ready endpoint, otherwise every member. `members` are the nodes able to announce (live announcer
 * leases, or the Ready nodes when the proxy runs without membership). Pure.
 */
export function ownedLoadBalancerIPs(desired: DesiredState, nodeName: string, members: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const st of desired.values()) {
    if (!st.loadBalancerIPs.length || !hasReadyEndpoint(st)) continue;
    const withEp = st.externalLocal ? nodesWithReadyEndpoint(st) : undefined;
    const candidates = withEp ? members.filter((n) => withEp.has(n)) : [...members];
    for (const ip of st.loadBalancerIPs) if (lbOwner(ip, candidates) === nodeName) out.add(ip);
  }
  return out;
}
