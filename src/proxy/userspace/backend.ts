import { nftApply, nftDeleteTable, Transaction, type TableRef } from '../../os/nft.js';
import { nsOf } from '../../os/ns.js';
import { errorMessage } from '../../util/errors.js';
import type { BackendOptions, ProxyBackend, SyncStats } from '../backend.js';
import type { DesiredState } from '../model/types.js';
import {
  declareOps,
  elementOps,
  firewallElems,
  hookSpec,
  noEndpointElems,
  sharedChains,
  sharedSets,
  SVC_KEY_MATCH,
  SVC_KEY_TYPE,
  svcKey,
  type ChainDef,
  type Elem,
} from '../nftvocab.js';
import { TcpProxy, UdpProxy, type PortProxy } from './proxies.js';

export const USERSPACE_TABLE: TableRef = { family: 'ip', name: 'skiff-userspace' };
const PORTALS = 'portals';

export interface UserspaceOptions {
  /** Idle timeout of a UDP client flow (default 30 s). */
  udpIdleMs?: number;
}

/**
 * Render the small redirect table (pure; unit-tested): the shared no-endpoint and firewall vocabulary
 * plus a `portals` map that redirects VIP:port to the local listener. `portals` elements are
 * "ip . proto . port : listenerPort"; `elems` are no-endpoint and firewall elements.
 */
export function renderUserspaceTable(portals: readonly string[], elems: readonly Elem[]): string {
  const t = USERSPACE_TABLE;
  const redirect = `meta l4proto { tcp, udp } redirect to : ${SVC_KEY_MATCH} map @${PORTALS}`;
  const tx = new Transaction()
    .add({ verb: 'add', kind: 'table', table: t })
    .add({ verb: 'delete', kind: 'table', table: t })
    .add({ verb: 'add', kind: 'table', table: t });
  const sets: ['map' | 'set', string, string][] = [
    ['map', PORTALS, `type ${SVC_KEY_TYPE} : inet_service;`],
    ...sharedSets(),
  ];
  const chains: ChainDef[] = [
    ...sharedChains(),
    ['nat-prerouting', hookSpec('nat', 'prerouting', -100), [redirect]],
    ['nat-output', hookSpec('nat', 'output', -100), [redirect]],
  ];
  for (const op of declareOps(t, sets, chains)) tx.add(op);
  tx.add({ verb: 'add', kind: 'element', table: t, name: PORTALS, elements: [...portals] });
  for (const op of elementOps(t, elems)) tx.add(op);
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
    const elems: Elem[] = [];
    const wanted = new Set<string>();
    for (const st of desired.values()) {
      for (const sp of st.ports) {
        if (sp.protocol === 'SCTP') continue;
        const portal = (ip: string, listener: number): string => `${svcKey(ip, sp.protocol, sp.port)} : ${listener}`;
        // traffic to the cluster IPs
        if (sp.clusterIPs.length) {
          if (sp.clusterDisposition === 'balance') {
            const key = `${sp.id}/${sp.protocol}/cluster`;
            const p = await this.ensureProxy(key, sp.protocol, 0);
            if (p) {
              wanted.add(key);
              p.update(sp.clusterEndpoints, sp.affinitySeconds);
              for (const ip of sp.clusterIPs) portals.push(portal(ip, p.port));
            }
          } else {
            elems.push(...noEndpointElems(sp, sp.clusterIPs, sp.clusterDisposition));
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
            for (const ip of extIPs) portals.push(portal(ip, p.port));
          }
        } else {
          elems.push(...noEndpointElems(sp, extIPs, sp.externalDisposition, sp.nodePort));
        }
        elems.push(...firewallElems(sp));
      }
    }
    const text = renderUserspaceTable(portals, elems);
    // Redirects first (so no VIP points at a closed port), then close proxies nobody needs.
    if (changed === 'full' || text !== this.lastTable) {
      await nftApply(text, nsOf(this.opts.netns));
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
    await nftDeleteTable(USERSPACE_TABLE, nsOf(this.opts.netns));
    this.lastTable = '';
  }
}
