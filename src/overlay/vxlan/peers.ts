/**
 * Pure overlay logic: from the list of nodes to the FDB / neighbour / route entries this node's VTEP must
 * hold, and from (actual, desired) to the ordered list of kernel operations. No I/O, so every rule here is
 * unit-tested without root.
 *
 * Per peer (flannel's vxlan backend, one /24 per node):
 *   neigh  <peer subnet .0>  lladdr <peer vtep mac>  nud permanent   (no ARP across the overlay)
 *   fdb    <peer vtep mac>   dst <peer underlay ip>                  (which node to send the frame to)
 *   route  <peer podCIDR>    via <peer subnet .0> onlink              (send pod traffic into the VTEP)
 */
import { z } from 'zod';
import { type Cidr, parseCidr } from '../../net/cidr.js';
import { formatIp, isIPv4 } from '../../net/ip.js';
import type { FdbEntry, NeighEntry, OverlayEntries, OverlayOp, RouteEntry } from '../../os/vxlan.js';

export type { OverlayEntries, OverlayOp };

const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

const peerSchema = z.object({
  name: z.string().min(1),
  podCIDR: z.string().optional(),
  publicIP: z.string().optional(),
  vtepMAC: z.string().optional(),
});
export type Peer = z.infer<typeof peerSchema>;
export const peersFileSchema = z.array(peerSchema);

export interface SelfInfo {
  name: string;
  /** This node's own pod subnet: never routed through the overlay. */
  podCIDR?: string;
  publicIP?: string;
}

interface SkippedPeer {
  name: string;
  reason: string;
}

export interface DesiredResult {
  desired: OverlayEntries;
  /** Peers left out, with why (missing annotation, bad CIDR, overlap...): the agent logs these. */
  skipped: SkippedPeer[];
}

/**
 * The entries this node needs for the given peers. Skips itself (by name or by its own underlay IP), peers
 * without a podCIDR / public IP / VTEP MAC (not ready yet: a node publishes its MAC after start), peers
 * whose subnet is outside the cluster network, and peers whose subnet overlaps this node's or an earlier
 * peer's (the first by name wins, so the outcome does not depend on list order).
 */
export function desiredEntries(self: SelfInfo, peers: readonly Peer[], clusterCIDR?: string): DesiredResult {
  const cluster = clusterCIDR ? parseCidr(clusterCIDR).masked : undefined;
  const own = self.podCIDR ? parseCidr(self.podCIDR).masked : undefined;
  const skipped: SkippedPeer[] = [];
  const fdb = new Map<string, FdbEntry>();
  const neigh: NeighEntry[] = [];
  const routes: RouteEntry[] = [];
  const taken: { name: string; cidr: Cidr }[] = [];
  const macOwner = new Map<string, string>();

  const sorted = [...peers].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const p of sorted) {
    if (p.name === self.name) continue;
    if (self.publicIP && p.publicIP === self.publicIP) {
      skipped.push({ name: p.name, reason: `has this node's underlay IP ${p.publicIP}` });
      continue;
    }
    if (!p.podCIDR) {
      skipped.push({ name: p.name, reason: 'no podCIDR yet' });
      continue;
    }
    if (!p.publicIP || !isIPv4(p.publicIP)) {
      skipped.push({ name: p.name, reason: p.publicIP ? `bad public IP ${p.publicIP}` : 'no public IP yet' });
      continue;
    }
    const mac = p.vtepMAC?.toLowerCase();
    if (!mac || !MAC.test(mac)) {
      skipped.push({ name: p.name, reason: mac ? `bad VTEP MAC ${p.vtepMAC}` : 'no VTEP MAC yet' });
      continue;
    }
    let cidr: Cidr;
    try {
      cidr = parseCidr(p.podCIDR).masked;
    } catch (err) {
      skipped.push({ name: p.name, reason: (err as Error).message });
      continue;
    }
    if (cluster && !cluster.containsCidr(cidr)) {
      skipped.push({ name: p.name, reason: `podCIDR ${cidr} outside the cluster network ${cluster}` });
      continue;
    }
    if (own?.overlaps(cidr)) {
      skipped.push({ name: p.name, reason: `podCIDR ${cidr} overlaps this node's ${own}` });
      continue;
    }
    const clash = taken.find((t) => t.cidr.overlaps(cidr));
    if (clash) {
      skipped.push({ name: p.name, reason: `podCIDR ${cidr} overlaps node ${clash.name}'s ${clash.cidr}` });
      continue;
    }
    const macClash = macOwner.get(mac);
    if (macClash) {
      skipped.push({ name: p.name, reason: `VTEP MAC ${mac} already used by node ${macClash}` });
      continue;
    }
    taken.push({ name: p.name, cidr });
    macOwner.set(mac, p.name);
    fdb.set(mac, { mac, dst: p.publicIP });
    neigh.push({ ip: formatIp(cidr.network), mac });
    routes.push({ dst: cidr.toString(), via: formatIp(cidr.network) });
  }
  return { desired: { fdb: [...fdb.values()], neigh, routes }, skipped };
}

const fdbKey = (e: FdbEntry) => `${e.mac}|${e.dst}`;
const neighKey = (e: NeighEntry) => `${e.ip}|${e.mac}`;
const routeKey = (e: RouteEntry) => `${e.dst}|${e.via}`;

/**
 * Operations turning `actual` into `desired`, in a safe order: new FDB entries and neighbours before the
 * routes that use them, and on removal routes first, then neighbours, then FDB entries. An entry whose
 * target changed (same MAC, new underlay IP; same IP, new MAC; same prefix, new gateway) is replaced in
 * place, never deleted and re-added, so traffic to a peer that is still there never has a gap.
 * An empty list means converged.
 */
export function diffEntries(actual: OverlayEntries, desired: OverlayEntries): OverlayOp[] {
  const ops: OverlayOp[] = [];
  const aFdb = new Set(actual.fdb.map(fdbKey));
  const aNeigh = new Set(actual.neigh.map(neighKey));
  const aRoute = new Set(actual.routes.map(routeKey));
  const dFdbMacs = new Set(desired.fdb.map((e) => e.mac));
  const dNeighIps = new Set(desired.neigh.map((e) => e.ip));
  const dRouteDsts = new Set(desired.routes.map((e) => e.dst));
  const dFdb = new Set(desired.fdb.map(fdbKey));
  const dNeigh = new Set(desired.neigh.map(neighKey));
  const dRoute = new Set(desired.routes.map(routeKey));

  for (const e of desired.fdb) if (!aFdb.has(fdbKey(e))) ops.push({ op: 'fdb-replace', entry: e });
  for (const e of desired.neigh) if (!aNeigh.has(neighKey(e))) ops.push({ op: 'neigh-replace', entry: e });
  for (const e of desired.routes) if (!aRoute.has(routeKey(e))) ops.push({ op: 'route-replace', entry: e });

  // Removals: only entries whose key is not re-used by a desired entry (those were replaced above).
  for (const e of actual.routes)
    if (!dRoute.has(routeKey(e)) && !dRouteDsts.has(e.dst)) ops.push({ op: 'route-del', entry: e });
  for (const e of actual.neigh)
    if (!dNeigh.has(neighKey(e)) && !dNeighIps.has(e.ip)) ops.push({ op: 'neigh-del', entry: e });
  for (const e of actual.fdb) if (!dFdb.has(fdbKey(e)) && !dFdbMacs.has(e.mac)) ops.push({ op: 'fdb-del', entry: e });
  return ops;
}

/**
 * A stable, locally administered unicast MAC for a node's VTEP, derived from the node name and VNI (FNV-1a),
 * so restarting the agent or re-creating the device keeps the MAC its peers already have in their FDB.
 */
export function vtepMacFor(nodeName: string, vni: number): string {
  const bytes: number[] = [];
  let h = 0x811c9dc5;
  const input = `${nodeName}/${vni}`;
  for (let round = 0; bytes.length < 5; round++) {
    for (const ch of `${round}:${input}`) {
      h ^= ch.charCodeAt(0);
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    bytes.push(h & 0xff, (h >>> 8) & 0xff);
  }
  const octets = [0x0e, ...bytes.slice(0, 5)]; // 0x0e: locally administered (bit 1), unicast (bit 0 clear)
  return octets.map((b) => b.toString(16).padStart(2, '0')).join(':');
}
