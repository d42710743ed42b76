/**
 * What `skiff trace` probes from and to: the source namespace (a pod, a node, the lab's external client)
 * and the Service destination (its ClusterIP, a node's NodePort, its LoadBalancer IP or an external IP),
 * with the Service's endpoints to name the pod that answers.
 */
import { ApiClient, isStatus } from '../kubelet/api.js';
import { podNetnsName } from '../kubelet/pod.js';
import { CLIENT_IP, nodeIP, nodeName, nsName } from '../lab/addressing.js';
import { labPaths } from '../lab/paths.js';
import type { LabState } from '../lab/state.js';
import { netnsExists } from '../os/netns.js';
import { UserError } from '../util/errors.js';

export type Via = 'clusterip' | 'nodeport' | 'loadbalancer' | 'externalip';

export interface Source {
  label: string;
  netns: string;
  /** the node the source lives on (pods and nodes) */
  node?: string;
  ip?: string;
}

interface EndpointInfo {
  ip: string;
  port: number;
  ready: boolean;
  node?: string;
  pod?: string;
}

export interface Destination {
  service: string;
  portName: string;
  protocol: 'TCP' | 'UDP';
  servicePort: number;
  via: Via;
  host: string;
  port: number;
  /** the node whose NodePort is probed */
  node?: string;
  externalTrafficPolicy: string;
  internalTrafficPolicy: string;
  endpoints: EndpointInfo[];
}

interface PodJson {
  metadata: { name: string; namespace?: string; uid: string };
  spec?: { nodeName?: string };
  status?: { podIP?: string; podIPs?: { ip: string }[] };
}

interface SvcPort {
  name?: string;
  port: number;
  protocol?: string;
  nodePort?: number;
}

interface SvcJson {
  spec: {
    type?: string;
    clusterIP?: string;
    externalIPs?: string[];
    ports?: SvcPort[];
    externalTrafficPolicy?: string;
    internalTrafficPolicy?: string;
  };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

interface SliceJson {
  ports?: { name?: string; port?: number; protocol?: string }[] | null;
  endpoints?:
    | { addresses: string[]; conditions?: { ready?: boolean }; nodeName?: string; targetRef?: { name?: string } }[]
    | null;
}

function splitRef(ref: string): [string, string] {
  const parts = ref.split('/');
  if (parts.length === 1) return ['default', parts[0] as string];
  if (parts.length === 2 && parts[0] && parts[1]) return [parts[0], parts[1]];
  throw new UserError(`skiff trace: expected NAME or NAMESPACE/NAME, got "${ref}"`, 2);
}

export async function resolveSource(api: ApiClient, lab: LabState, from: string): Promise<Source> {
  if (from === 'client') return { label: 'client', netns: nsName(lab.prefix, 'client'), ip: CLIENT_IP };
  const node = /^node(\d+)$/.exec(from);
  if (node) {
    const i = Number(node[1]);
    if (i < 1 || i > lab.nodes) throw new UserError(`skiff trace: no ${from} in this lab (node1..node${lab.nodes})`, 2);
    return { label: from, netns: nsName(lab.prefix, from), node: from, ip: nodeIP(i) };
  }
  const m = /^pods?\/(.+)$/.exec(from);
  if (!m)
    throw new UserError(`skiff trace: --from is pod/NAME, pod/NAMESPACE/NAME, node1..node${lab.nodes} or client`, 2);
  const [namespace, name] = splitRef(m[1] as string);
  let pod: PodJson;
  try {
    pod = await api.request<PodJson>('GET', `/api/v1/namespaces/${namespace}/pods/${name}`);
  } catch (err) {
    if (isStatus(err, 404)) throw new UserError(`skiff trace: pod ${namespace}/${name} not found`, 2);
    throw err;
  }
  const nodeName_ = pod.spec?.nodeName;
  if (!nodeName_) throw new UserError(`skiff trace: pod ${namespace}/${name} is not scheduled yet`, 2);
  const netns = podNetnsName(nsName(lab.prefix, nodeName_), pod.metadata.uid);
  if (!netnsExists(netns)) throw new UserError(`skiff trace: pod ${namespace}/${name} has no sandbox yet`, 2);
  return { label: `pod ${namespace}/${name}`, netns, node: nodeName_, ip: pod.status?.podIP };
}

/** svc/NAME[:PORT], svc/NAMESPACE/NAME[:PORT]; PORT is a port number or name. */
export function parseServiceRef(to: string): { namespace: string; name: string; port?: string } {
  const m = /^(?:svc|service|services)\/([^:]+)(?::([A-Za-z0-9-]+))?$/.exec(to);
  if (!m) throw new UserError(`skiff trace: --to is svc/NAME[:PORT] or svc/NAMESPACE/NAME[:PORT], got "${to}"`, 2);
  const [namespace, name] = splitRef(m[1] as string);
  return { namespace, name, port: m[2] };
}

export function pickPort(
  ports: readonly SvcPort[],
  want: string | undefined,
  proto: 'TCP' | 'UDP' | undefined,
): SvcPort {
  const fits = ports.filter(
    (p) =>
      (!proto || (p.protocol ?? 'TCP') === proto) && (want === undefined || String(p.port) === want || p.name === want),
  );
  const p = fits[0];
  if (!p) {
    const have = ports.map((x) => `${x.name ? `${x.name}=` : ''}${x.port}/${x.protocol ?? 'TCP'}`).join(', ');
    throw new UserError(
      `skiff trace: the Service has no port ${want ?? ''}${proto ? `/${proto}` : ''} (ports: ${have})`,
      2,
    );
  }
  return p;
}

function defaultVia(source: Source, svc: SvcJson): Via {
  if (source.label !== 'client') return 'clusterip';
  if (svc.status?.loadBalancer?.ingress?.[0]?.ip) return 'loadbalancer';
  return 'nodeport';
}

export async function resolveDestination(
  api: ApiClient,
  lab: LabState,
  source: Source,
  o: { to: string; proto?: 'TCP' | 'UDP'; via?: Via; node?: string },
): Promise<Destination> {
  const ref = parseServiceRef(o.to);
  let svc: SvcJson;
  try {
    svc = await api.request<SvcJson>('GET', `/api/v1/namespaces/${ref.namespace}/services/${ref.name}`);
  } catch (err) {
    if (isStatus(err, 404)) throw new UserError(`skiff trace: service ${ref.namespace}/${ref.name} not found`, 2);
    throw err;
  }
  const sp = pickPort(svc.spec.ports ?? [], ref.port, o.proto);
  const protocol = (sp.protocol ?? 'TCP') as 'TCP' | 'UDP';
  if (protocol !== 'TCP' && protocol !== 'UDP')
    throw new UserError(`skiff trace: ${protocol} is not traced (TCP, UDP)`, 2);
  const via = o.via ?? defaultVia(source, svc);
  const service = `${ref.namespace}/${ref.name}`;
  let host: string | undefined;
  let port = sp.port;
  let node: string | undefined;
  if (via === 'clusterip') host = svc.spec.clusterIP && svc.spec.clusterIP !== 'None' ? svc.spec.clusterIP : undefined;
  else if (via === 'loadbalancer') host = svc.status?.loadBalancer?.ingress?.[0]?.ip;
  else if (via === 'externalip') host = svc.spec.externalIPs?.[0];
  else {
    if (!sp.nodePort) throw new UserError(`skiff trace: service ${service} port ${sp.port} has no NodePort`, 2);
    node = o.node ?? (source.node && source.label.startsWith('node') ? source.node : nodeName(1));
    const i = Number(/^node(\d+)$/.exec(node)?.[1] ?? NaN);
    if (!(i >= 1 && i <= lab.nodes)) throw new UserError(`skiff trace: --node ${node}: not a node of this lab`, 2);
    host = nodeIP(i);
    port = sp.nodePort;
  }
  if (!host) throw new UserError(`skiff trace: service ${service} has no ${via} address`, 2);
  return {
    service,
    portName: sp.name ?? '',
    protocol,
    servicePort: sp.port,
    via,
    host,
    port,
    node,
    externalTrafficPolicy: svc.spec.externalTrafficPolicy ?? 'Cluster',
    internalTrafficPolicy: svc.spec.internalTrafficPolicy ?? 'Cluster',
    endpoints: await endpointsOf(api, ref.namespace, ref.name, sp.name ?? '', protocol),
  };
}

async function endpointsOf(
  api: ApiClient,
  namespace: string,
  name: string,
  portName: string,
  protocol: string,
): Promise<EndpointInfo[]> {
  const list = await api.request<{ items: SliceJson[] }>(
    'GET',
    `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices?labelSelector=` +
      encodeURIComponent(`kubernetes.io/service-name=${name}`),
  );
  const out: EndpointInfo[] = [];
  for (const s of list.items) {
    const p = (s.ports ?? []).find((x) => (x.name ?? '') === portName && (x.protocol ?? 'TCP') === protocol);
    if (!p?.port) continue;
    for (const e of s.endpoints ?? [])
      for (const ip of e.addresses)
        out.push({
          ip,
          port: p.port,
          ready: e.conditions?.ready !== false,
          node: e.nodeName,
          pod: e.targetRef?.name ? `${namespace}/${e.targetRef.name}` : undefined,
        });
  }
  return out.sort((a, b) => a.ip.localeCompare(b.ip));
}

/** The pod that owns an address, searched cluster-wide (e.g. a DNAT target outside the endpoint list). */
export async function podByIP(api: ApiClient, ip: string): Promise<string | undefined> {
  const list = await api.request<{ items: PodJson[] }>('GET', '/api/v1/pods');
  const p = list.items.find((x) => x.status?.podIP === ip || x.status?.podIPs?.some((a) => a.ip === ip));
  return p ? `${p.metadata.namespace ?? 'default'}/${p.metadata.name} on ${p.spec?.nodeName ?? '?'}` : undefined;
}

export function labApi(lab: LabState): ApiClient {
  return new ApiClient(labPaths(lab.stateDir).adminKubeconfig);
}
