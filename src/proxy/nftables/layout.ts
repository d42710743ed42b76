import { createHash } from 'node:crypto';
import type { NftOp, TableRef } from '../../os/nft.js';
import type { Endpoint, IPFamily, ServicePortState, ServiceState } from '../model/types.js';
import {
  CHAINS,
  firewallElems,
  hookSpec,
  MAPS,
  masqueradeMark,
  nodePortKey,
  NODEPORT_KEY_MATCH,
  NODEPORT_KEY_TYPE,
  noEndpointVerdict,
  nftProto,
  sharedChains,
  sharedSets,
  svcKeyMatch,
  svcKeyType,
  svcKey,
  familyWords,
  natTarget,
  type ChainDef,
  type Elem,
  type VocabOptions,
  localTraffic,
  type LocalOptions,
  clusterIpElems,
  nodePortDst,
} from '../nftvocab.js';

/**
 * The nftables layout, as pure data. Measured choice (docs/proxy.md): no chain per service or endpoint on
 * the common path. Per-service data lives only in named map elements (nearly free to change in nft 1.0.6),
 * and a few shared "class" chains — one per (key kind, endpoint count, masquerade mode) actually in use —
 * pick a bucket with `numgen random mod N vmap` and jump to a shared bucket chain that DNATs through that
 * bucket's endpoint map. No scratch register is used: the packet mark keeps every bit but the masquerade
 * bit. A partial sync is then only element deletes/adds in one transaction.
 *
 * Services with ClientIP affinity are the exception, rendered as kube-proxy does: a chain per service port
 * and per endpoint, and a dynamic affinity set per endpoint, so a sticky client follows its endpoint (not a
 * bucket position) while other endpoints come and go, across the cluster IP, external IPs, LoadBalancer IPs
 * and NodePort of that port.
 */
const TABLE: TableRef = { family: 'ip', name: 'skiff' };
const TABLE6: TableRef = { family: 'ip6', name: 'skiff' };

/** The table of one family: `ip skiff` and `ip6 skiff`, as kube-proxy's `ip kube-proxy` / `ip6 kube-proxy`. */
export function tableOf(f: IPFamily = 4): TableRef {
  return f === 6 ? TABLE6 : TABLE;
}

export type KeyKind = 'ip' | 'np';
/** m: always masquerade; o: only sources that are not local (cluster CIDR); n: never; l: an external
 * entry of a Local service (short-circuit pods and the node to the cluster-wide endpoints); s: the
 * short-circuit chain itself (balances over the cluster-wide endpoints of such entries). */
type MasqMode = 'm' | 'o' | 'n' | 'l' | 's';

export interface ClassSpec {
  kind: KeyKind;
  /** Endpoints balanced over (for 'l': the local ones; may be 0). */
  n: number;
  masq: MasqMode;
  /** 'l' only: the cluster-wide endpoint count the short-circuit balances over. */
  sc?: number;
}

/** What shapes the rendering besides the service itself. */
export interface LayoutOptions extends VocabOptions, LocalOptions {
  masqueradeBit?: number;
  masqueradeAll?: boolean;
}

/** Bucket chains and endpoint maps: bucket k of kind `kind` ("epc" maps: short-circuit endpoints). */
export function epsMap(kind: KeyKind, k: number, shortCircuit = false): string {
  return `${shortCircuit ? 'epc' : 'eps'}_${kind}_${k}`;
}

export function bucketChain(kind: KeyKind, k: number, shortCircuit = false): string {
  return `${kind}-${shortCircuit ? 'scb' : 'b'}${k}`;
}

function keyMatch(kind: KeyKind, f?: IPFamily): string {
  return kind === 'ip' ? svcKeyMatch(f) : NODEPORT_KEY_MATCH;
}

/** The endpoint map of one bucket: [kind, name, spec]. Explicit types, not `typeof`: nft 1.0.6 cannot
 * re-read a `typeof ... : ip daddr . th dport` map from the kernel ("conflicting protocols"). */
export function epsMapDef(kind: KeyKind, k: number, sc: boolean, f?: IPFamily): ['map', string, string] {
  const key = kind === 'ip' ? svcKeyType(f) : NODEPORT_KEY_TYPE;
  return ['map', epsMap(kind, k, sc), `type ${key} : ${familyWords(f).addrType} . inet_service;`];
}

/** The bucket chain: DNAT through its endpoint map. */
export function bucketChainDef(kind: KeyKind, k: number, sc: boolean, f?: IPFamily): ChainDef {
  const l3 = familyWords(f).l3;
  return [bucketChain(kind, k, sc), undefined, [`dnat ${l3} to ${keyMatch(kind, f)} map @${epsMap(kind, k, sc)}`]];
}

const MARK_MASQ_CHAIN = 'mark-for-masquerade';
const MASQUERADING_CHAIN = 'masquerading';

/** Static maps and sets: [kind, name, spec]. Their elements are owned by the mirror. */
export function staticMaps(f?: IPFamily): ['map' | 'set', string, string][] {
  const addr = familyWords(f).addrType;
  return [
    ['map', MAPS.svcIps, `type ${svcKeyType(f)} : verdict;`],
    ['map', MAPS.svcNodePorts, `type ${NODEPORT_KEY_TYPE} : verdict;`],
    ...sharedSets({ family: f }),
    ['set', MAPS.hairpin, `type ${addr} . ${addr};`],
  ];
}

/** Regular chains that verdict maps jump to, before the base chains that refer to them. */
export const REGULAR_CHAINS = new Set([
  'services',
  CHAINS.noEndpoints,
  CHAINS.reject,
  CHAINS.clusterIpsCheck,
  MARK_MASQ_CHAIN,
  MASQUERADING_CHAIN,
]);

/** Base and fixed regular chains: [name, spec or undefined, rules]. */
export function staticChains(o: LayoutOptions = {}): ChainDef[] {
  const mark = masqueradeMark(o.masqueradeBit);
  const l3 = familyWords(o.family).l3;
  return [
    [
      'services',
      undefined,
      [
        `${svcKeyMatch(o.family)} vmap @${MAPS.svcIps}`,
        `${nodePortDst(o)} ${NODEPORT_KEY_MATCH} vmap @${MAPS.svcNodePorts}`,
      ],
    ],
    ...sharedChains(o),
    [MARK_MASQ_CHAIN, undefined, [`meta mark set meta mark | ${mark}`]],
    // As kube-proxy: only the masquerade bit is tested and cleared, every other mark bit passes untouched.
    [
      MASQUERADING_CHAIN,
      undefined,
      [`meta mark & ${mark} == 0 return`, `meta mark set meta mark ^ ${mark}`, 'masquerade fully-random'],
    ],
    ['nat-prerouting', hookSpec('nat', 'prerouting', -100), ['jump services']],
    ['nat-output', hookSpec('nat', 'output', -100), ['jump services']],
    [
      'nat-postrouting',
      hookSpec('nat', 'postrouting', 100),
      [
        `jump ${MASQUERADING_CHAIN}`,
        `ct status dnat ${l3} saddr . ${l3} daddr @${MAPS.hairpin} masquerade fully-random`,
      ],
    ],
  ];
}

export function className(c: ClassSpec): string {
  if (c.masq === 's') return shortCircuitChain(c.kind, c.n);
  return `${c.kind}-n${c.n}-${c.masq}${c.masq === 'l' ? `-c${c.sc ?? 0}` : ''}`;
}

function pickRule(kind: KeyKind, n: number, sc: boolean): string {
  const arms = Array.from({ length: n }, (_, k) => `${k} : goto ${bucketChain(kind, k, sc)}`);
  return `numgen random mod ${n} vmap { ${arms.join(', ')} }`;
}

/** The short-circuit chain of a kind and cluster-wide endpoint count. */
function shortCircuitChain(kind: KeyKind, n: number): string {
  return `${kind}-sc-n${n}`;
}

/** Rules of a class chain. */
export function classRules(c: ClassSpec, o: LayoutOptions = {}): string[] {
  if (c.masq === 's') return [pickRule(c.kind, c.n, true)];
  const rules: string[] = [];
  const masq = `jump ${MARK_MASQ_CHAIN}`;
  if (c.masq === 'm') rules.push(masq);
  const local = localTraffic(o);
  if (c.masq === 'o' && local) rules.push(`${local.isNot} ${masq}`);
  if (c.masq === 'l') {
    const sc = shortCircuitChain(c.kind, c.sc ?? 0);
    // kube-proxy's external chain for a Local service: pods and the node itself are not external clients;
    // they go to the cluster-wide endpoints (the node's traffic masqueraded, its source is a local address).
    if (local) rules.push(`${local.is} goto ${sc}`);
    rules.push(`fib saddr type local ${masq}`, `fib saddr type local goto ${sc}`);
  }
  if (c.n > 0) rules.push(pickRule(c.kind, c.n, false));
  return rules;
}

/** A chain and a set a single service owns (affinity services only). */
export interface OwnChain {
  name: string;
  rules: string[];
}
export interface OwnSet {
  name: string;
  spec: string;
}

export interface ServiceRender {
  elems: Elem[];
  classes: ClassSpec[];
  /** Chains owned by this service, in creation order (endpoint chains first). */
  chains: OwnChain[];
  sets: OwnSet[];
}

function hashName(prefix: string, base: string): string {
  const h = createHash('sha256').update(base).digest('base64url').replace(/[-_]/g, 'x').slice(0, 8).toUpperCase();
  // nft names: [A-Za-z0-9_./-]; namespaces, names and ports fit, ":" does not.
  const safe = base.replace(/[^A-Za-z0-9_./-]/g, '.');
  return `${prefix}${h}-${safe}`.slice(0, 240);
}

function portBase(sp: ServicePortState): string {
  const [ns, name] = sp.service.split('/');
  return `${ns}/${name}/${sp.protocol.toLowerCase()}/${sp.portName}`;
}

/**
 * kube-proxy's shape for a ClientIP-affinity service port: per endpoint an `affinity-` set (source
 * addresses, with the timeout) and an `endpoint-` chain (remember the source, DNAT); per endpoint list a
 * policy chain (`service-` cluster-wide, `local-` for Local policies) that first sends remembered sources
 * to their endpoint, then picks one at random; `external-` for the external destinations.
 */
function renderAffinityPort(sp: ServicePortState, o: LayoutOptions, out: ServiceRender): void {
  const base = portBase(sp);
  const w = familyWords(o.family);
  const fromPods = localTraffic(o);
  const epChain = (e: Endpoint) => hashName('endpoint-', `${base}__${e.ip}/${e.port}`);
  const affSet = (e: Endpoint) => hashName('affinity-', `${base}__${e.ip}/${e.port}/${sp.affinitySeconds}`);
  const seen = new Set<string>();
  const endpointChains = (eps: readonly Endpoint[]): void => {
    for (const e of eps) {
      const name = epChain(e);
      if (seen.has(name)) continue;
      seen.add(name);
      out.sets.push({
        name: affSet(e),
        spec: `type ${w.addrType}; flags dynamic,timeout; timeout ${sp.affinitySeconds}s;`,
      });
      const dnat = `meta l4proto ${nftProto(sp.protocol)} dnat ${w.l3} to ${natTarget(e.ip, e.port)}`;
      out.chains.push({ name, rules: [`update @${affSet(e)} { ${w.l3} saddr }`, dnat] });
    }
  };
  const policyChain = (prefix: string, eps: readonly Endpoint[]): string => {
    const name = hashName(prefix, base);
    const rules = eps.map((e) => `${w.l3} saddr @${affSet(e)} goto ${epChain(e)}`);
    const arms = eps.map((e, i) => `${i} : goto ${epChain(e)}`);
    if (eps.length) rules.push(`numgen random mod ${eps.length} vmap { ${arms.join(', ')} }`);
    out.chains.push({ name, rules });
    return name;
  };
  endpointChains(sp.clusterWideEndpoints);
  endpointChains(sp.clusterEndpoints);
  endpointChains(sp.externalEndpoints);
  const cluster = policyChain('service-', sp.clusterWideEndpoints);
  const local = sp.internalLocal || sp.externalLocal ? policyChain('local-', localOnly(sp)) : cluster;
  const masq = `jump ${MARK_MASQ_CHAIN}`;

  if (sp.clusterIPs.length) {
    const target = sp.internalLocal ? local : cluster;
    const name = hashName('internal-', base);
    const rules: string[] = [];
    if (o.masqueradeAll) rules.push(masq);
    else if (fromPods) rules.push(`${fromPods.isNot} ${masq}`);
    rules.push(`goto ${target}`);
    out.chains.push({ name, rules });
    for (const ip of sp.clusterIPs) {
      const key = svcKey(ip, sp.protocol, sp.port);
      if (sp.clusterDisposition === 'balance') out.elems.push({ map: MAPS.svcIps, key, value: `goto ${name}` });
      else out.elems.push({ map: MAPS.noepIps, key, value: noEndpointVerdict(sp.clusterDisposition) });
    }
  }
  const extIPs = [...sp.externalIPs, ...sp.loadBalancerIPs];
  if (!extIPs.length && !sp.nodePort) return;
  const ext = hashName('external-', base);
  const rules: string[] = [];
  if (!sp.externalLocal) rules.push(masq, `goto ${cluster}`);
  else {
    if (fromPods) rules.push(`${fromPods.is} goto ${cluster}`);
    rules.push(`fib saddr type local ${masq}`, `fib saddr type local goto ${cluster}`);
    if (sp.externalEndpoints.length) rules.push(`goto ${local}`);
  }
  out.chains.push({ name: ext, rules });
  const reachable = sp.clusterWideEndpoints.length > 0;
  for (const ip of extIPs) {
    const key = svcKey(ip, sp.protocol, sp.port);
    if (reachable) out.elems.push({ map: MAPS.svcIps, key, value: `goto ${ext}` });
    if (sp.externalDisposition !== 'balance')
      out.elems.push({ map: MAPS.noepIps, key, value: noEndpointVerdict(sp.externalDisposition) });
  }
  if (sp.nodePort) {
    const key = nodePortKey(sp.protocol, sp.nodePort);
    if (reachable) out.elems.push({ map: MAPS.svcNodePorts, key, value: `goto ${ext}` });
    if (sp.externalDisposition !== 'balance')
      out.elems.push({ map: MAPS.noepNodePorts, key, value: noEndpointVerdict(sp.externalDisposition) });
  }
}

function localOnly(sp: ServicePortState): Endpoint[] {
  return sp.externalLocal ? sp.externalEndpoints : sp.clusterEndpoints;
}

/** The elements, class chains and (affinity only) own chains and sets one service needs in the table of
 * `o.family` (its ports of that family only). Pure. */
export function renderService(st: ServiceState, o: LayoutOptions = {}): ServiceRender {
  const family = o.family ?? 4;
  const local = localTraffic(o);
  const out: ServiceRender = { elems: [], classes: [], chains: [], sets: [] };
  const { elems, classes } = out;
  const epsElems = (kind: KeyKind, keyText: string, eps: readonly Endpoint[], sc: boolean): void => {
    eps.forEach((e, i) => elems.push({ map: epsMap(kind, i, sc), key: keyText, value: `${e.ip} . ${e.port}` }));
  };
  const addEntry = (kind: KeyKind, keyText: string, sp: ServicePortState, external: boolean): void => {
    const vmap = kind === 'ip' ? MAPS.svcIps : MAPS.svcNodePorts;
    const noep = kind === 'ip' ? MAPS.noepIps : MAPS.noepNodePorts;
    const disp = external ? sp.externalDisposition : sp.clusterDisposition;
    const eps = external ? sp.externalEndpoints : sp.clusterEndpoints;
    if (disp === 'reject') {
      elems.push({ map: noep, key: keyText, value: noEndpointVerdict(disp) });
      return;
    }
    if (external && sp.externalLocal) {
      // Even with no local endpoint the entry goes to the class chain: pods and the node are short-circuited
      // there; what falls through un-DNATed (external clients) meets the no-endpoints drop after DNAT.
      const c: ClassSpec = { kind, n: eps.length, masq: 'l', sc: sp.clusterWideEndpoints.length };
      classes.push({ kind, n: sp.clusterWideEndpoints.length, masq: 's' }, c);
      elems.push({ map: vmap, key: keyText, value: `goto ${className(c)}` });
      if (disp === 'drop') elems.push({ map: noep, key: keyText, value: noEndpointVerdict(disp) });
      epsElems(kind, keyText, eps, false);
      epsElems(kind, keyText, sp.clusterWideEndpoints, true);
      return;
    }
    if (disp === 'drop') {
      elems.push({ map: vmap, key: keyText, value: noEndpointVerdict(disp) });
      return;
    }
    const masq: MasqMode = external || o.masqueradeAll ? 'm' : local ? 'o' : 'n';
    const c: ClassSpec = { kind, n: eps.length, masq };
    classes.push(c);
    elems.push({ map: vmap, key: keyText, value: `goto ${className(c)}` });
    epsElems(kind, keyText, eps, false);
  };
  const hairpins = new Set<string>();
  for (const sp of st.ports) {
    if (sp.family !== family) continue;
    for (const e of [...sp.clusterWideEndpoints, ...sp.clusterEndpoints, ...sp.externalEndpoints]) hairpins.add(e.ip);
    elems.push(...firewallElems(sp), ...clusterIpElems(sp));
    if (sp.affinitySeconds) {
      renderAffinityPort(sp, o, out);
      continue;
    }
    for (const vip of sp.clusterIPs) addEntry('ip', svcKey(vip, sp.protocol, sp.port), sp, false);
    for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs])
      addEntry('ip', svcKey(ip, sp.protocol, sp.port), sp, true);
    if (sp.nodePort) addEntry('np', nodePortKey(sp.protocol, sp.nodePort), sp, true);
  }
  for (const ip of hairpins) elems.push({ map: MAPS.hairpin, key: `${ip} . ${ip}`, value: '' });
  return out;
}

/** How many buckets of each sort a class needs (their endpoint maps and bucket chains must exist). */
export function bucketsOf(c: ClassSpec): { eps: number; sc: number } {
  return c.masq === 's' ? { eps: 0, sc: c.n } : { eps: c.n, sc: 0 };
}

/** Ops that create (or re-create in place) one class chain. */
export function classOps(c: ClassSpec, o: LayoutOptions, flush: boolean): NftOp[] {
  const name = className(c);
  const table = tableOf(o.family);
  const ops: NftOp[] = [{ verb: 'add', kind: 'chain', table, name }];
  if (flush) ops.push({ verb: 'flush', kind: 'chain', table, name });
  for (const rule of classRules(c, o)) ops.push({ verb: 'add', kind: 'rule', table, chain: name, rule });
  return ops;
}

/** Ops that create bucket maps and chains [from, to) of one kind (normal or short-circuit). */
export function bucketOps(kind: KeyKind, from: number, to: number, sc: boolean, f?: IPFamily): NftOp[] {
  const ops: NftOp[] = [];
  const table = tableOf(f);
  for (let k = from; k < to; k++) {
    const [, name, spec] = epsMapDef(kind, k, sc, f);
    ops.push({ verb: 'add', kind: 'map', table, name, spec });
    const [chain, , rules] = bucketChainDef(kind, k, sc, f);
    ops.push({ verb: 'add', kind: 'chain', table, name: chain });
    for (const rule of rules) ops.push({ verb: 'add', kind: 'rule', table, chain, rule });
  }
  return ops;
}
