import { createIfAbsent, type AddonObject } from './apply.js';
import { ApiClient } from '../kubelet/api.js';
import { CLIENT_IP, nodeIP, nsName } from './addressing.js';
import { httpGetIn, servedHostname } from './http.js';
import type { LabState } from './state.js';

/**
 * The demo app: a `skiff/hostname` Deployment (3 replicas) behind a ClusterIP, a NodePort and a
 * LoadBalancer Service. `showDemo` asks each of them several times and reports which pods answered.
 */
const DEMO_NS = 'default';
const labels = { app: 'hostname-demo' };
const DEMO_REPLICAS = 3;

function demoObjects(): AddonObject[] {
  const svc = (name: string, type: string): AddonObject => ({
    path: `/api/v1/namespaces/${DEMO_NS}/services`,
    body: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, labels },
      spec: { type, selector: labels, ports: [{ name: 'http', port: 80, targetPort: 9376, protocol: 'TCP' }] },
    },
  });
  return [
    {
      path: `/apis/apps/v1/namespaces/${DEMO_NS}/deployments`,
      body: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'hostname-demo', labels },
        spec: {
          replicas: DEMO_REPLICAS,
          selector: { matchLabels: labels },
          template: {
            metadata: { labels },
            spec: {
              containers: [
                {
                  name: 'hostname',
                  image: 'skiff/hostname',
                  ports: [{ containerPort: 9376 }],
                  readinessProbe: { httpGet: { path: '/', port: 9376 }, periodSeconds: 2 },
                },
              ],
            },
          },
        },
      },
    },
    svc('hostname-demo', 'ClusterIP'),
    svc('hostname-demo-nodeport', 'NodePort'),
    svc('hostname-demo-lb', 'LoadBalancer'),
  ];
}

export async function applyDemo(api: ApiClient): Promise<void> {
  await createIfAbsent(api, demoObjects());
}

interface Svc {
  spec: { clusterIP?: string; ports: { port: number; nodePort?: number }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

export interface DemoTarget {
  label: string;
  netns: string;
  host: string;
  port: number;
}

interface SliceList {
  items: { endpoints?: { conditions?: { ready?: boolean } }[] | null }[];
}

async function readyEndpoints(api: ApiClient, service: string): Promise<number> {
  const sel = encodeURIComponent(`kubernetes.io/service-name=${service}`);
  const list = await api.request<SliceList>(
    'GET',
    `/apis/discovery.k8s.io/v1/namespaces/${DEMO_NS}/endpointslices?labelSelector=${sel}`,
  );
  return list.items.reduce((n, s) => n + (s.endpoints ?? []).filter((e) => e.conditions?.ready).length, 0);
}

/** Where to ask once the services exist (waits for the LB address, bounded). */
export async function demoTargets(api: ApiClient, lab: LabState, timeoutMs = 60_000): Promise<DemoTarget[]> {
  const deadline = Date.now() + timeoutMs;
  const get = (n: string): Promise<Svc> => api.request<Svc>('GET', `/api/v1/namespaces/${DEMO_NS}/services/${n}`);
  // Ask only once every replica is a ready endpoint of each Service: otherwise the first answers all come
  // from whichever pod was ready first and the demo looks like no load balancing at all.
  for (const svcName of ['hostname-demo', 'hostname-demo-nodeport', 'hostname-demo-lb']) {
    while (Date.now() < deadline && (await readyEndpoints(api, svcName)) < DEMO_REPLICAS) {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  // The proxies program a change at most once per min-sync-period (1 s): give them that long to catch up.
  await new Promise((r) => setTimeout(r, 2_000));
  const cip = await get('hostname-demo');
  const np = await get('hostname-demo-nodeport');
  let lb = await get('hostname-demo-lb');
  while (!lb.status?.loadBalancer?.ingress?.[0]?.ip && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    lb = await get('hostname-demo-lb');
  }
  const targets: DemoTarget[] = [];
  if (cip.spec.clusterIP)
    targets.push({
      label: `ClusterIP ${cip.spec.clusterIP}:80 (from node1)`,
      netns: nsName(lab.prefix, 'node1'),
      host: cip.spec.clusterIP,
      port: 80,
    });
  const nodePort = np.spec.ports[0]?.nodePort;
  if (nodePort)
    targets.push({
      label: `NodePort ${nodeIP(1)}:${nodePort} (from client ${CLIENT_IP})`,
      netns: nsName(lab.prefix, 'client'),
      host: nodeIP(1),
      port: nodePort,
    });
  const lbIP = lb.status?.loadBalancer?.ingress?.[0]?.ip;
  if (lbIP)
    targets.push({
      label: `LoadBalancer ${lbIP}:80 (from client ${CLIENT_IP})`,
      netns: nsName(lab.prefix, 'client'),
      host: lbIP,
      port: 80,
    });
  return targets;
}

/** Waits (bounded) for the first answer — the proxies converge a moment after the endpoints — then asks n times. */
export async function askMany(
  t: DemoTarget,
  n: number,
  warmupMs = 30_000,
): Promise<{ answers: Map<string, number>; failures: number }> {
  const answers = new Map<string, number>();
  let failures = 0;
  const deadline = Date.now() + warmupMs;
  while (Date.now() < deadline && !(await httpGetIn(t.netns, t.host, t.port, '/', 1)))
    await new Promise((r) => setTimeout(r, 300));
  for (let i = 0; i < n; i++) {
    const h = servedHostname(await httpGetIn(t.netns, t.host, t.port));
    if (h) answers.set(h, (answers.get(h) ?? 0) + 1);
    else failures++;
  }
  return { answers, failures };
}
