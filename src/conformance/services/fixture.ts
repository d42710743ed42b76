/**
 * What the services matrix runs against, in namespace skiff-conformance of a running lab: endpoints
 * (skiff/netexec) pinned to nodes, two client pods, and one Service per shape (model.ts), each with a TCP
 * and a UDP port. Created from nothing at the start of a run (a leftover of an interrupted run is removed
 * first) and removed at its end.
 */
import { ApiClient, isStatus } from '../../kubelet/api.js';
import { nodeIP, nodeName, underlayIPv6 } from '../../lab/addressing.js';
import type { LabState } from '../../lab/state.js';
import { ipFamilyOf } from '../../net/ip.js';
import { waitFor } from '../../util/wait.js';
import { type Family, SERVICE_SHAPES, serviceName, type ServiceShape } from './model.js';

const NAMESPACE = 'skiff-conformance';
const TCP_PORT = 80;
const UDP_PORT = 81;
const BACKEND_LABEL = 'skiff-conformance-backend';

export interface Layout {
  endpointNode: string;
  /** a second node with one endpoint (labs of three nodes or more) */
  secondEndpointNode?: string;
  /** a node without endpoints (labs of two nodes or more) */
  otherNode?: string;
  /** pod name → node */
  backends: Map<string, string>;
  /** client pods: on the endpoint node, and on the other node */
  clientOnEndpointNode: string;
  clientOnOtherNode?: string;
}

export function layoutFor(nodes: number): Layout {
  const endpointNode = nodeName(1);
  const secondEndpointNode = nodes >= 3 ? nodeName(2) : undefined;
  const otherNode = nodes >= 2 ? nodeName(nodes) : undefined;
  const backends = new Map<string, string>([
    ['be-a', endpointNode],
    ['be-b', endpointNode],
  ]);
  if (secondEndpointNode) backends.set('be-c', secondEndpointNode);
  return {
    endpointNode,
    secondEndpointNode,
    otherNode,
    backends,
    clientOnEndpointNode: 'cl-e',
    clientOnOtherNode: otherNode ? 'cl-o' : undefined,
  };
}

/** A lab node's InternalIPs by family. */
export function nodeAddress(node: string, family: Family): string {
  const v4 = nodeIP(Number(/^node(\d+)$/.exec(node)?.[1]));
  return family === 4 ? v4 : underlayIPv6(v4);
}

export function labFamilies(lab: LabState): Family[] {
  return { ipv4: [4], ipv6: [6], dual: [4, 6] }[lab.ipFamily ?? 'ipv4'] as Family[];
}

function pod(name: string, node: string, labels: Record<string, string>): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NAMESPACE, labels },
    spec: {
      nodeName: node,
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'netexec',
          image: 'skiff/netexec',
          ports: [
            { containerPort: 8080, protocol: 'TCP' },
            { containerPort: 8081, protocol: 'UDP' },
          ],
          readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 1 },
        },
      ],
    },
  };
}

/**
 * The Service's TCP and UDP ports. The Services with external IPs share those addresses (the nodes' own), so
 * each gets ports of its own: one address and port belongs to one Service, as kube-proxy assumes.
 */
function servicePorts(s: ServiceShape): { tcp: number; udp: number } {
  if (s.type !== 'ExternalIP') return { tcp: TCP_PORT, udp: UDP_PORT };
  const i = SERVICE_SHAPES.filter((x) => x.type === 'ExternalIP').findIndex((x) => serviceName(x) === serviceName(s));
  return { tcp: 10080 + 2 * i, udp: 10081 + 2 * i };
}

function serviceObject(s: ServiceShape, families: readonly Family[], layout: Layout): unknown {
  const type = s.type === 'ExternalIP' ? 'ClusterIP' : s.type;
  const port = servicePorts(s);
  const entryNodes = [layout.endpointNode, ...(layout.otherNode ? [layout.otherNode] : [])];
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: serviceName(s), namespace: NAMESPACE },
    spec: {
      type,
      selector: { app: BACKEND_LABEL },
      ipFamilyPolicy: families.length > 1 ? 'RequireDualStack' : 'SingleStack',
      ipFamilies: families.map((f) => (f === 4 ? 'IPv4' : 'IPv6')),
      ports: [
        { name: 'tcp', port: port.tcp, targetPort: 8080, protocol: 'TCP' },
        { name: 'udp', port: port.udp, targetPort: 8081, protocol: 'UDP' },
      ],
      internalTrafficPolicy: s.itp,
      ...(s.etp ? { externalTrafficPolicy: s.etp } : {}),
      ...(s.affinity === 'ClientIP' ? { sessionAffinity: 'ClientIP' } : {}),
      // the network routes an external IP to a node: here, the nodes' own addresses are the external IPs
      ...(s.type === 'ExternalIP'
        ? { externalIPs: families.flatMap((f) => entryNodes.map((n) => nodeAddress(n, f))) }
        : {}),
    },
  };
}

interface PodJson {
  metadata: { name: string; uid: string };
  spec?: { nodeName?: string };
  status?: {
    phase?: string;
    podIPs?: { ip: string }[];
    conditions?: { type: string; status: string }[];
  };
}

interface SvcJson {
  metadata: { name: string };
  spec: {
    clusterIPs?: string[];
    ports?: { name?: string; port: number; protocol?: string; nodePort?: number }[];
  };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

interface PodFacts {
  name: string;
  uid: string;
  node: string;
  ips: string[];
}

export interface Deployed {
  pods: Map<string, PodFacts>;
  services: Map<string, SvcJson>;
}

/** Remove everything in the namespace and the namespace itself; waits until the pods are gone. */
export async function removeFixture(api: ApiClient): Promise<void> {
  const base = `/api/v1/namespaces/${NAMESPACE}`;
  const ignore404 = async (p: Promise<unknown>): Promise<void> => {
    try {
      await p;
    } catch (e) {
      if (!isStatus(e, 404)) throw e;
    }
  };
  let svcs: { items: { metadata: { name: string } }[] } = { items: [] };
  let pods: { items: { metadata: { name: string } }[] } = { items: [] };
  try {
    svcs = await api.request('GET', `${base}/services`);
    pods = await api.request('GET', `${base}/pods`);
  } catch (e) {
    if (!isStatus(e, 404)) throw e;
  }
  await Promise.all(svcs.items.map((s) => ignore404(api.request('DELETE', `${base}/services/${s.metadata.name}`))));
  await Promise.all(pods.items.map((p) => ignore404(api.request('DELETE', `${base}/pods/${p.metadata.name}`))));
  await waitFor('the conformance pods to be gone', 60_000, async () => {
    try {
      const left = await api.request<{ items: unknown[] }>('GET', `${base}/pods`);
      return left.items.length === 0 ? true : undefined;
    } catch (e) {
      if (isStatus(e, 404)) return true;
      throw e;
    }
  });
  await ignore404(api.request('DELETE', base));
}

/** Create the pods and Services and wait until every Service has its endpoints (and LB addresses). */
export async function deployFixture(api: ApiClient, layout: Layout, families: readonly Family[]): Promise<Deployed> {
  await removeFixture(api);
  await waitFor('the namespace to be created', 60_000, async () => {
    try {
      await api.request('POST', '/api/v1/namespaces', {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: NAMESPACE },
      });
      return true;
    } catch (e) {
      if (isStatus(e, 409)) return undefined; // still terminating
      throw e;
    }
  });
  const base = `/api/v1/namespaces/${NAMESPACE}`;
  const want: [string, string, Record<string, string>][] = [
    ...[...layout.backends].map(([n, node]): [string, string, Record<string, string>] => [
      n,
      node,
      { app: BACKEND_LABEL },
    ]),
    [layout.clientOnEndpointNode, layout.endpointNode, { app: 'skiff-conformance-client' }],
  ];
  if (layout.clientOnOtherNode && layout.otherNode)
    want.push([layout.clientOnOtherNode, layout.otherNode, { app: 'skiff-conformance-client' }]);
  for (const [name, node, labels] of want) await api.request('POST', `${base}/pods`, pod(name, node, labels));
  for (const s of SERVICE_SHAPES) await api.request('POST', `${base}/services`, serviceObject(s, families, layout));

  const pods = await waitFor('the conformance pods to be ready', 120_000, async () => {
    const list = await api.request<{ items: PodJson[] }>('GET', `${base}/pods`);
    const ready = list.items.filter(
      (p) =>
        p.status?.phase === 'Running' &&
        p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') &&
        families.every((f) => p.status?.podIPs?.some((a) => ipFamilyOf(a.ip) === f)),
    );
    if (ready.length < want.length) return undefined;
    return new Map(
      ready.map((p): [string, PodFacts] => [
        p.metadata.name,
        {
          name: p.metadata.name,
          uid: p.metadata.uid,
          node: p.spec?.nodeName ?? '',
          ips: (p.status?.podIPs ?? []).map((a) => a.ip),
        },
      ]),
    );
  });
  const services = await waitFor('every Service to have its endpoints and addresses', 120_000, async () => {
    const list = await api.request<{ items: SvcJson[] }>('GET', `${base}/services`);
    const slices = await api.request<{
      items: {
        metadata: { labels?: Record<string, string> };
        addressType?: string;
        endpoints?: { conditions?: { ready?: boolean } }[] | null;
      }[];
    }>('GET', `/apis/discovery.k8s.io/v1/namespaces/${NAMESPACE}/endpointslices`);
    const readyCount = new Map<string, number>();
    for (const s of slices.items) {
      const key = `${s.metadata.labels?.['kubernetes.io/service-name']}/${s.addressType}`;
      const n = (s.endpoints ?? []).filter((e) => e.conditions?.ready !== false).length;
      readyCount.set(key, (readyCount.get(key) ?? 0) + n);
    }
    const done = list.items.every((svc) => {
      const name = svc.metadata.name;
      const endpointsReady = families.every(
        (f) => readyCount.get(`${name}/${f === 4 ? 'IPv4' : 'IPv6'}`) === layout.backends.size,
      );
      const lbReady = !name.startsWith('lb-') || (svc.status?.loadBalancer?.ingress?.length ?? 0) > 0;
      return endpointsReady && lbReady;
    });
    return done && list.items.length === SERVICE_SHAPES.length
      ? new Map(list.items.map((s): [string, SvcJson] => [s.metadata.name, s]))
      : undefined;
  });
  return { pods, services };
}
