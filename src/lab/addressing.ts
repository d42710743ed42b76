/**
 * The lab addressing contract (pure). Underlay 198.18.0.0/24: control plane .1, node i at .10+i, client .100;
 * LoadBalancer pool .200-.250 (answered by ARP from a node); pods 10.244.0.0/16; services 10.96.0.0/12.
 */
import { parseCidr, tryParseCidr } from '../net/cidr.js';

const UNDERLAY_CIDR = '198.18.0.0/24';
export const UNDERLAY_PREFIX_LEN = 24;
export const CP_IP = '198.18.0.1';
export const CLIENT_IP = '198.18.0.100';
export const CLUSTER_CIDR = '10.244.0.0/16';
export const SERVICE_CIDR = '10.96.0.0/12';
const LB_POOL = '198.18.0.200-198.18.0.250';
export const API_PORT = 6443;
export const MAX_NODES = 50;

export function nodeName(i: number): string {
  return `node${i}`;
}

export function nodeIP(i: number): string {
  if (!Number.isInteger(i) || i < 1 || i > MAX_NODES) throw new Error(`node index ${i} out of range 1-${MAX_NODES}`);
  return `198.18.0.${10 + i}`;
}

export interface Member {
  /** short role name, also the namespace suffix: cp, node1.., client */
  role: string;
  ip: string;
}

export function members(nodes: number): Member[] {
  const out: Member[] = [{ role: 'cp', ip: CP_IP }];
  for (let i = 1; i <= nodes; i++) out.push({ role: nodeName(i), ip: nodeIP(i) });
  out.push({ role: 'client', ip: CLIENT_IP });
  return out;
}

export function nsName(prefix: string, role: string): string {
  return `${prefix}-${role}`;
}

/** Whether two CIDRs (or bare addresses) overlap; different families never do. */
export function cidrOverlap(a: string, b: string): boolean {
  return parseCidr(a, { allowBareAddress: true }).overlaps(parseCidr(b, { allowBareAddress: true }));
}

/** Host route destinations (from `ip -json route`) that overlap the underlay; "default" is a route, not a network. */
export function overlappingRoutes(dsts: string[], underlay = UNDERLAY_CIDR): string[] {
  const net = parseCidr(underlay);
  return dsts.filter((d) => !!tryParseCidr(d, { allowBareAddress: true })?.overlaps(net));
}

/**
 * `skiff up --ip-family`: ipv4 (the default), dual (IPv4 primary plus IPv6) or ipv6 (pods and Services IPv6
 * only). The IPv6 plan is a ULA mirror of the IPv4 one (RFC 4193, never a public range): underlay
 * fd00:198:18::/64 with the same host numbers (node1 fd00:198:18::11), pods fd00:10:244::/56 (a /64 per
 * node), services fd00:10:96::/112. The underlay keeps its IPv4 addresses in every mode: the components
 * reach the API server over it.
 */
export type IpFamilyMode = 'ipv4' | 'ipv6' | 'dual';
export const UNDERLAY6_PREFIX_LEN = 64;
const CLUSTER_CIDR6 = 'fd00:10:244::/56';
export const SERVICE_CIDR6 = 'fd00:10:96::/112';
/** LoadBalancer addresses on the IPv6 underlay (answered by Neighbor Advertisements from a node). */
const LB_POOL6 = 'fd00:198:18::200-fd00:198:18::250';

/** The underlay IPv6 address matching an underlay IPv4 one (198.18.0.11 → fd00:198:18::11). */
export function underlayIPv6(ipv4: string): string {
  const last = ipv4.split('.')[3];
  return `fd00:198:18::${last}`;
}

/** Comma-separated, primary family first: what --cluster-cidr / --service-cluster-ip-range take. */
export function clusterCidrs(mode: IpFamilyMode): string {
  return { ipv4: CLUSTER_CIDR, ipv6: CLUSTER_CIDR6, dual: `${CLUSTER_CIDR},${CLUSTER_CIDR6}` }[mode];
}

/** --lb-pool: a range per family of the lab, primary first. */
export function lbPools(mode: IpFamilyMode): string {
  return { ipv4: LB_POOL, ipv6: LB_POOL6, dual: `${LB_POOL},${LB_POOL6}` }[mode];
}

export function serviceCidrs(mode: IpFamilyMode): string {
  return { ipv4: SERVICE_CIDR, ipv6: SERVICE_CIDR6, dual: `${SERVICE_CIDR},${SERVICE_CIDR6}` }[mode];
}

/** A node's --node-ip: its InternalIP(s), primary family first. */
export function nodeIPs(i: number, mode: IpFamilyMode): string {
  const v4 = nodeIP(i);
  return { ipv4: v4, ipv6: underlayIPv6(v4), dual: `${v4},${underlayIPv6(v4)}` }[mode];
}
