import type { NftOp, TableRef } from '../../os/nft.js';
import type { Disposition, Protocol, ServicePortState, ServiceState } from '../model/types.js';

/**
 * The nftables layout, as pure data. Measured choice (docs/proxy.md): no chain per service or endpoint.
 * Per-service data lives only in named map elements (nearly free to change in nft 1.0.6), and a few shared
 * "class" chains — one per (key kind, endpoint count, masquerade mode, affinity timeout) actually in use —
 * pick a bucket with `numgen random mod N` into the packet mark and DNAT through a map keyed by
 * (address, protocol, port, bucket). A partial sync is then only element deletes/adds in one transaction.
 */
export const TABLE: TableRef = { family: 'ip', name: 'skiff' };
/** ct mark bit meaning "masquerade this connection in postrouting" (kube-proxy's 0x4000). */
export const MASQ_BIT = '0x00004000';

export type KeyKind = 'ip' | 'np';
/** m: always masquerade; o: only sources outside the cluster CIDR; n: never. */
export type MasqMode = 'm' | 'o' | 'n';

export interface ClassSpec {
  kind: KeyKind;
  n: number;
  masq: MasqMode;
  affinity: number;
}

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
} as const;

/** Static maps and sets: [kind, name, spec]. Their elements are owned by the mirror. */
export const STATIC_MAPS: readonly ['map' | 'set', string, string][] = [
  ['map', MAPS.svcIps, 'type ipv4_addr . inet_proto . inet_service : verdict;'],
  ['map', MAPS.svcNodePorts, 'type inet_proto . inet_service : verdict;'],
  // Explicit types, not `typeof`: nft 1.0.6 cannot re-read a `typeof ... : ip daddr . th dport` map from
  // the kernel ("conflicting protocols"), which breaks any later rule that refers to it.
  ['map', MAPS.epsIp, 'type ipv4_addr . inet_proto . inet_service . mark : ipv4_addr . inet_service;'],
  ['map', MAPS.epsNp, 'type inet_proto . inet_service . mark : ipv4_addr . inet_service;'],
  ['map', MAPS.noepIps, 'type ipv4_addr . inet_proto . inet_service : verdict;'],
  ['map', MAPS.noepNodePorts, 'type inet_proto . inet_service : verdict;'],
  ['set', MAPS.fwIps, 'type ipv4_addr . inet_proto . inet_service;'],
  ['set', MAPS.fwAllow, 'type ipv4_addr . inet_proto . inet_service . ipv4_addr; flags interval;'],
  ['set', MAPS.hairpin, 'type ipv4_addr . ipv4_addr;'],
];

const LOCAL_DST = 'fib daddr type local ip daddr != 127.0.0.0/8';

/** Base and fixed regular chains: [name, spec or undefined, rules]. */
export function staticChains(): [string, string | undefined, string[]][] {
  const noep = 'ct state new jump no-endpoints';
  return [
    [
      'services',
      undefined,
      [
        `ip daddr . meta l4proto . th dport vmap @${MAPS.svcIps}`,
        `${LOCAL_DST} meta l4proto . th dport vmap @${MAPS.svcNodePorts}`,
      ],
    ],
    [
      'no-endpoints',
      undefined,
      [
        `ip daddr . meta l4proto . th dport vmap @${MAPS.noepIps}`,
        `${LOCAL_DST} meta l4proto . th dport vmap @${MAPS.noepNodePorts}`,
      ],
    ],
    ['reject-svc', undefined, ['meta l4proto tcp reject with tcp reset', 'reject']],
    ['nat-prerouting', 'type nat hook prerouting priority -100; policy accept;', ['jump services']],
    ['nat-output', 'type nat hook output priority -100; policy accept;', ['jump services']],
    [
      'nat-postrouting',
      'type nat hook postrouting priority 100; policy accept;',
      [
        `ct mark & ${MASQ_BIT} == ${MASQ_BIT} masquerade`,
        `ct status dnat ip saddr . ip daddr @${MAPS.hairpin} masquerade`,
      ],
    ],
    [
      'filter-prerouting',
      'type filter hook prerouting priority -110; policy accept;',
      [
        `ct state new ip daddr . meta l4proto . th dport @${MAPS.fwIps} ` +
          `ip daddr . meta l4proto . th dport . ip saddr != @${MAPS.fwAllow} drop`,
      ],
    ],
    ['filter-input', 'type filter hook input priority -110; policy accept;', [noep]],
    ['filter-forward', 'type filter hook forward priority -110; policy accept;', [noep]],
    ['filter-output', 'type filter hook output priority -110; policy accept;', [noep]],
  ];
}

export function className(c: ClassSpec): string {
  return `${c.kind}-n${c.n}-${c.masq}${c.affinity ? `-a${c.affinity}` : ''}`;
}

export function affinityMapName(kind: KeyKind, seconds: number): string {
  return `aff_${kind}_${seconds}`;
}

export function affinityMapSpec(kind: KeyKind, seconds: number): string {
  const key =
    kind === 'ip' ? 'ipv4_addr . ipv4_addr . inet_proto . inet_service' : 'ipv4_addr . inet_proto . inet_service';
  return `type ${key} : mark; size 262144; flags dynamic,timeout; timeout ${seconds}s;`;
}

/** Rules of a class chain. Dnat is terminal, so the fallback after it only runs on a map miss. */
export function classRules(c: ClassSpec, clusterCIDR?: string): string[] {
  const rules: string[] = [];
  if (c.masq === 'm') rules.push(`ct mark set ct mark | ${MASQ_BIT}`);
  if (c.masq === 'o' && clusterCIDR) rules.push(`ip saddr != ${clusterCIDR} ct mark set ct mark | ${MASQ_BIT}`);
  const svcKey = c.kind === 'ip' ? 'ip daddr . meta l4proto . th dport' : 'meta l4proto . th dport';
  const dnat = `dnat ip to ${svcKey} . meta mark map @${c.kind === 'ip' ? MAPS.epsIp : MAPS.epsNp}`;
  const pick = `meta mark set numgen random mod ${c.n}`;
  if (!c.affinity) return [...rules, pick, dnat];
  const aff = affinityMapName(c.kind, c.affinity);
  const affKey = `ip saddr . ${svcKey}`;
  const remember = `update @${aff} { ${affKey} timeout ${c.affinity}s : meta mark }`;
  // A remembered bucket wins over the random one; if the endpoint count shrank the bucket misses the
  // endpoint map, and the second pick (after the terminal dnat) chooses afresh.
  return [...rules, pick, `meta mark set ${affKey} map @${aff}`, remember, dnat, pick, remember, dnat];
}

const PROTO: Record<Protocol, string> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

/** One map element: map name, key text, value text (empty for sets). */
export interface Elem {
  map: string;
  key: string;
  value: string;
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
      elems.push({ map: kind === 'ip' ? MAPS.noepIps : MAPS.noepNodePorts, key: keyText, value: 'goto reject-svc' });
      return;
    }
    if (disp === 'drop') {
      elems.push({ map: vmap, key: keyText, value: 'drop' });
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
    const proto = PROTO[sp.protocol];
    for (const vip of sp.clusterIPs) {
      addEntry(
        'ip',
        `${vip} . ${proto} . ${sp.port}`,
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
        `${ip} . ${proto} . ${sp.port}`,
        sp.externalDisposition,
        sp.externalEndpoints,
        extMasq,
        sp.affinitySeconds,
      );
    }
    if (sp.nodePort) {
      addEntry(
        'np',
        `${proto} . ${sp.nodePort}`,
        sp.externalDisposition,
        sp.externalEndpoints,
        extMasq,
        sp.affinitySeconds,
      );
    }
    for (const lb of sp.sourceRanges.length ? sp.loadBalancerIPs : []) {
      elems.push({ map: MAPS.fwIps, key: `${lb} . ${proto} . ${sp.port}`, value: '' });
      for (const cidr of sp.sourceRanges) {
        elems.push({ map: MAPS.fwAllow, key: `${lb} . ${proto} . ${sp.port} . ${cidr}`, value: '' });
      }
    }
    for (const e of [...sp.clusterEndpoints, ...sp.externalEndpoints]) hairpins.add(e.ip);
  }
  for (const ip of hairpins) elems.push({ map: MAPS.hairpin, key: `${ip} . ${ip}`, value: '' });
  return { elems, classes };
}

export function elemText(e: Elem): string {
  return e.value ? `${e.key} : ${e.value}` : e.key;
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
