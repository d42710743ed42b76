import type { NftOp, TableRef } from '../../os/nft.js';
import type { Disposition, ServicePortState, ServiceState } from '../model/types.js';
import {
  CHAINS,
  firewallElems,
  hookSpec,
  LOCAL_DST,
  MAPS,
  MASQ_BIT,
  masqueradeRule,
  nodePortKey,
  NODEPORT_KEY_MATCH,
  NODEPORT_KEY_TYPE,
  noEndpointVerdict,
  sharedChains,
  sharedSets,
  SVC_KEY_MATCH,
  SVC_KEY_TYPE,
  svcKey,
  type ChainDef,
  type Elem,
} from '../nftvocab.js';

/**
 * The nftables layout, as pure data. Measured choice (docs/proxy.md): no chain per service or endpoint.
 * Per-service data lives only in named map elements (nearly free to change in nft 1.0.6), and a few shared
 * "class" chains — one per (key kind, endpoint count, masquerade mode, affinity timeout) actually in use —
 * pick a bucket with `numgen random mod N` into the packet mark and DNAT through a map keyed by
 * (address, protocol, port, bucket). A partial sync is then only element deletes/adds in one transaction.
 */
export const TABLE: TableRef = { family: 'ip', name: 'skiff' };

export type KeyKind = 'ip' | 'np';
/** m: always masquerade; o: only sources outside the cluster CIDR; n: never. */
export type MasqMode = 'm' | 'o' | 'n';

export interface ClassSpec {
  kind: KeyKind;
  n: number;
  masq: MasqMode;
  affinity: number;
}

/** Static maps and sets: [kind, name, spec]. Their elements are owned by the mirror. */
export const STATIC_MAPS: readonly ['map' | 'set', string, string][] = [
  ['map', MAPS.svcIps, `type ${SVC_KEY_TYPE} : verdict;`],
  ['map', MAPS.svcNodePorts, `type ${NODEPORT_KEY_TYPE} : verdict;`],
  // Explicit types, not `typeof`: nft 1.0.6 cannot re-read a `typeof ... : ip daddr . th dport` map from
  // the kernel ("conflicting protocols"), which breaks any later rule that refers to it.
  ['map', MAPS.epsIp, `type ${SVC_KEY_TYPE} . mark : ipv4_addr . inet_service;`],
  ['map', MAPS.epsNp, `type ${NODEPORT_KEY_TYPE} . mark : ipv4_addr . inet_service;`],
  ...sharedSets(),
  ['set', MAPS.hairpin, 'type ipv4_addr . ipv4_addr;'],
];

/** Regular chains that verdict maps jump to, before the base chains that refer to them. */
export const REGULAR_CHAINS = new Set(['services', CHAINS.noEndpoints, CHAINS.reject]);

/** Base and fixed regular chains: [name, spec or undefined, rules]. */
export function staticChains(): ChainDef[] {
  return [
    [
      'services',
      undefined,
      [`${SVC_KEY_MATCH} vmap @${MAPS.svcIps}`, `${LOCAL_DST} ${NODEPORT_KEY_MATCH} vmap @${MAPS.svcNodePorts}`],
    ],
    ...sharedChains(),
    ['nat-prerouting', hookSpec('nat', 'prerouting', -100), ['jump services']],
    ['nat-output', hookSpec('nat', 'output', -100), ['jump services']],
    [
      'nat-postrouting',
      hookSpec('nat', 'postrouting', 100),
      [masqueradeRule(), `ct status dnat ip saddr . ip daddr @${MAPS.hairpin} masquerade`],
    ],
  ];
}

export function className(c: ClassSpec): string {
  return `${c.kind}-n${c.n}-${c.masq}${c.affinity ? `-a${c.affinity}` : ''}`;
}

export function affinityMapName(kind: KeyKind, seconds: number): string {
  return `aff_${kind}_${seconds}`;
}

export function affinityMapSpec(kind: KeyKind, seconds: number): string {
  const key = kind === 'ip' ? `ipv4_addr . ${SVC_KEY_TYPE}` : `ipv4_addr . ${NODEPORT_KEY_TYPE}`;
  return `type ${key} : mark; size 262144; flags dynamic,timeout; timeout ${seconds}s;`;
}

/** Rules of a class chain. Dnat is terminal, so the fallback after it only runs on a map miss. */
export function classRules(c: ClassSpec, clusterCIDR?: string): string[] {
  const rules: string[] = [];
  if (c.masq === 'm') rules.push(`ct mark set ct mark | ${MASQ_BIT}`);
  if (c.masq === 'o' && clusterCIDR) rules.push(`ip saddr != ${clusterCIDR} ct mark set ct mark | ${MASQ_BIT}`);
  const keyMatch = c.kind === 'ip' ? SVC_KEY_MATCH : NODEPORT_KEY_MATCH;
  const dnat = `dnat ip to ${keyMatch} . meta mark map @${c.kind === 'ip' ? MAPS.epsIp : MAPS.epsNp}`;
  const pick = `meta mark set numgen random mod ${c.n}`;
  if (!c.affinity) return [...rules, pick, dnat];
  const aff = affinityMapName(c.kind, c.affinity);
  const affKey = `ip saddr . ${keyMatch}`;
  const remember = `update @${aff} { ${affKey} timeout ${c.affinity}s : meta mark }`;
  // A remembered bucket wins over the random one; if the endpoint count shrank the bucket misses the
  // endpoint map, and the second pick (after the terminal dnat) chooses afresh.
  return [...rules, pick, `meta mark set ${affKey} map @${aff}`, remember, dnat, pick, remember, dnat];
}

export interface ServiceRender {
  elems: Elem[];
  classes: ClassSpec[];
}

/** The elements and class chains one service needs. Pure. */
export function renderService(st: ServiceState, clusterCIDR?: string): ServiceRender {
  const elems: Elem[] = [];
  const classes: ClassSpec[] = [];
  const addEntry = (
    kind: KeyKind,
    keyText: string,
    disp: Disposition,
    eps: ServicePortState['clusterEndpoints'],
    masq: MasqMode,
    affinity: number,
  ): void => {
    const vmap = kind === 'ip' ? MAPS.svcIps : MAPS.svcNodePorts;
    if (disp === 'reject') {
      elems.push({
        map: kind === 'ip' ? MAPS.noepIps : MAPS.noepNodePorts,
        key: keyText,
        value: noEndpointVerdict(disp),
      });
      return;
    }
    if (disp === 'drop') {
      elems.push({ map: vmap, key: keyText, value: noEndpointVerdict(disp) });
      return;
    }
    const c: ClassSpec = { kind, n: eps.length, masq, affinity };
    classes.push(c);
    elems.push({ map: vmap, key: keyText, value: `goto ${className(c)}` });
    eps.forEach((e, i) => {
      elems.push({
        map: kind === 'ip' ? MAPS.epsIp : MAPS.epsNp,
        key: `${keyText} . ${i}`,
        value: `${e.ip} . ${e.port}`,
      });
    });
  };
  const hairpins = new Set<string>();
  for (const sp of st.ports) {
    for (const vip of sp.clusterIPs) {
      addEntry(
        'ip',
        svcKey(vip, sp.protocol, sp.port),
        sp.clusterDisposition,
        sp.clusterEndpoints,
        clusterCIDR ? 'o' : 'n',
        sp.affinitySeconds,
      );
    }
    const extMasq: MasqMode = sp.externalMasquerade ? 'm' : 'n';
    for (const ip of [...sp.externalIPs, ...sp.loadBalancerIPs]) {
      addEntry(
        'ip',
        svcKey(ip, sp.protocol, sp.port),
        sp.externalDisposition,
        sp.externalEndpoints,
        extMasq,
        sp.affinitySeconds,
      );
    }
    if (sp.nodePort) {
      addEntry(
        'np',
        nodePortKey(sp.protocol, sp.nodePort),
        sp.externalDisposition,
        sp.externalEndpoints,
        extMasq,
        sp.affinitySeconds,
      );
    }
    elems.push(...firewallElems(sp));
    for (const e of [...sp.clusterEndpoints, ...sp.externalEndpoints]) hairpins.add(e.ip);
  }
  for (const ip of hairpins) elems.push({ map: MAPS.hairpin, key: `${ip} . ${ip}`, value: '' });
  return { elems, classes };
}

/** Ops that create (or re-create in place) one class chain and its affinity map. */
export function classOps(c: ClassSpec, clusterCIDR: string | undefined, flush: boolean): NftOp[] {
  const name = className(c);
  const ops: NftOp[] = [];
  if (c.affinity) {
    ops.push({
      verb: 'add',
      kind: 'map',
      table: TABLE,
      name: affinityMapName(c.kind, c.affinity),
      spec: affinityMapSpec(c.kind, c.affinity),
    });
  }
  ops.push({ verb: 'add', kind: 'chain', table: TABLE, name });
  if (flush) ops.push({ verb: 'flush', kind: 'chain', table: TABLE, name });
  for (const r of classRules(c, clusterCIDR))
    ops.push({ verb: 'add', kind: 'rule', table: TABLE, chain: name, rule: r });
  return ops;
}
