import { run, runRaw } from '../os/exec.js';
import { addNetns, delNetns, listNetns, netnsPids } from '../os/netns.js';
import { ROUTE_PROTO, type PeerRoute } from '../kubelet/routes.js';
import { type Member, SERVICE_CIDR, UNDERLAY_PREFIX_LEN, nsName, overlappingRoutes } from './addressing.js';

/**
 * The lab's namespaces: `<prefix>-underlay` holds a bridge `br0`; every member (cp, nodeN, client) gets
 * a veth `eth0` whose peer `v-<role>` sits on that bridge. Nothing is created in the root namespace.
 */
export async function checkNoOverlap(): Promise<void> {
  const out = await run(['ip', '-json', 'route', 'show', 'table', 'all']);
  const dsts = (JSON.parse(out || '[]') as { dst?: string }[]).map((r) => r.dst ?? '');
  const bad = overlappingRoutes(dsts);
  if (bad.length)
    throw new Error(`the host already routes ${bad.join(', ')}, which overlaps the lab underlay 198.18.0.0/24`);
}

export async function createUnderlay(prefix: string): Promise<string> {
  const ns = nsName(prefix, 'underlay');
  await addNetns(ns);
  const links = await run(['ip', '-n', ns, '-json', 'link', 'show']);
  if (!(JSON.parse(links) as { ifname: string }[]).some((l) => l.ifname === 'br0')) {
    await run(['ip', '-n', ns, 'link', 'add', 'br0', 'type', 'bridge']);
  }
  await run(['ip', '-n', ns, 'link', 'set', 'br0', 'up']);
  return ns;
}

export async function attachMember(prefix: string, m: Member): Promise<string> {
  const underlay = nsName(prefix, 'underlay');
  const ns = nsName(prefix, m.role);
  await addNetns(ns);
  const peer = `v-${m.role}`.slice(0, 15);
  const res = await runRaw(['ip', '-n', underlay, 'link', 'show', peer]);
  if (res.code !== 0) {
    await run(['ip', '-n', underlay, 'link', 'add', peer, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
  }
  await run(['ip', '-n', underlay, 'link', 'set', peer, 'master', 'br0', 'up']);
  await run(['ip', '-n', ns, 'addr', 'replace', `${m.ip}/${UNDERLAY_PREFIX_LEN}`, 'dev', 'eth0']);
  await run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
  if (m.role.startsWith('node')) {
    // a node routes for its pods (and the proxy's NAT) inside its own namespace
    await run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    await run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.conf.all.rp_filter=0']);
    // Nodes have no default route (nothing leads out of the lab), so connections the node itself opens
    // to a ClusterIP need a route for the service range to reach the proxy's output-hook DNAT.
    await run(['ip', '-n', ns, 'route', 'replace', SERVICE_CIDR, 'dev', 'eth0']);
  }
  return ns;
}

/**
 * The control plane runs no kubelet and no overlay, yet pods talk to the API server: the pod's node DNATs
 * 10.96.0.1:443 to 198.18.0.1:6443 keeping the pod's source address, so the control plane needs a way back to
 * every pod CIDR — one route per node via that node's underlay IP (the kubelet's peer routes, same protocol tag).
 */
export async function routeControlPlaneToPods(prefix: string, routes: PeerRoute[]): Promise<void> {
  const ns = nsName(prefix, 'cp');
  for (const r of routes) await run(['ip', '-n', ns, 'route', 'replace', r.cidr, 'via', r.via, 'proto', ROUTE_PROTO]);
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
