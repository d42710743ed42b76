import type { NftOp, TableRef } from '../os/nft.js';
import type { DetectLocalMode, Disposition, IPFamily, Protocol, ServicePortState } from './model/types.js';

/**
 * The nft vocabulary both proxy modes speak: the names and types of the maps and sets, the reject and
 * no-endpoints chains, the firewall (loadBalancerSourceRanges) rule, the masquerade bit and the hook
 * chains. nftables mode builds its whole datapath on it; userspace mode uses it for the parts the kernel
 * still does there (rejecting services without endpoints, the firewall). One definition, so the two
 * tables cannot drift apart.
 */

export const MAPS = {
  svcIps: 'svc_ips',
  svcNodePorts: 'svc_nodeports',
  epsIp: 'eps_ip',
  epsNp: 'eps_np',
  noepIps: 'noep_ips',
  noepNodePorts: 'noep_nodeports',
  fwIps: 'fw_ips',
  fwAllow: 'fw_allow',
  hairpin: 'hairpin',
  clusterIps: 'cluster_ips',
  nodePortIps: 'nodeport_ips',
} as const;

export const CHAINS = {
  reject: 'reject-svc',
  noEndpoints: 'no-endpoints',
  clusterIpsCheck: 'cluster-ips-check',
} as const;

/**
 * The words that differ between the families. As kube-proxy's nftables mode, each family has a table of its
 * own (`ip skiff`, `ip6 skiff`), built from the same rules with these words swapped.
 */
export interface FamilyWords {
  family: IPFamily;
  /** The nft table family. */
  table: 'ip' | 'ip6';
  /** The header expression (`ip daddr`, `ip6 saddr`) and the NAT statement's family (`dnat ip6 to`). */
  l3: 'ip' | 'ip6';
  addrType: 'ipv4_addr' | 'ipv6_addr';
  loopback: string;
}

const WORDS: Record<IPFamily, FamilyWords> = {
  4: { family: 4, table: 'ip', l3: 'ip', addrType: 'ipv4_addr', loopback: '127.0.0.0/8' },
  6: { family: 6, table: 'ip6', l3: 'ip6', addrType: 'ipv6_addr', loopback: '::1' },
};

export function familyWords(f: IPFamily = 4): FamilyWords {
  return WORDS[f];
}

/** `ip:port` as nft writes a NAT target (IPv6 addresses in brackets). */
export function natTarget(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** What tells this node's pod traffic apart (kube-proxy's LocalTrafficDetector), as nft matches. */
export interface LocalTraffic {
  is: string;
  isNot: string;
}

/** The flags that choose the local traffic detector (NodeFacts, cut to one family). */
export interface LocalOptions {
  family?: IPFamily;
  clusterCIDR?: string;
  detectLocalMode?: DetectLocalMode;
  nodePodCIDR?: string;
  podBridgeInterface?: string;
  podInterfaceNamePrefix?: string;
}

/**
 * kube-proxy's local traffic detector (pkg/proxy/util/localdetector.go) as nft matches; undefined when the
 * mode's input is missing (no cluster CIDR of this family, node pod CIDR not known yet), like kube-proxy's
 * no-op detector: then nothing is masqueraded for being off-cluster and no source is short-circuited.
 */
export function localTraffic(o: LocalOptions): LocalTraffic | undefined {
  const l3 = familyWords(o.family).l3;
  const bySource = (cidr: string | undefined) =>
    cidr ? { is: `${l3} saddr ${cidr}`, isNot: `${l3} saddr != ${cidr}` } : undefined;
  const byIface = (name: string | undefined) =>
    name ? { is: `iifname "${name}"`, isNot: `iifname != "${name}"` } : undefined;
  switch (o.detectLocalMode ?? 'ClusterCIDR') {
    case 'ClusterCIDR':
      return bySource(o.clusterCIDR);
    case 'NodeCIDR':
      return bySource(o.nodePodCIDR);
    case 'BridgeInterface':
      return byIface(o.podBridgeInterface);
    case 'InterfacePrefix':
      return byIface(o.podInterfaceNamePrefix ? `${o.podInterfaceNamePrefix}*` : undefined);
  }
}

/** The node-level choices that shape the shared rules. */
export interface VocabOptions {
  /** The IP family of the table (default 4). */
  family?: IPFamily;
  /** --service-cidr: traffic to an address in it that is no live ClusterIP is dropped. */
  serviceCIDR?: string;
  /** --nodeport-addresses resolved: NodePorts answer on these addresses only (undefined: every local one). */
  nodePortIPs?: readonly string[];
}

/** The destination match of NodePort traffic. */
export function nodePortDst(o: VocabOptions = {}): string {
  const w = familyWords(o.family);
  // Destined to this node (NodePorts answer on local addresses only), loopback excluded.
  return o.nodePortIPs ? `${w.l3} daddr @${MAPS.nodePortIps}` : `fib daddr type local ${w.l3} daddr != ${w.loopback}`;
}

/** kube-proxy's --masquerade-bit default: packet mark 0x4000 means "masquerade in postrouting". */
const DEFAULT_MASQUERADE_BIT = 14;

/** The masquerade mark for a bit number, as nft hex. */
export function masqueradeMark(bit = DEFAULT_MASQUERADE_BIT): string {
  if (!Number.isInteger(bit) || bit < 0 || bit > 31) throw new RangeError(`masquerade bit ${bit} is not in 0..31`);
  return `0x${(2 ** bit).toString(16).padStart(8, '0')}`;
}

/** The key of a service address entry: the typed part of an nft map declaration and its match. */
export function svcKeyType(f?: IPFamily): string {
  return `${familyWords(f).addrType} . inet_proto . inet_service`;
}
export const NODEPORT_KEY_TYPE = 'inet_proto . inet_service';
export function svcKeyMatch(f?: IPFamily): string {
  return `${familyWords(f).l3} daddr . meta l4proto . th dport`;
}
export const NODEPORT_KEY_MATCH = 'meta l4proto . th dport';

const PROTO: Record<Protocol, string> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

export function nftProto(p: Protocol): string {
  return PROTO[p];
}

/** Map key text of a service address entry and of a NodePort entry. */
export function svcKey(ip: string, p: Protocol, port: number): string {
  return `${ip} . ${PROTO[p]} . ${port}`;
}

export function nodePortKey(p: Protocol, nodePort: number): string {
  return `${PROTO[p]} . ${nodePort}`;
}

/** The verdict for an entry that does not balance: reject at once, or drop (Local policy, none here). */
export function noEndpointVerdict(d: Exclude<Disposition, 'balance'>): string {
  return d === 'reject' ? `goto ${CHAINS.reject}` : 'drop';
}

/** The maps and sets the no-endpoint and firewall rules read: [kind, name, spec]. */
export function sharedSets(o: VocabOptions = {}): ['map' | 'set', string, string][] {
  const addr = familyWords(o.family).addrType;
  const key = svcKeyType(o.family);
  return [
    ['set', MAPS.clusterIps, `type ${addr};`],
    ['set', MAPS.nodePortIps, `type ${addr};`],
    ['map', MAPS.noepIps, `type ${key} : verdict;`],
    ['map', MAPS.noepNodePorts, `type ${NODEPORT_KEY_TYPE} : verdict;`],
    ['set', MAPS.fwIps, `type ${key};`],
    ['set', MAPS.fwAllow, `type ${key} . ${addr}; flags interval;`],
  ];
}

/** A chain: [name, base-chain spec or undefined for a regular chain, rules]. */
export type ChainDef = [string, string | undefined, string[]];

export function hookSpec(type: 'nat' | 'filter', hook: string, priority: number): string {
  return `type ${type} hook ${hook} priority ${priority}; policy accept;`;
}

/** Filter hooks run before the nat hooks (kube-proxy: filter at -110, dstnat at -100)... */
const FILTER_PRIORITY = -110;
/** ...except the no-endpoints check of locally generated traffic, which must see the DNAT of nat-output
 * (kube-proxy's filter-output-post-dnat): the node's own traffic to an external destination of a Local
 * service is short-circuited to an endpoint there, and must not meet that destination's drop first. */
const POST_DNAT_PRIORITY = -90;

/** Reject chain, no-endpoints chain and the filter hooks that enforce them and the firewall. */
export function sharedChains(o: VocabOptions = {}): ChainDef[] {
  const w = familyWords(o.family);
  const match = svcKeyMatch(o.family);
  const noep = `ct state new jump ${CHAINS.noEndpoints}`;
  const guard = `ct state new jump ${CHAINS.clusterIpsCheck}`;
  // kube-proxy's cluster-ips-check, after DNAT: what is still addressed to a ClusterIP was not a served
  // port (rejected at once); an unallocated address of the service CIDR is dropped, never sent on un-NATed.
  const guardRules = [`${w.l3} daddr @${MAPS.clusterIps} goto ${CHAINS.reject}`];
  if (o.serviceCIDR) guardRules.push(`${w.l3} daddr ${o.serviceCIDR} drop`);
  // loadBalancerSourceRanges, checked before DNAT for traffic arriving and (kube-proxy's filter-output)
  // for the node's own traffic too.
  const firewall = `ct state new ${match} @${MAPS.fwIps} ${match} . ${w.l3} saddr != @${MAPS.fwAllow} drop`;
  return [
    [
      CHAINS.noEndpoints,
      undefined,
      [`${match} vmap @${MAPS.noepIps}`, `${nodePortDst(o)} ${NODEPORT_KEY_MATCH} vmap @${MAPS.noepNodePorts}`],
    ],
    [CHAINS.reject, undefined, ['meta l4proto tcp reject with tcp reset', 'reject']],
    [CHAINS.clusterIpsCheck, undefined, guardRules],
    ['filter-prerouting', hookSpec('filter', 'prerouting', FILTER_PRIORITY), [firewall]],
    ['filter-output', hookSpec('filter', 'output', FILTER_PRIORITY), [firewall]],
    ['filter-input', hookSpec('filter', 'input', FILTER_PRIORITY), [noep]],
    ['filter-forward', hookSpec('filter', 'forward', FILTER_PRIORITY), [noep, guard]],
    ['filter-output-post-dnat', hookSpec('filter', 'output', POST_DNAT_PRIORITY), [noep, guard]],
  ];
}

/** A map element: map name, key text, value text (empty for sets). */
export interface Elem {
  map: string;
  key: string;
  value: string;
}

export function elemText(e: Elem): string {
  return e.value ? `${e.key} : ${e.value}` : e.key;
}

/** The no-endpoint elements of one service port's address entries (and its NodePort). */
export function noEndpointElems(
  sp: ServicePortState,
  ips: readonly string[],
  d: Exclude<Disposition, 'balance'>,
  nodePort?: number,
): Elem[] {
  const value = noEndpointVerdict(d);
  const out: Elem[] = ips.map((ip) => ({ map: MAPS.noepIps, key: svcKey(ip, sp.protocol, sp.port), value }));
  if (nodePort) out.push({ map: MAPS.noepNodePorts, key: nodePortKey(sp.protocol, nodePort), value });
  return out;
}

/** The ClusterIPs of a service port, for the cluster-ips-check guard. */
export function clusterIpElems(sp: ServicePortState): Elem[] {
  return sp.clusterIPs.map((ip) => ({ map: MAPS.clusterIps, key: ip, value: '' }));
}

/** The resolved NodePort addresses as elements (none when NodePorts answer on every local address). */
export function nodePortIpElems(o: VocabOptions): Elem[] {
  return (o.nodePortIPs ?? []).map((ip) => ({ map: MAPS.nodePortIps, key: ip, value: '' }));
}

/** loadBalancerSourceRanges of one service port as firewall elements (none without ranges). */
export function firewallElems(sp: ServicePortState): Elem[] {
  const out: Elem[] = [];
  for (const lb of sp.sourceRanges.length ? sp.loadBalancerIPs : []) {
    const key = svcKey(lb, sp.protocol, sp.port);
    out.push({ map: MAPS.fwIps, key, value: '' });
    for (const cidr of sp.sourceRanges) out.push({ map: MAPS.fwAllow, key: `${key} . ${cidr}`, value: '' });
  }
  return out;
}

/** Ops that declare maps/sets and chains (with their rules) in a table. */
export function declareOps(t: TableRef, sets: readonly ['map' | 'set', string, string][], chains: readonly ChainDef[]) {
  const ops: NftOp[] = [];
  for (const [kind, name, spec] of sets) ops.push({ verb: 'add', kind, table: t, name, spec });
  for (const [name, spec, rules] of chains) {
    ops.push({ verb: 'add', kind: 'chain', table: t, name, spec });
    for (const rule of rules) ops.push({ verb: 'add', kind: 'rule', table: t, chain: name, rule });
  }
  return ops;
}

/** Ops that add elements, grouped per map (nothing for an empty list). */
export function elementOps(t: TableRef, elems: readonly Elem[]): NftOp[] {
  const byMap = new Map<string, string[]>();
  for (const e of elems) {
    const l = byMap.get(e.map);
    if (l) l.push(elemText(e));
    else byMap.set(e.map, [elemText(e)]);
  }
  return [...byMap].map(([name, elements]) => ({ verb: 'add', kind: 'element', table: t, name, elements }));
}
