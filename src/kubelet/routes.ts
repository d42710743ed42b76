import { deleteRoute, getRoutes, replaceRoute } from '../os/net.js';
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

/** Pure: routes to install for the other nodes. */
export function desiredPeerRoutes(self: string, nodes: { name: string; podCIDR?: string; ip?: string }[]): PeerRoute[] {
  return nodes
    .filter((n) => n.name !== self && n.podCIDR && n.ip)
    .map((n) => ({ cidr: n.podCIDR as string, via: n.ip as string }))
    .sort((a, b) => a.cidr.localeCompare(b.cidr));
}

export async function currentPeerRoutes(): Promise<PeerRoute[]> {
  const rows = await getRoutes(CURRENT_NS, 4, { proto: ROUTE_PROTO });
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
