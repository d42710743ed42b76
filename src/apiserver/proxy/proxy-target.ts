import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { KUBELET_PORT } from '../../api/well-known.js';
import { ApiError, badRequest } from '../errors.js';

/**
 * Where pods/proxy, services/proxy and nodes/proxy go: the ResourceLocation functions of kube-apiserver's
 * pod, service and node registries (pkg/registry/core/{pod,service,node}), as pure functions of the objects.
 */
export interface ProxyTarget {
  scheme: 'http' | 'https';
  host: string;
  /** absent: the scheme's default port (a pod asked without a port and exposing none) */
  port?: number;
  /** the node's kubelet itself: dial it with the API server's kubelet client certificate */
  kubelet?: boolean;
}

/** utilnet.SplitSchemeNamePort: "name", "name:port" or "scheme:name:port", scheme http, https or empty. */
export function splitSchemeNamePort(
  id: string,
): { scheme: '' | 'http' | 'https'; name: string; port: string } | undefined {
  const parts = id.split(':');
  let scheme = '';
  let name: string;
  let port = '';
  if (parts.length === 1) name = parts[0]!;
  else if (parts.length === 2) [name, port] = parts as [string, string];
  else if (parts.length === 3) [scheme, name, port] = parts as [string, string, string];
  else return undefined;
  if (!name || !['', 'http', 'https'].includes(scheme)) return undefined;
  return { scheme: scheme as '' | 'http' | 'https', name, port };
}

function portNumber(p: string, what: string): number {
  if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 65535) throw badRequest(`invalid port "${p}" for ${what}`);
  return Number(p);
}

/** Only global unicast addresses (pod registry's check): no loopback, link-local or unspecified. */
function globalUnicast(ip: string): boolean {
  if (!isIP(ip)) return false;
  const range = ipaddr.process(ip).range();
  return !['unspecified', 'loopback', 'linkLocal', 'multicast', 'broadcast', 'reserved'].includes(range);
}

export interface PodForProxy {
  spec?: { containers?: { ports?: { containerPort: number }[] }[] };
  status?: { podIP?: string; podIPs?: { ip: string }[] };
}

/** pods/NAME[:PORT]/proxy: the pod IP; without a port, the first container port the pod declares. */
export function podProxyTarget(id: string, pod: PodForProxy): ProxyTarget {
  const s = splitSchemeNamePort(id);
  if (!s) throw badRequest(`invalid pod request "${id}"`);
  let port = s.port;
  if (!port) {
    const declared = (pod.spec?.containers ?? []).find((c) => (c.ports ?? []).length > 0)?.ports?.[0]?.containerPort;
    if (declared) port = String(declared);
  }
  const ip = pod.status?.podIP ?? pod.status?.podIPs?.[0]?.ip ?? '';
  if (!globalUnicast(ip)) throw badRequest('address not allowed');
  return { scheme: s.scheme || 'http', host: ip, ...(port ? { port: portNumber(port, `pod ${s.name}`) } : {}) };
}

export interface ServiceForProxy {
  spec?: { ports?: { name?: string; port: number }[] };
}

export interface SliceForProxy {
  ports?: { name?: string | null; port?: number | null }[] | null;
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean | null } }[] | null;
}

/**
 * services/NAME[:PORT]/proxy: a ready endpoint of the Service port. A port number is first turned into the
 * Service port's name (as the service registry does); the endpoint is then the one whose slice port has that
 * name, picked at random among the ready ones (`pick` is injectable for tests).
 */
export function serviceProxyTarget(
  id: string,
  svc: ServiceForProxy,
  slices: SliceForProxy[],
  pick: (n: number) => number = (n) => Math.floor(Math.random() * n),
): ProxyTarget {
  const s = splitSchemeNamePort(id);
  if (!s) throw badRequest(`invalid service request "${id}"`);
  let portName = s.port;
  if (/^\d+$/.test(portName)) {
    const p = (svc.spec?.ports ?? []).find((x) => x.port === Number(portName));
    if (!p) throw new ApiError(503, 'ServiceUnavailable', `no service port ${portName} found for service "${s.name}"`);
    portName = p.name ?? '';
  }
  const candidates: { ip: string; port: number }[] = [];
  for (const sl of slices) {
    const port = (sl.ports ?? []).find((p) => (p.name ?? '') === portName)?.port;
    if (!port) continue;
    for (const ep of sl.endpoints ?? []) {
      if (ep.conditions?.ready === false) continue;
      const ip = ep.addresses[0];
      if (ip) candidates.push({ ip, port });
    }
  }
  if (candidates.length === 0)
    throw new ApiError(503, 'ServiceUnavailable', `no endpoints available for service "${id}"`);
  const c = candidates[pick(candidates.length)]!;
  return { scheme: s.scheme || 'http', host: c.ip, port: c.port };
}

export interface NodeForProxy {
  status?: {
    addresses?: { type: string; address: string }[];
    daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
  };
}

/**
 * nodes/NAME[:PORT]/proxy: the kubelet (https, its daemonEndpoints port) when no port or the kubelet's is
 * asked; any other port of the node over the requested scheme, like the node registry.
 */
export function nodeProxyTarget(id: string, node: NodeForProxy): ProxyTarget {
  const s = splitSchemeNamePort(id);
  if (!s) throw badRequest(`invalid node request "${id}"`);
  const addrs = node.status?.addresses ?? [];
  const ip = (addrs.find((a) => a.type === 'InternalIP') ?? addrs.find((a) => a.type === 'ExternalIP'))?.address;
  if (!ip) throw new ApiError(503, 'ServiceUnavailable', `node "${s.name}" has no address`);
  const kubeletPort = node.status?.daemonEndpoints?.kubeletEndpoint?.Port || KUBELET_PORT;
  if (!s.port || Number(s.port) === kubeletPort) return { scheme: 'https', host: ip, port: kubeletPort, kubelet: true };
  return { scheme: s.scheme || 'http', host: ip, port: portNumber(s.port, `node ${s.name}`) };
}

/** The object name inside a proxy id ("https:web:443" → "web"). */
export function proxyObjectName(id: string): string {
  const s = splitSchemeNamePort(id);
  if (!s) throw badRequest(`invalid proxy request "${id}"`);
  return s.name;
}
