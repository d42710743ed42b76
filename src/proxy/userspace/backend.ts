import { nftApply, nftDeleteTable, Transaction, type TableRef } from '../../os/nft.js';
import { nsOf } from '../../os/ns.js';
import { errorMessage } from '../../util/errors.js';
import type { BackendOptions, ProxyBackend, SyncStats } from '../backend.js';
import {
  allowIp,
  declareIp,
  emptyFrontends,
  kernelConntrack,
  reconcileUdpConntrack,
  type ConntrackOps,
} from '../conntrack.js';
import { familyFacts } from '../model/families.js';
import type { DesiredState, IPFamily } from '../model/types.js';
import {
  declareOps,
  elementOps,
  firewallElems,
  hookSpec,
  clusterIpElems,
  nodePortDst,
  nodePortIpElems,
  type VocabOptions,
  noEndpointElems,
  NODEPORT_KEY_MATCH,
  NODEPORT_KEY_TYPE,
  nodePortKey,
  sharedChains,
  sharedSets,
  svcKeyMatch,
  svcKeyType,
  svcKey,
  localTraffic,
  type LocalOptions,
  type ChainDef,
  type Elem,
} from '../nftvocab.js';
import { AffinityTable, epKey } from './balancer.js';
import { TcpProxy, UdpProxy, type PortProxy } from './proxies.js';

const USERSPACE_TABLE: TableRef = { family: 'ip', name: 'skiff-userspace' };
const USERSPACE_TABLE6: TableRef = { family: 'ip6', name: 'skiff-userspace' };

export function userspaceTableOf(f: IPFamily = 4): TableRef {
  return f === 6 ? USERSPACE_TABLE6 : USERSPACE_TABLE;
}

/** Where a listener of a family binds when no address is given: every address of that family only. */
function anyAddress(f: IPFamily): string {
  return f === 6 ? '::' : '0.0.0.0';
}
const PORTALS = 'portals';
/** Short-circuit portals: external destinations of Local services, for pods and the node itself. */
const PORTALS_SC = 'portals_sc';
const PORTALS_SC_NP = 'portals_sc_np';

export interface UserspaceOptions {
  /** Idle timeout of a UDP client flow (default 30 s). */
  udpIdleMs?: number;
  /** The conntrack seam (unit tests); the conntrack tool in the node's namespace by default. */
  conntrack?: ConntrackOps;
}

/**
 * Render the small redirect table (pure; unit-tested): the shared no-endpoint and firewall vocabulary
 * plus a `portals` map that redirects VIP:port to the local listener. `portals` elements are
 * "ip . proto . port : listenerPort"; `elems` are no-endpoint and firewall elements, and the
 * short-circuit portals (`portals_sc`, `portals_sc_np`) redirect pods and the node itself to the
 * cluster-wide listener of a Local service, as kube-proxy's short-circuit.
 */
export function renderUserspaceTable(
  portals: readonly string[],
  elems: readonly Elem[],
  o: VocabOptions & LocalOptions = {},
  shortCircuit: { ips: readonly string[]; nodePorts: readonly string[] } = { ips: [], nodePorts: [] },
): string {
  const t = userspaceTableOf(o.family);
  const match = svcKeyMatch(o.family);
  const l4 = 'meta l4proto { tcp, udp }';
  const redirect = `${l4} redirect to : ${match} map @${PORTALS}`;
  const fromPods = localTraffic(o);
  const inCluster = [...(fromPods ? [fromPods.is] : []), 'fib saddr type local'];
  const scRules = inCluster.flatMap((src) => [
    `${src} ${l4} redirect to : ${match} map @${PORTALS_SC}`,
    `${src} ${nodePortDst(o)} ${l4} redirect to : ${NODEPORT_KEY_MATCH} map @${PORTALS_SC_NP}`,
  ]);
  const tx = new Transaction()
    .add({ verb: 'add', kind: 'table', table: t })
    .add({ verb: 'delete', kind: 'table', table: t })
    .add({ verb: 'add', kind: 'table', table: t });
  const sets: ['map' | 'set', string, string][] = [
    ['map', PORTALS, `type ${svcKeyType(o.family)} : inet_service;`],
    ['map', PORTALS_SC, `type ${svcKeyType(o.family)} : inet_service;`],
    ['map', PORTALS_SC_NP, `type ${NODEPORT_KEY_TYPE} : inet_service;`],
    ...sharedSets(o),
  ];
  const chains: ChainDef[] = [
    ...sharedChains(o),
    ['nat-prerouting', hookSpec('nat', 'prerouting', -100), [...scRules, redirect]],
    ['nat-output', hookSpec('nat', 'output', -100), [...scRules, redirect]],
  ];
  for (const op of declareOps(t, sets, chains)) tx.add(op);
  tx.add({ verb: 'add', kind: 'element', table: t, name: PORTALS, elements: [...portals] });
  tx.add({ verb: 'add', kind: 'element', table: t, name: PORTALS_SC, elements: [...shortCircuit.ips] });
  tx.add({ verb: 'add', kind: 'element', table: t, name: PORTALS_SC_NP, elements: [...shortCircuit.nodePorts] });
  for (const op of elementOps(t, [...elems, ...nodePortIpElems(o)])) tx.add(op);
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
  /** ClientIP affinity per service port, shared by all of its listeners. */
  private readonly affinity = new Map<string, AffinityTable>();
  private lastTable = '';
  private readonly conntrack: ConntrackOps;
  private readonly family: IPFamily;

  constructor(
    private readonly opts: BackendOptions,
    private readonly us: UserspaceOptions = {},
  ) {
    this.conntrack = us.conntrack ?? kernelConntrack(opts.netns);
    this.family = opts.family ?? 4;
  }

  async init(): Promise<void> {}

  private async ensureProxy(
    key: string,
    protocol: 'TCP' | 'UDP',
    port: number,
    affinity: AffinityTable,
    host = anyAddress(this.family),
  ): Promise<PortProxy | undefined> {
    const have = this.proxies.get(key);
    if (have) return have;
    try {
      const p =
        protocol === 'TCP'
          ? await new TcpProxy(this.opts.log, affinity).listen(port, host)
          : await new UdpProxy(this.us.udpIdleMs ?? 30_000, this.opts.log, affinity).listen(port, host, this.family);
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
    const sc = { ips: [] as string[], nodePorts: [] as string[] };
    const wanted = new Set<string>();
    const wantedAffinity = new Set<string>();
    // UDP frontends → the listener ports they are redirected to now (conntrack reconciliation).
    const udp = emptyFrontends();
    const facts = familyFacts(this.opts.node, this.family);
    for (const st of desired.values()) {
      for (const sp of st.ports) {
        if (sp.protocol === 'SCTP' || sp.family !== this.family) continue;
        const aff = this.affinity.get(sp.id) ?? new AffinityTable();
        this.affinity.set(sp.id, aff);
        wantedAffinity.add(sp.id);
        aff.prune(new Set([...sp.clusterWideEndpoints, ...sp.clusterEndpoints, ...sp.externalEndpoints].map(epKey)));
        elems.push(...clusterIpElems(sp));
        const reconciled = sp.protocol === 'UDP' && sp.servingIPs.length > 0;
        const portal = (ip: string, listener: number): string => {
          if (reconciled) allowIp(udp, ip, sp.port, String(listener));
          return `${svcKey(ip, sp.protocol, sp.port)} : ${listener}`;
        };
        // Every frontend is reconciled, even one with no listener now (a policy drops it): then every
        // redirected flow to it is stale.
        if (reconciled)
          for (const ip of [...sp.clusterIPs, ...sp.externalIPs, ...sp.loadBalancerIPs]) declareIp(udp, ip, sp.port);
        // traffic to the cluster IPs
        if (sp.clusterIPs.length) {
          if (sp.clusterDisposition === 'balance') {
            const key = `${sp.id}/${sp.protocol}/cluster`;
            const p = await this.ensureProxy(key, sp.protocol, 0, aff);
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
        if (sp.externalLocal && sp.clusterWideEndpoints.length) {
          const key = `${sp.id}/${sp.protocol}/short-circuit`;
          const p = await this.ensureProxy(key, sp.protocol, 0, aff);
          if (p) {
            wanted.add(key);
            p.update(sp.clusterWideEndpoints, sp.affinitySeconds);
            for (const ip of extIPs) sc.ips.push(portal(ip, p.port));
            if (sp.nodePort) sc.nodePorts.push(`${nodePortKey(sp.protocol, sp.nodePort)} : ${p.port}`);
            // Pods and the node reach the NodePort through this listener; others reach the NodePort's own.
            if (sp.nodePort && reconciled)
              udp.nodePorts.set(sp.nodePort, new Set([String(p.port), String(sp.nodePort)]));
          }
        }
        if (sp.externalDisposition === 'balance') {
          // External IPs and LoadBalancer IPs: a listener on any address (redirect picks the address of the
          // interface the packet came in on); NodePorts: their own port, on the --nodeport-addresses only.
          if (extIPs.length) {
            const key = `${sp.id}/${sp.protocol}/external`;
            const p = await this.ensureProxy(key, sp.protocol, 0, aff);
            if (p) {
              wanted.add(key);
              p.update(sp.externalEndpoints, sp.affinitySeconds);
              for (const ip of extIPs) portals.push(portal(ip, p.port));
            }
          }
          for (const host of sp.nodePort ? (facts.nodePortIPs ?? [anyAddress(this.family)]) : []) {
            const key = `${sp.id}/${sp.protocol}/nodeport/${sp.nodePort}/${host}`;
            const p = await this.ensureProxy(key, sp.protocol, sp.nodePort!, aff, host);
            if (p) {
              wanted.add(key);
              p.update(sp.externalEndpoints, sp.affinitySeconds);
            }
          }
        } else {
          elems.push(...noEndpointElems(sp, extIPs, sp.externalDisposition, sp.nodePort));
        }
        elems.push(...firewallElems(sp));
      }
    }
    for (const id of this.affinity.keys()) if (!wantedAffinity.has(id)) this.affinity.delete(id);
    const text = renderUserspaceTable(
      portals,
      elems,
      {
        family: this.family,
        clusterCIDR: facts.clusterCIDR,
        detectLocalMode: facts.detectLocalMode,
        nodePodCIDR: facts.nodePodCIDR,
        podBridgeInterface: facts.podBridgeInterface,
        podInterfaceNamePrefix: facts.podInterfaceNamePrefix,
        serviceCIDR: facts.serviceCIDR,
        nodePortIPs: facts.nodePortIPs,
      },
      sc,
    );
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
    // A redirect's conntrack entry names the listener port it was sent to: after a restart (new listener
    // ports) or a listener closed, flows still following an old entry are removed, as kube-proxy's
    // reconciler removes flows to endpoints that are gone.
    await reconcileUdpConntrack(this.conntrack, udp, 'source-port', this.opts.log);
    let flows = 0;
    for (const p of this.proxies.values()) flows += p.active;
    return { full: changed === 'full', rules: this.proxies.size, elements: flows, bytes: text.length };
  }

  async shutdown(): Promise<void> {
    for (const p of this.proxies.values()) await p.close();
    this.proxies.clear();
  }

  async cleanup(): Promise<void> {
    for (const p of this.proxies.values()) await p.close();
    this.proxies.clear();
    await nftDeleteTable(userspaceTableOf(this.family), nsOf(this.opts.netns));
    this.lastTable = '';
  }
}
