import { conntrackDeleteUdp, conntrackListUdp, type UdpFlow, type UdpFlowFilter } from '../os/conntrack.js';
import { nsOf } from '../os/ns.js';
import { isIPv6, normalizeIp } from '../net/ip.js';
import type { Logger } from '../util/log.js';
import { errorMessage } from '../util/errors.js';
import type { DesiredState, IPFamily } from './model/types.js';

/**
 * UDP conntrack reconciliation, as kube-proxy's pkg/proxy/conntrack/cleanup.go (CleanStaleEntries): after
 * every sync, list the UDP entries and remove those whose original destination is a service frontend
 * (service IP and port, or a NodePort on any address) and whose reply source is not one of the answers
 * that frontend has now. Reconciling against the kernel's entries, rather than diffing old and new
 * endpoints, also catches endpoints that went away while the proxy was down.
 *
 * What "the answers a frontend has" are depends on the mode: in nftables mode the serving endpoints'
 * addresses (the reply comes from the DNAT target); in userspace mode the ports of the listeners the
 * frontend is redirected to (the reply comes from the node, from the listener's port).
 */
export interface UdpFrontends {
  /** "ip|port" of a service IP (cluster, external, LoadBalancer) → the allowed reply keys. */
  readonly ips: Map<string, Set<string>>;
  /** NodePort → the allowed reply keys (every destination address, as kube-proxy). */
  readonly nodePorts: Map<number, Set<string>>;
}

/** How a flow's reply is compared with a frontend's allowed answers, and the filter that deletes it. */
export type ReplyMatch = 'source-ip' | 'source-port';

/** The kernel seam: the conntrack tool in a namespace by default, a recorder in unit tests. */
export interface ConntrackOps {
  list(family: 'ipv4' | 'ipv6'): Promise<UdpFlow[]>;
  delete(f: UdpFlowFilter): Promise<number>;
}

export function kernelConntrack(netns?: string): ConntrackOps {
  const ns = nsOf(netns);
  return { list: (family) => conntrackListUdp(family, ns), delete: (f) => conntrackDeleteUdp(f, ns) };
}

const norm = (ip: string): string => (isIPv6(ip) ? normalizeIp(ip) : ip);
const ipKey = (ip: string, port: number): string => `${norm(ip)}|${port}`;

export function emptyFrontends(): UdpFrontends {
  return { ips: new Map(), nodePorts: new Map() };
}

/** Reconcile flows to ip:port (a service IP frontend); no reply is allowed until allowIp adds one. */
export function declareIp(f: UdpFrontends, ip: string, port: number): Set<string> {
  const k = ipKey(ip, port);
  const s = f.ips.get(k) ?? new Set<string>();
  f.ips.set(k, s);
  return s;
}

/** Allow `reply` for traffic to ip:port (a service IP frontend). */
export function allowIp(f: UdpFrontends, ip: string, port: number, reply: string): void {
  declareIp(f, ip, port).add(isIPv6(reply) ? normalizeIp(reply) : reply);
}

/**
 * nftables mode's frontends (of one family, or all): each UDP service port's serving endpoints, whatever the traffic policies or
 * terminating state (changing a Service must not break existing flows, as for TCP). A port with no serving
 * endpoint is left out: its flows are not cleaned (kube-proxy: "a Service without endpoints does not
 * require to clean the conntrack entries"). Pure.
 */
export function servingFrontends(desired: DesiredState, family?: IPFamily): UdpFrontends {
  const f = emptyFrontends();
  for (const st of desired.values()) {
    for (const sp of st.ports) {
      if (sp.protocol !== 'UDP' || !sp.servingIPs.length || (family && sp.family !== family)) continue;
      const eps = new Set(sp.servingIPs.map(norm));
      for (const ip of [...sp.clusterIPs, ...sp.externalIPs, ...sp.loadBalancerIPs]) f.ips.set(ipKey(ip, sp.port), eps);
      // A dual-stack Service has a port state per family with the same NodePort: both families' endpoints.
      if (sp.nodePort) f.nodePorts.set(sp.nodePort, new Set([...(f.nodePorts.get(sp.nodePort) ?? []), ...eps]));
    }
  }
  return f;
}

/** The deletions that remove every stale flow, one filter per (frontend, reply), deduplicated. Pure. */
export function staleFlowFilters(
  flows: readonly UdpFlow[],
  f: UdpFrontends,
  match: ReplyMatch,
  family: 'ipv4' | 'ipv6' = 'ipv4',
): UdpFlowFilter[] {
  const out = new Map<string, UdpFlowFilter>();
  for (const fl of flows) {
    const reply = match === 'source-ip' ? norm(fl.replySrc) : String(fl.replySport);
    const replyFilter = match === 'source-ip' ? { replySrc: fl.replySrc } : { replyPortSrc: fl.replySport };
    const byIp = f.ips.get(ipKey(fl.origDst, fl.origDport));
    if (byIp && !byIp.has(reply)) {
      const k = `ip|${norm(fl.origDst)}|${fl.origDport}|${reply}`;
      out.set(k, { family, origDst: fl.origDst, origPortDst: fl.origDport, ...replyFilter });
    }
    const byPort = f.nodePorts.get(fl.origDport);
    if (byPort && !byPort.has(reply)) {
      out.set(`np|${fl.origDport}|${reply}`, { family, origPortDst: fl.origDport, ...replyFilter });
    }
  }
  return [...out.values()];
}

function familiesOf(f: UdpFrontends): ('ipv4' | 'ipv6')[] {
  let v6 = false;
  for (const k of f.ips.keys()) if (k.includes(':')) v6 = true;
  for (const s of [...f.ips.values(), ...f.nodePorts.values()]) for (const r of s) if (r.includes(':')) v6 = true;
  return v6 ? ['ipv4', 'ipv6'] : ['ipv4'];
}

/**
 * List, compare, delete. Returns the number of entries deleted. Failures are logged, not thrown (as
 * kube-proxy: a failed cleanup must not fail the sync; the next sync tries again). Nothing is listed
 * when there is no UDP frontend at all.
 */
export async function reconcileUdpConntrack(
  ops: ConntrackOps,
  f: UdpFrontends,
  match: ReplyMatch,
  log?: Logger,
): Promise<number> {
  if (!f.ips.size && !f.nodePorts.size) return 0;
  let deleted = 0;
  for (const family of familiesOf(f)) {
    try {
      const filters = staleFlowFilters(await ops.list(family), f, match, family);
      for (const flt of filters) deleted += await ops.delete(flt);
    } catch (err) {
      log?.warn({ err: errorMessage(err), family }, 'UDP conntrack reconciliation failed; the next sync retries');
    }
  }
  if (deleted) log?.debug({ deleted }, 'removed stale UDP conntrack entries');
  return deleted;
}
