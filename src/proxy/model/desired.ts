import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { tryParseCidr } from '../../net/cidr.js';
import { compareIpText, familyName, ipFamilyOf } from '../../net/ip.js';
import type { ProxyTracker } from './tracker.js';
import { serviceKey } from './tracker.js';
import type {
  DesiredState,
  Disposition,
  Endpoint,
  IPFamily,
  NodeFacts,
  Protocol,
  ServicePortState,
  ServiceState,
} from './types.js';

/** Kubernetes' default ClientIP affinity timeout (3 hours). */
const DEFAULT_AFFINITY_SECONDS = 10_800;

/** "a.b.c.d/n", "fd00::/64" or a bare address (→ /32, /128); undefined for anything else. */
export function normalizeCIDR(s: string): string | undefined {
  return tryParseCidr(s.trim(), { allowBareAddress: true })?.toAddressString();
}

const FAMILIES: readonly IPFamily[] = [4, 6];

function ofFamily(f: IPFamily): (ip: string | undefined) => ip is string {
  return (ip): ip is string => ipFamilyOf(ip) === f;
}

function protocolOf(p: string | undefined): Protocol | undefined {
  const v = p ?? 'TCP';
  return v === 'TCP' || v === 'UDP' || v === 'SCTP' ? v : undefined;
}

/** All endpoints of one service port, resolved per slice (a named targetPort can differ between slices). */
function endpointsForPort(
  slices: readonly V1EndpointSlice[],
  portName: string,
  protocol: Protocol,
  nodeName: string,
  family: IPFamily,
): Endpoint[] {
  const byAddr = new Map<string, Endpoint>();
  const inFamily = ofFamily(family);
  for (const slice of slices) {
    // A slice without addressType predates dual stack: IPv4 (FQDN slices are never proxied).
    if ((slice.addressType ?? 'IPv4') !== familyName(family)) continue;
    const sp = (slice.ports ?? []).find((p) => (p.name ?? '') === portName && protocolOf(p.protocol) === protocol);
    if (!sp || typeof sp.port !== 'number' || sp.port < 1 || sp.port > 65535) continue;
    for (const ep of slice.endpoints ?? []) {
      const ip = ep.addresses?.[0]; // consumers use the first address, as kube-proxy does
      if (!inFamily(ip)) continue;
      const ready = ep.conditions?.ready ?? true; // nil means ready (discovery/v1)
      const e: Endpoint = {
        ip,
        port: sp.port,
        nodeName: ep.nodeName,
        local: ep.nodeName !== undefined && ep.nodeName === nodeName,
        ready,
        serving: ep.conditions?.serving ?? ready,
        terminating: ep.conditions?.terminating ?? false,
      };
      const k = `${ip}:${sp.port}`;
      const prev = byAddr.get(k);
      if (!prev || (!prev.ready && e.ready)) byAddr.set(k, e);
    }
  }
  return [...byAddr.values()].sort((a, b) => compareIpText(a.ip, b.ip) || a.port - b.port);
}

/**
 * kube-proxy's endpoint selection: ready endpoints; if there are none, the serving-and-terminating ones
 * (so connections drain to pods shutting down rather than failing), restricted to this node for Local.
 */
export function selectEndpoints(all: readonly Endpoint[], onlyLocal: boolean): Endpoint[] {
  const candidates = onlyLocal ? all.filter((e) => e.local) : all;
  const ready = candidates.filter((e) => e.ready);
  if (ready.length) return ready;
  return candidates.filter((e) => e.serving && e.terminating);
}

function disposition(selected: readonly Endpoint[], all: readonly Endpoint[]): Disposition {
  if (selected.length) return 'balance';
  // No usable endpoint anywhere: reject at once. Usable ones exist elsewhere but Local excludes them: drop.
  return selectEndpoints(all, false).length ? 'drop' : 'reject';
}

/** The state of one Service, or undefined if it programs nothing (headless, ExternalName, no ports). */
export function buildServiceState(
  svc: V1Service,
  slices: readonly V1EndpointSlice[],
  node: NodeFacts,
): ServiceState | undefined {
  const spec = svc.spec;
  if (!spec || spec.type === 'ExternalName') return undefined;
  const key = serviceKey(svc);
  const rawIPs = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  if (rawIPs.includes('None')) return undefined; // headless: DNS only, no VIP
  const type = spec.type ?? 'ClusterIP';
  const hasNodePorts = type === 'NodePort' || type === 'LoadBalancer';
  const allLoadBalancerIPs =
    type === 'LoadBalancer'
      ? (svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((ip): ip is string => !!ipFamilyOf(ip))
      : [];
  const allSourceRanges = (spec.loadBalancerSourceRanges ?? [])
    .map(normalizeCIDR)
    .filter((c): c is string => c !== undefined);
  // The families this Service is served in: those of its ClusterIPs (spec.ipFamilies follows them).
  const byIPs = FAMILIES.filter((f) => rawIPs.some(ofFamily(f)));
  const byNames = FAMILIES.filter((f) => spec.ipFamilies?.includes(familyName(f)));
  const families: readonly IPFamily[] = byIPs.length ? byIPs : byNames.length ? byNames : [4];
  const affinitySeconds =
    spec.sessionAffinity === 'ClientIP'
      ? (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? DEFAULT_AFFINITY_SECONDS)
      : 0;
  const externallyAccessible = hasNodePorts || (spec.externalIPs ?? []).length > 0;
  const externalLocal = externallyAccessible && spec.externalTrafficPolicy === 'Local';
  const internalLocal = spec.internalTrafficPolicy === 'Local';

  const ports: ServicePortState[] = [];
  const localReady = new Set<string>();
  for (const family of families) {
    const inFamily = ofFamily(family);
    const clusterIPs = rawIPs.filter(inFamily);
    const externalIPs = (spec.externalIPs ?? []).filter(inFamily);
    const loadBalancerIPs = allLoadBalancerIPs.filter(inFamily);
    const sourceRanges = allSourceRanges.filter((c) => inFamily(c.split('/')[0]));
    for (const p of spec.ports ?? []) {
      const protocol = protocolOf(p.protocol);
      if (!protocol || !Number.isInteger(p.port) || p.port < 1 || p.port > 65535) continue;
      const portName = p.name ?? '';
      const all = endpointsForPort(slices, portName, protocol, node.nodeName, family);
      for (const e of all) if (e.local && e.ready) localReady.add(e.ip);
      const clusterEndpoints = selectEndpoints(all, internalLocal);
      const externalEndpoints = selectEndpoints(all, externalLocal);
      ports.push({
        family,
        service: key,
        id: `${key}:${portName}`,
        portName,
        protocol,
        port: p.port,
        clusterIPs,
        nodePort: hasNodePorts && p.nodePort ? p.nodePort : undefined,
        externalIPs,
        loadBalancerIPs,
        sourceRanges: loadBalancerIPs.length ? sourceRanges : [],
        affinitySeconds,
        externalLocal,
        internalLocal,
        clusterEndpoints,
        clusterWideEndpoints: selectEndpoints(all, false),
        clusterDisposition: disposition(clusterEndpoints, all),
        externalEndpoints,
        externalDisposition: disposition(externalEndpoints, all),
        servingIPs: [...new Set(all.filter((e) => e.serving).map((e) => e.ip))],
        externalMasquerade: !externalLocal,
      });
    }
  }
  if (!ports.length) return undefined;
  return {
    key,
    ports,
    healthCheckNodePort: externalLocal && type === 'LoadBalancer' ? spec.healthCheckNodePort : undefined,
    localEndpoints: localReady.size,
    loadBalancerIPs: allLoadBalancerIPs.filter((ip) => families.includes(ipFamilyOf(ip)!)),
    externalLocal,
  };
}

/**
 * Recompute the given services (all when `keys` is omitted) into `into`, deleting those that are gone or
 * program nothing. Returns the keys whose state changed entry (every given key).
 */
export function buildDesired(
  tracker: ProxyTracker,
  node: NodeFacts,
  into: DesiredState = new Map(),
  keys?: Iterable<string>,
): DesiredState {
  for (const key of keys ?? tracker.serviceKeys()) {
    const svc = tracker.service(key);
    const st = svc ? buildServiceState(svc, tracker.slicesOf(key), node) : undefined;
    if (st) into.set(key, st);
    else into.delete(key);
  }
  return into;
}
