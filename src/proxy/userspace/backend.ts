import { nftApply, Transaction, type TableRef } from '../../os/nft.js';
import { errorMessage } from '../../util/errors.js';
import type { BackendOptions, ProxyBackend, SyncStats } from '../backend.js';
import type { DesiredState } from '../model/types.js';
import { MAPS } from '../nftables/layout.js';
import { TcpProxy, UdpProxy, type PortProxy } from './proxies.js';

export const USERSPACE_TABLE: TableRef = { family: 'ip', name: 'skiff-userspace' };
const PROTO = { TCP: 'tcp', UDP: 'udp' } as const;
const LOCAL_DST = 'fib daddr type local ip daddr != 127.0.0.0/8';

export interface UserspaceOptions {
  /** Idle timeout of a UDP client flow (default 30 s). */
  udpIdleMs?: number;
}

/** Render the small redirect table (pure; unit-tested). */
export function renderUserspaceTable(
  portals: readonly string[],
  noepIps: readonly string[],
  noepNodePorts: readonly string[],
  fwIps: readonly string[],
  fwAllow: readonly string[],
): string {
  const t = USERSPACE_TABLE;
  const tx = new Transaction()
    .add({ verb: 'add', kind: 'table', table: t })
    .add({ verb: 'delete', kind: 'table', table: t })
    .add({ verb: 'add', kind: 'table', table: t })
    .add({
      verb: 'add',
      kind: 'map',
      table: t,
      name: 'portals',
      spec: 'type ipv4_addr . inet_proto . inet_service : inet_service;',
    })
    .add({
      verb: 'add',
      kind: 'map',
      table: t,
      name: MAPS.noepIps,
      spec: 'type ipv4_addr . inet_proto . inet_service : verdict;',
    })
    .add({
      verb: 'add',
      kind: 'map',
      table: t,
      name: MAPS.noepNodePorts,
      spec: 'type inet_proto . inet_service : verdict;',
    })
    .add({ verb: 'add', kind: 'set', table: t, name: MAPS.fwIps, spec: 'type ipv4_addr . inet_proto . inet_service;' })
    .add({
      verb: 'add',
      kind: 'set',
      table: t,
      name: MAPS.fwAllow,
      spec: 'type ipv4_addr . inet_proto . inet_service . ipv4_addr; flags interval;',
    })
    .add({ verb: 'add', kind: 'chain', table: t, name: 'reject-svc' })
    .add({ verb: 'add', kind: 'rule', table: t, chain: 'reject-svc', rule: 'meta l4proto tcp reject with tcp reset' })
    .add({ verb: 'add', kind: 'rule', table: t, chain: 'reject-svc', rule: 'reject' })
    .add({ verb: 'add', kind: 'chain', table: t, name: 'no-endpoints' })
    .add({
      verb: 'add',
      kind: 'rule',
      table: t,
      chain: 'no-endpoints',
      rule: `ip daddr . meta l4proto . th dport vmap @${MAPS.noepIps}`,
    })
    .add({
      verb: 'add',
      kind: 'rule',
      table: t,
      chain: 'no-endpoints',
      rule: `${LOCAL_DST} meta l4proto . th dport vmap @${MAPS.noepNodePorts}`,
    });
  const redirect = 'meta l4proto { tcp, udp } redirect to : ip daddr . meta l4proto . th dport map @portals';
  for (const [name, hook] of [
    ['nat-prerouting', 'prerouting'],
    ['nat-output', 'output'],
  ] as const) {
    tx.add({ verb: 'add', kind: 'chain', table: t, name, spec: `type nat hook ${hook} priority -100; policy accept;` });
    tx.add({ verb: 'add', kind: 'rule', table: t, chain: name, rule: redirect });
  }
  tx.add({
    verb: 'add',
    kind: 'chain',
    table: t,
    name: 'filter-prerouting',
    spec: 'type filter hook prerouting priority -110; policy accept;',
  });
  tx.add({
    verb: 'add',
    kind: 'rule',
    table: t,
    chain: 'filter-prerouting',
    rule: `ct state new ip daddr . meta l4proto . th dport @${MAPS.fwIps} ip daddr . meta l4proto . th dport . ip saddr != @${MAPS.fwAllow} drop`,
  });
  for (const hook of ['input', 'forward', 'output']) {
    const name = `filter-${hook}`;
    tx.add({
      verb: 'add',
      kind: 'chain',
      table: t,
      name,
      spec: `type filter hook ${hook} priority -110; policy accept;`,
    });
    tx.add({ verb: 'add', kind: 'rule', table: t, chain: name, rule: 'ct state new jump no-endpoints' });
  }
  tx.add({ verb: 'add', kind: 'element', table: t, name: 'portals', elements: [...portals] });
  tx.add({ verb: 'add', kind: 'element', table: t, name: MAPS.noepIps, elements: [...noepIps] });
  tx.add({ verb: 'add', kind: 'element', table: t, name: MAPS.noepNodePorts, elements: [...noepNodePorts] });
  tx.add({ verb: 'add', kind: 'element', table: t, name: MAPS.fwIps, elements: [...fwIps] });
  tx.add({ verb: 'add', kind: 'element', table: t, name: MAPS.fwAllow, elements: [...fwAllow] });
  return tx.render();
}

/**
 * userspace mode, like the original kube-proxy: a TCP/UDP proxy per service port listening in the node's
 * namespace (NodePorts listen on their own port), and a small nft table that redirects VIP:port to the
 * listener and rejects services without endpoints. SCTP is not available (Node has no SCTP sockets).
 * The proxy connects to endpoints from the node, so clients' source addresses are not preserved.
 */
export class UserspaceBackend implements ProxyBackend {
  readonly mode = 'userspace';
  private readonly proxies = new Map<string, PortProxy>();
  private lastTable = '';

  constructor(
    private readonly opts: BackendOptions,
    private readonly us: UserspaceOptions = {},
  ) {}

  async init(): Promise<void> {}

  private async ensureProxy(key: string, protocol: 'TCP' | 'UDP', port: number): Promise<PortProxy | undefined> {
    const have = this.proxies.get(key);
    if (have) return have;
    try {
      const p =
        protocol === 'TCP'
          ? await new TcpProxy(this.opts.log).listen(port)
          : await new UdpProxy(this.us.udpIdleMs ?? 30_000, this.opts.log).listen(port);
      this.proxies.set(key, p);
      return p;
    } catch (err) {
      this.opts.log?.warn({ key, port, err: errorMessage(err) }, 'cannot open proxy port');
      return undefined;
    }
  }

  async sync(desired: DesiredState, changed: ReadonlySet<string> | 'full'): Promise<SyncStats> {
    const portals: string[] = [];
    const noepIps: string[] = [];
    const noepNodePorts: string[] = [];
    const fwIps: string[] = [];
    const fwAllow: string[] = [];
    const wanted = new Set<string>();
    for (const st of desired.values()) {
      for (const sp of st.ports) {
        if (sp.protocol === 'SCTP') continue;
        const proto = PROTO[sp.protocol];
        const verdict = (d: string): string => (d === 'reject' ? 'goto reject-svc' : 'drop');
        // traffic to the cluster IPs
        if (sp.clusterIPs.length) {
          if (sp.clusterDisposition === 'balance') {
            const key = `${sp.id}/${sp.protocol}/cluster`;
            const p = await this.ensureProxy(key, sp.protocol, 0);
            if (p) {
              wanted.add(key);
              p.update(sp.clusterEndpoints, sp.affinitySeconds);
              for (const ip of sp.clusterIPs) portals.push(`${ip} . ${proto} . ${sp.port} : ${p.port}`);
            }
          } else {
            for (const ip of sp.clusterIPs)
              noepIps.push(`${ip} . ${proto} . ${sp.port} : ${verdict(sp.clusterDisposition)}`);
          }
        }
        // external traffic: NodePort (its own listener port), external IPs and LoadBalancer IPs
        const extIPs = [...sp.externalIPs, ...sp.loadBalancerIPs];
        if (!extIPs.length && !sp.nodePort) continue;
        if (sp.externalDisposition === 'balance') {
          const key = `${sp.id}/${sp.protocol}/external/${sp.nodePort ?? 0}`;
          const p = await this.ensureProxy(key, sp.protocol, sp.nodePort ?? 0);
          if (p) {
            wanted.add(key);
            p.update(sp.externalEndpoints, sp.affinitySeconds);
            for (const ip of extIPs) portals.push(`${ip} . ${proto} . ${sp.port} : ${p.port}`);
          }
        } else {
          for (const ip of extIPs) noepIps.push(`${ip} . ${proto} . ${sp.port} : ${verdict(sp.externalDisposition)}`);
          if (sp.nodePort) noepNodePorts.push(`${proto} . ${sp.nodePort} : ${verdict(sp.externalDisposition)}`);
        }
        for (const lb of sp.sourceRanges.length ? sp.loadBalancerIPs : []) {
          fwIps.push(`${lb} . ${proto} . ${sp.port}`);
          for (const c of sp.sourceRanges) fwAllow.push(`${lb} . ${proto} . ${sp.port} . ${c}`);
        }
      }
    }
    const text = renderUserspaceTable(portals, noepIps, noepNodePorts, fwIps, fwAllow);
    // Redirects first (so no VIP points at a closed port), then close proxies nobody needs.
    if (changed === 'full' || text !== this.lastTable) {
      await nftApply(text, this.opts.netns);
      this.lastTable = text;
    }
    for (const [key, p] of this.proxies) {
      if (wanted.has(key)) continue;
      this.proxies.delete(key);
      await p.close();
    }
    let flows = 0;
    for (const p of this.proxies.values()) flows += p.active;
    return { full: changed === 'full', rules: this.proxies.size, elements: flows, bytes: text.length };
  }

  async cleanup(): Promise<void> {
    for (const p of this.proxies.values()) await p.close();
    this.proxies.clear();
    const t = `${USERSPACE_TABLE.family} ${USERSPACE_TABLE.name}`;
    await nftApply(`add table ${t}\ndelete table ${t}\n`, this.opts.netns);
    this.lastTable = '';
  }
}
