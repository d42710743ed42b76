import { applyNetOps, ensureBridge, getLink, getRoutes, replaceRoute, setSysctl } from '../os/net.js';
import { CURRENT_NS, namedNs } from '../os/ns.js';
import { addNetns, delNetns, listNetns, netnsPids } from '../os/netns.js';
import { ROUTE_PROTO, type PeerRoute } from '../kubelet/routes.js';
import {
  type IpFamilyMode,
  type Member,
  SERVICE_CIDR,
  SERVICE_CIDR6,
  UNDERLAY6_PREFIX_LEN,
  UNDERLAY_PREFIX_LEN,
  nsName,
  overlappingRoutes,
  underlayIPv6,
} from './addressing.js';

/**
 * The lab's namespaces: `<prefix>-underlay` holds a bridge `br0`; every member (cp, nodeN, client) gets
 * a veth `eth0` whose peer `v-<role>` sits on that bridge. Nothing is created in the root namespace.
 */
export async function checkNoOverlap(): Promise<void> {
  const dsts = (await getRoutes(CURRENT_NS, 4, { table: 'all' })).map((r) => r.dst ?? '');
  const bad = overlappingRoutes(dsts);
  if (bad.length)
    throw new Error(`the host already routes ${bad.join(', ')}, which overlaps the lab underlay 198.18.0.0/24`);
}

export async function createUnderlay(prefix: string): Promise<string> {
  const name = nsName(prefix, 'underlay');
  await addNetns(name);
  const ns = namedNs(name);
  await ensureBridge(ns, { name: 'br0' });
  await applyNetOps(ns, [{ op: 'link-set', name: 'br0', up: true }]);
  return name;
}

export async function attachMember(prefix: string, m: Member, ipFamily: IpFamilyMode = 'ipv4'): Promise<string> {
  const underlay = namedNs(nsName(prefix, 'underlay'));
  const name = nsName(prefix, m.role);
  await addNetns(name);
  const ns = namedNs(name);
  const peer = `v-${m.role}`.slice(0, 15);
  if (!(await getLink(underlay, peer))) {
    await applyNetOps(underlay, [{ op: 'veth-add', name: peer, peer: 'eth0', peerNs: name }]);
  }
  await applyNetOps(underlay, [{ op: 'link-set', name: peer, master: 'br0', up: true }]);
  const v6 = ipFamily !== 'ipv4';
  await applyNetOps(ns, [
    { op: 'addr-add', dev: 'eth0', cidr: `${m.ip}/${UNDERLAY_PREFIX_LEN}`, replace: true },
    ...(v6
      ? [{ op: 'addr-add' as const, dev: 'eth0', cidr: `${underlayIPv6(m.ip)}/${UNDERLAY6_PREFIX_LEN}`, replace: true }]
      : []),
    { op: 'link-set', name: 'eth0', up: true },
  ]);
  if (m.role.startsWith('node')) {
    // a node routes for its pods (and the proxy's NAT) inside its own namespace
    await setSysctl(ns, 'net.ipv4.ip_forward', '1');
    await setSysctl(ns, 'net.ipv4.conf.all.rp_filter', '0');
    // Nodes have no default route (nothing leads out of the lab), so connections the node itself opens
    // to a ClusterIP need a route for the service range to reach the proxy's output-hook DNAT.
    await replaceRoute(ns, { dst: SERVICE_CIDR, dev: 'eth0' });
    if (v6) {
      await setSysctl(ns, 'net.ipv6.conf.all.forwarding', '1');
      await replaceRoute(ns, { dst: SERVICE_CIDR6, dev: 'eth0' });
    }
  }
  return name;
}

/**
 * The control plane runs no kubelet and no overlay, yet pods talk to the API server: the pod's node DNATs
 * 10.96.0.1:443 to 198.18.0.1:6443 keeping the pod's source address, so the control plane needs a way back to
 * every pod CIDR — one route per node via that node's underlay IP (the kubelet's peer routes, same protocol tag).
 */
export async function routeControlPlaneToPods(prefix: string, routes: PeerRoute[]): Promise<void> {
  const ns = namedNs(nsName(prefix, 'cp'));
  for (const r of routes) await replaceRoute(ns, { dst: r.cidr, via: r.via, proto: ROUTE_PROTO });
}

/** Every namespace carrying the lab prefix (nodes, pods, underlay...). */
export function labNamespaces(prefix: string): string[] {
  return listNetns().filter((n) => n === prefix || n.startsWith(`${prefix}-`));
}

/** Kill every process living in a lab namespace, then delete the namespaces (pods first). Idempotent. */
export async function deleteLabNamespaces(prefix: string): Promise<string[]> {
  const all = labNamespaces(prefix).sort((a, b) => Number(b.includes('-pod-')) - Number(a.includes('-pod-')));
  for (const ns of all) {
    for (const pid of await netnsPids(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  for (const ns of all) await delNetns(ns);
  return all;
}
