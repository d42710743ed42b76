/**
 * bench/cluster: on a fresh `skiff up` lab (3 nodes by default), the time from creating a 100-replica
 * Deployment (+ ClusterIP Service) until all its endpoints are ready, and from scaling it to 0 until the
 * endpoints are gone; per-pod p50/p99 (apply → that pod's endpoint ready / scale-down → its endpoint gone,
 * sampled by polling the EndpointSlices every 200 ms), and a per-stage breakdown of where a pod's time goes
 * (scheduler, kubelet, CNI, process start, readiness probe, EndpointSlice). Bounded: each phase gives up after
 * --timeout. Then, with the Deployment back at full size and --services Services (default 10000, selecting no
 * pods) programmed, the RSS of every component, of the pods, and of the lab in all (target: 1.5 GiB).
 *
 *   node dist/bench/cluster.mjs [--replicas 100] [--nodes 3] [--cni bridge|vxlan] [--proxy-mode nftables|userspace] [--timeout 600]
 * Root only; builds its own lab under a temp dir and removes it at the end (also on failure / Ctrl-C).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiClient } from '../src/kubelet/api.js';
import { procChildren, procRssBytes } from '../src/os/proc.js';
import { readLab } from '../src/lab/state.js';
import { labComponents } from '../src/lab/supervisor.js';
import { Progress } from '../src/lab/progress.js';
import { LabBuilder } from '../src/lab/up.js';
import { teardown } from '../src/lab/teardown.js';

interface PodJson {
  metadata: { name: string };
  spec?: { nodeName?: string };
  status?: {
    startTime?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { state?: { running?: unknown } }[];
  };
}

/** The stages of one pod on its way to a ready endpoint, in order, and how each is recognised. */
const STAGES: { name: string; reached: (p: PodJson) => boolean }[] = [
  { name: 'created', reached: () => true },
  { name: 'scheduled', reached: (p) => Boolean(p.spec?.nodeName) },
  { name: 'kubelet', reached: (p) => Boolean(p.status?.startTime) },
  { name: 'network', reached: (p) => Boolean(p.status?.podIP) },
  { name: 'running', reached: (p) => Boolean(p.status?.containerStatuses?.some((c) => c.state?.running)) },
  {
    name: 'ready',
    reached: (p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
  },
];

/**
 * Per-pod timeline, sampled alongside the EndpointSlice polling: the first time each pod was seen at each
 * stage (ms after apply). Stage durations (stage n-1 → n) then say where the time goes: the scheduler
 * (created → scheduled), the kubelet picking the pod up (→ kubelet), CNI ADD (→ network: the pod IP is
 * reported), process start (→ running), the readiness probe (→ ready), the EndpointSlice controller (→ endpoint).
 */
class Timeline {
  readonly seen = new Map<string, Map<string, number>>();

  observe(pods: PodJson[], at: number): void {
    for (const p of pods) {
      let t = this.seen.get(p.metadata.name);
      if (!t) this.seen.set(p.metadata.name, (t = new Map()));
      for (const st of STAGES) if (!t.has(st.name) && st.reached(p)) t.set(st.name, at);
    }
  }

  endpoint(pod: string, at: number): void {
    const t = this.seen.get(pod);
    if (t && !t.has('endpoint')) t.set('endpoint', at);
  }

  /** p50/p99 of each stage's duration and of the time each stage was reached, over pods that reached it. */
  summary(): Record<string, { p50Ms: number; p99Ms: number; reachedP50Ms: number }> {
    const names = [...STAGES.map((s) => s.name), 'endpoint'];
    const out: Record<string, { p50Ms: number; p99Ms: number; reachedP50Ms: number }> = {};
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      const durations: number[] = [];
      const reached: number[] = [];
      for (const t of this.seen.values()) {
        const at = t.get(name);
        if (at === undefined) continue;
        reached.push(at);
        const prev = i === 0 ? 0 : t.get(names[i - 1] as string);
        if (prev !== undefined) durations.push(at - prev);
      }
      out[i === 0 ? 'apply→created' : `${names[i - 1]}→${name}`] = {
        p50Ms: pct(durations, 50),
        p99Ms: pct(durations, 99),
        reachedP50Ms: pct(reached, 50),
      };
    }
    return out;
  }
}

async function listPods(api: ApiClient): Promise<PodJson[]> {
  const r = await api.request<{ items: PodJson[] }>(
    'GET',
    `/api/v1/namespaces/default/pods?labelSelector=${encodeURIComponent('app=bench')}`,
  );
  return r.items;
}

interface Slice {
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean }; targetRef?: { name?: string } }[];
}

function pct(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] as number;
}

async function readyEndpointPods(api: ApiClient, svc: string): Promise<Set<string>> {
  const r = await api.request<{ items: Slice[] }>(
    'GET',
    `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=${encodeURIComponent(`kubernetes.io/service-name=${svc}`)}`,
  );
  const out = new Set<string>();
  for (const s of r.items)
    for (const e of s.endpoints ?? [])
      if (e.conditions?.ready !== false) out.add(e.targetRef?.name ?? e.addresses[0] ?? '');
  return out;
}

const MiB = 1024 * 1024;

/** RSS of a process and all its descendants, bytes. */
function treeRss(pid: number): number {
  let total = procRssBytes(pid) ?? 0;
  for (const c of procChildren(pid)) total += treeRss(c);
  return total;
}

/** Every component's RSS (MiB), the pods' (the kubelets' descendants) and the sum, from the lab's state. */
function labMemory(dir: string): { components: Record<string, number>; podsMiB: number; totalMiB: number } {
  const components: Record<string, number> = {};
  let pods = 0;
  const procs = [
    ...(readLab(dir)?.processes ?? []),
    ...labComponents(dir).flatMap((c) => (c.process ? [{ name: c.name, pid: c.process.pid }] : [])),
  ];
  for (const p of procs) {
    const own = procRssBytes(p.pid) ?? 0;
    const tree = treeRss(p.pid);
    components[p.name] = Math.round(own / MiB);
    // a kubelet's descendants are its pods' processes; the supervisor's are the components (counted
    // apiece); any other component's children are its own
    if (p.name.startsWith('kubelet')) pods += tree - own;
    else if (p.name !== 'supervisor') components[p.name] = Math.round(tree / MiB);
  }
  const componentSum = Object.values(components).reduce((a, b) => a + b, 0);
  return { components, podsMiB: Math.round(pods / MiB), totalMiB: Math.round(componentSum + pods / MiB) };
}

/** Create `n` ClusterIP Services selecting no pods, `concurrency` requests at a time. */
async function createServices(api: ApiClient, n: number, concurrency = 16): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < n) {
      const i = next++;
      await api.request('POST', '/api/v1/namespaces/default/services', {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `scale-${i}` },
        spec: { selector: { app: 'nothing' }, ports: [{ port: 80, targetPort: 8080 }] },
      });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      replicas: { type: 'string', default: '100' },
      nodes: { type: 'string', default: '3' },
      cni: { type: 'string', default: 'bridge' },
      'proxy-mode': { type: 'string', default: 'nftables' },
      timeout: { type: 'string', default: '600' },
      services: { type: 'string', default: '10000' },
    },
  });
  const replicas = Number(values.replicas);
  const timeoutMs = Number(values.timeout) * 1000;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 500) throw new Error('--replicas: 1-500');
  if (process.getuid?.() !== 0) throw new Error('bench/cluster needs root (it builds a namespace lab)');
  // built as dist/bench/cluster.mjs: the CLI the lab starts components with is dist/skiff.mjs
  process.env.SKIFF_JS ??= resolve(dirname(process.argv[1] ?? '.'), '..', 'skiff.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-cluster-'));
  // One teardown, shared: a Ctrl-C while main() is failing must not let main's exit cut the teardown short.
  let stopping: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (stopping ??= teardown(dir)
      .catch(() => undefined)
      .then(() => rmSync(dir, { recursive: true, force: true })));
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const b = new LabBuilder(
      {
        stateDir: dir,
        nodes: Number(values.nodes),
        cni: values.cni as 'bridge' | 'vxlan',
        proxyMode: values['proxy-mode'] as 'nftables' | 'userspace',
        store: 'sqlite',
        readyTimeoutMs: 180_000,
      },
      new Progress(process.stderr),
    );
    await b.up();
    const api = new ApiClient(b.paths.adminKubeconfig);
    await api.request('POST', '/api/v1/namespaces/default/services', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'bench' },
      spec: { selector: { app: 'bench' }, ports: [{ port: 80, targetPort: 9376 }] },
    });
    const t0 = Date.now();
    await api.request('POST', '/apis/apps/v1/namespaces/default/deployments', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'bench' },
      spec: {
        replicas,
        selector: { matchLabels: { app: 'bench' } },
        template: {
          metadata: { labels: { app: 'bench' } },
          spec: {
            terminationGracePeriodSeconds: 5,
            containers: [
              { name: 'h', image: 'skiff/hostname', readinessProbe: { tcpSocket: { port: 9376 }, periodSeconds: 1 } },
            ],
          },
        },
      },
    });
    const readyAt = new Map<string, number>();
    const timeline = new Timeline();
    while (readyAt.size < replicas) {
      if (Date.now() - t0 > timeoutMs)
        throw new Error(`only ${readyAt.size}/${replicas} endpoints ready after ${values.timeout}s`);
      const [pods, eps] = await Promise.all([listPods(api), readyEndpointPods(api, 'bench')]);
      const at = Date.now() - t0;
      timeline.observe(pods, at);
      for (const p of eps) {
        if (!readyAt.has(p)) readyAt.set(p, at);
        timeline.endpoint(p, at);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    const upMs = Date.now() - t0;
    const t1 = Date.now();
    await api.request(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/bench',
      { spec: { replicas: 0 } },
      'application/merge-patch+json',
    );
    const goneAt = new Map<string, number>();
    let remaining = new Set(readyAt.keys());
    while (remaining.size > 0) {
      if (Date.now() - t1 > timeoutMs)
        throw new Error(`${remaining.size} endpoints still present after ${values.timeout}s`);
      const now = await readyEndpointPods(api, 'bench');
      for (const p of remaining) if (!now.has(p)) goneAt.set(p, Date.now() - t1);
      remaining = new Set([...remaining].filter((p) => now.has(p)));
      await new Promise((r) => setTimeout(r, 200));
    }
    const downMs = Date.now() - t1;

    // Memory at scale: the Deployment back at full size, plus the Services, then every process's RSS.
    const services = Number(values.services);
    let memory: ReturnType<typeof labMemory> | undefined;
    if (services > 0) {
      await api.request(
        'PATCH',
        '/apis/apps/v1/namespaces/default/deployments/bench',
        { spec: { replicas } },
        'application/merge-patch+json',
      );
      const t2 = Date.now();
      await createServices(api, services);
      while ((await readyEndpointPods(api, 'bench')).size < replicas) {
        if (Date.now() - t2 > timeoutMs) throw new Error(`the Deployment did not come back in ${values.timeout}s`);
        await new Promise((r) => setTimeout(r, 500));
      }
      // the proxies program the Services within their sync period; give them a few
      await new Promise((r) => setTimeout(r, 10_000));
      memory = labMemory(dir);
    }
    const up = [...readyAt.values()];
    const down = [...goneAt.values()];
    const report = {
      replicas,
      nodes: Number(values.nodes),
      cni: values.cni,
      proxyMode: values['proxy-mode'],
      applyToAllReadyMs: upMs,
      perPodReadyP50Ms: pct(up, 50),
      perPodReadyP99Ms: pct(up, 99),
      scaleDownToGoneMs: downMs,
      perPodGoneP50Ms: pct(down, 50),
      perPodGoneP99Ms: pct(down, 99),
      targets: { applyToAllReadyMs: 10_000, perPodReadyP50Ms: 5_000, scaleDownToGoneMs: 3_000 },
      /** where one pod's time goes, stage by stage (sampled every 200 ms with the endpoint polling) */
      stages: timeline.summary(),
      /** RSS (MiB) with `replicas` pods and `services` Services; target: the whole lab within 1.5 GiB */
      memory: memory && { services, ...memory, targetTotalMiB: 1536 },
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/cluster: ${(err as Error).message}\n`);
  process.exit(1);
});
