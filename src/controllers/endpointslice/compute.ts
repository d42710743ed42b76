import type {
  DiscoveryV1EndpointPort as V1EndpointPort,
  V1Endpoint,
  V1EndpointSubset,
  V1Pod,
  V1Service,
} from '@kubernetes/client-node';
import { familyName, ipFamilyOf, type IpFamilyName } from '../../net/ip.js';
import { isPodReady, isPodTerminating, mapSelectorMatches } from '../objects.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
export const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
export const MANAGED_BY = 'endpointslice-controller.k8s.io';
const MAX_ENDPOINTS_PER_SLICE = 100;

/** One desired EndpointSlice's content (names are assigned when reconciling against existing slices). */
export interface DesiredSlice {
  addressType: 'IPv4' | 'IPv6';
  ports: V1EndpointPort[];
  endpoints: V1Endpoint[];
}

function containerPortByName(pod: V1Pod, name: string, protocol: string): number | undefined {
  for (const c of pod.spec?.containers ?? []) {
    for (const p of c.ports ?? []) if (p.name === name && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
  }
  return undefined;
}

/** The Service's ports as this pod serves them; a named targetPort the pod lacks drops that port. */
function endpointPortsFor(svc: V1Service, pod: V1Pod): V1EndpointPort[] {
  const out: V1EndpointPort[] = [];
  for (const sp of svc.spec?.ports ?? []) {
    const protocol = sp.protocol ?? 'TCP';
    const tp = sp.targetPort ?? sp.port;
    let port: number | undefined;
    if (typeof tp === 'number') port = tp;
    else if (/^\d+$/.test(String(tp))) port = Number(tp);
    else port = containerPortByName(pod, String(tp), protocol);
    if (port === undefined) continue;
    const ep: V1EndpointPort = { port, protocol };
    if (sp.name) ep.name = sp.name;
    if (sp.appProtocol) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

const portsKey = (ports: V1EndpointPort[]): string =>
  JSON.stringify(
    [...ports]
      .sort((a, b) => (a.name ?? '').localeCompare(b.name ?? ''))
      .map((p) => [p.name ?? '', p.protocol, p.port]),
  );

/** Pods a Service selects that can be endpoints: selected, has an IP, not finished. */
function selectedPods(svc: V1Service, pods: V1Pod[]): V1Pod[] {
  return pods.filter(
    (p) =>
      p.metadata?.namespace === svc.metadata?.namespace &&
      mapSelectorMatches(svc.spec?.selector, p.metadata?.labels) &&
      !!p.status?.podIP &&
      p.status?.phase !== 'Succeeded' &&
      p.status?.phase !== 'Failed',
  );
}

/** `service` is the Service's name: the endpoint carries the pod's hostname only when its subdomain names it. */
function endpointFor(pod: V1Pod, ip: string, service?: string): V1Endpoint {
  const terminating = isPodTerminating(pod);
  const serving = isPodReady(pod);
  const ep: V1Endpoint = {
    addresses: [ip],
    conditions: { ready: serving && !terminating, serving, terminating },
    targetRef: { kind: 'Pod', namespace: pod.metadata?.namespace, name: pod.metadata?.name, uid: pod.metadata?.uid },
  };
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  // as the EndpointSlice controller: hostname only for the Service the pod's subdomain names (DNS spec)
  if (pod.spec?.hostname && pod.spec.subdomain === service) ep.hostname = pod.spec.hostname;
  return ep;
}

/**
 * The address types a Service's slices carry (Kubernetes' getAddressTypesForService): its ipFamilies; for an
 * object without them, the family of its clusterIP; for a headless one without them, both.
 */
export function addressTypesFor(svc: V1Service): IpFamilyName[] {
  const families = (svc.spec?.ipFamilies ?? []).filter((f): f is IpFamilyName => f === 'IPv4' || f === 'IPv6');
  if (families.length) return [...new Set(families)];
  const ip = svc.spec?.clusterIP;
  if (ip && ip !== 'None') return [familyName(ipFamilyOf(ip) ?? 4)];
  return ['IPv4', 'IPv6'];
}

/**
 * Desired slices of a Service, one set per address type: endpoints grouped by (address family, resolved ports), sorted by pod name,
 * cut into slices of at most `max` endpoints. Terminating pods are kept with ready=false (like Kubernetes)
 * unless publishNotReadyAddresses, where every endpoint is reported ready.
 */
export function computeSlices(svc: V1Service, pods: V1Pod[], max = MAX_ENDPOINTS_PER_SLICE): DesiredSlice[] {
  const groups = new Map<string, DesiredSlice>();
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const addressTypes = addressTypesFor(svc);
  const sorted = selectedPods(svc, pods).sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  for (const pod of sorted) {
    const ports = endpointPortsFor(svc, pod);
    if ((svc.spec?.ports?.length ?? 0) > 0 && ports.length === 0) continue;
    const ips = pod.status?.podIPs?.map((p) => p.ip).filter((x): x is string => !!x) ?? [pod.status!.podIP!];
    for (const ip of ips.length ? ips : [pod.status!.podIP!]) {
      const family = ipFamilyOf(ip);
      if (!family) continue;
      const addressType = familyName(family);
      if (!addressTypes.includes(addressType)) continue;
      const key = `${addressType}|${portsKey(ports)}`;
      let g = groups.get(key);
      if (!g) {
        g = { addressType, ports, endpoints: [] };
        groups.set(key, g);
      }
      const ep = endpointFor(pod, ip, svc.metadata?.name);
      if (publishNotReady) ep.conditions = { ...ep.conditions, ready: true };
      g.endpoints.push(ep);
    }
  }
  const out: DesiredSlice[] = [];
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key)!;
    for (let i = 0; i < g.endpoints.length; i += max) {
      out.push({ addressType: g.addressType, ports: g.ports, endpoints: g.endpoints.slice(i, i + max) });
    }
  }
  // An address type with no endpoints still gets one (empty) slice, as Kubernetes does, so watchers see "zero".
  for (const addressType of addressTypes)
    if (!out.some((s) => s.addressType === addressType)) out.push({ addressType, ports: [], endpoints: [] });
  return out;
}

/** Signature of a slice's content, to match desired slices to existing ones and skip no-op updates. */
export function sliceSignature(s: {
  addressType?: string;
  ports?: V1EndpointPort[] | null;
  endpoints?: V1Endpoint[] | null;
}): string {
  const eps = (s.endpoints ?? []).map((e) => [
    e.addresses,
    e.conditions?.ready === true,
    e.conditions?.serving === true,
    e.conditions?.terminating === true,
    e.nodeName ?? null,
    e.targetRef?.name ?? null,
    e.targetRef?.uid ?? null,
    e.hostname ?? null,
  ]);
  return JSON.stringify([s.addressType, portsKey(s.ports ?? []), eps]);
}

export const portsSignature = (s: { addressType?: string; ports?: V1EndpointPort[] | null }): string =>
  `${s.addressType}|${portsKey(s.ports ?? [])}`;

/** core/v1 Endpoints subsets mirroring the slices (ready → addresses, otherwise notReadyAddresses). */
export function computeSubsets(slices: DesiredSlice[]): V1EndpointSubset[] {
  const byPorts = new Map<string, V1EndpointSubset>();
  for (const s of slices) {
    if (s.endpoints.length === 0) continue;
    const key = portsKey(s.ports);
    let sub = byPorts.get(key);
    if (!sub) {
      sub = {
        addresses: [],
        notReadyAddresses: [],
        ports: s.ports.map((p) => ({ name: p.name, port: p.port!, protocol: p.protocol })),
      };
      byPorts.set(key, sub);
    }
    for (const e of s.endpoints) {
      // Terminating endpoints are not listed in Endpoints (Kubernetes' endpoints controller drops them).
      if (e.conditions?.terminating) continue;
      const addr = {
        ip: e.addresses[0]!,
        ...(e.nodeName ? { nodeName: e.nodeName } : {}),
        targetRef: e.targetRef,
      };
      (e.conditions?.ready ? sub.addresses! : sub.notReadyAddresses!).push(addr);
    }
  }
  return [...byPorts.values()]
    .map((s) => ({
      ...(s.addresses!.length ? { addresses: s.addresses } : {}),
      ...(s.notReadyAddresses!.length ? { notReadyAddresses: s.notReadyAddresses } : {}),
      ports: s.ports,
    }))
    .filter((s) => s.addresses || s.notReadyAddresses);
}
