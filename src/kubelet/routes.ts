import { deleteRoute, getRoutes, replaceRoute } from '../os/net.js';
import { normalizeCidr, tryParseCidr } from '../net/cidr.js';
import { ipFamilyOf, normalizeIp } from '../net/ip.js';
import { CURRENT_NS } from '../os/ns.js';

/**
 * Bridge CNI without an overlay: this node reaches another node's pods through that node's underlay IP.
 * The kubelet (run with --pod-routes) keeps one `ip route replace <podCIDR> via <InternalIP>` per peer in
 * its own (node) namespace, tagged with a private routing protocol number so it removes exactly its own.
 */
export const ROUTE_PROTO = '252';

export interface PeerRoute {
  cidr: string;
  via: string;
}

export interface PeerNode {
  name: string;
  podCIDR?: string;
  /** dual stack: one pod CIDR per family */
  podCIDRs?: string[];
  /** the node's InternalIP(s) */
  ip?: string;
  ips?: string[];
}

/** Pure: routes to install for the other nodes, per family (a v6 pod CIDR goes via the node's v6 InternalIP). */
export function desiredPeerRoutes(self: string, nodes: PeerNode[]): PeerRoute[] {
  const out: PeerRoute[] = [];
  for (const n of nodes) {
    if (n.name === self) continue;
    const cidrs = n.podCIDRs?.length ? n.podCIDRs : n.podCIDR ? [n.podCIDR] : [];
    const ips = n.ips?.length ? n.ips : n.ip ? [n.ip] : [];
    for (const cidr of cidrs) {
      const family = tryParseCidr(cidr)?.family;
      const via = ips.find((ip) => ipFamilyOf(ip) === family);
      if (family && via) out.push({ cidr: normalizeCidr(cidr), via: normalizeIp(via) });
    }
  }
  return out.sort((a, b) => a.cidr.localeCompare(b.cidr));
}

async function currentPeerRoutes(): Promise<PeerRoute[]> {
  const rows = [
    ...(await getRoutes(CURRENT_NS, 4, { proto: ROUTE_PROTO })),
    ...(await getRoutes(CURRENT_NS, 6, { proto: ROUTE_PROTO })),
  ];
  return rows.filter((r) => r.gateway).map((r) => ({ cidr: r.dst, via: r.gateway as string }));
}

export async function syncPeerRoutes(desired: PeerRoute[]): Promise<void> {
  const current = await currentPeerRoutes();
  const want = new Map(desired.map((r) => [r.cidr, r.via]));
  for (const r of desired) {
    if (current.some((c) => c.cidr === r.cidr && c.via === r.via)) continue;
    await replaceRoute(CURRENT_NS, { dst: r.cidr, via: r.via, proto: ROUTE_PROTO });
  }
  for (const c of current) {
    if (!want.has(c.cidr)) await deleteRoute(CURRENT_NS, { dst: c.cidr, proto: ROUTE_PROTO });
  }
}
