/**
 * bench/cluster: on a fresh `skiff up` lab (3 nodes by default), the time from creating a 100-replica
 * Deployment (+ ClusterIP Service) until all its endpoints are ready, and from scaling it to 0 until the
 * endpoints are gone; per-pod p50/p99 (apply → that pod's endpoint ready / scale-down → its endpoint gone,
 * sampled by polling the EndpointSlices every 200 ms). Bounded: each phase gives up after --timeout.
 *
 *   node dist/bench/cluster.mjs [--replicas 100] [--nodes 3] [--cni bridge|vxlan] [--proxy-mode nftables|userspace] [--timeout 600]
 * Root only; builds its own lab under a temp dir and removes it at the end (also on failure / Ctrl-C).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ApiClient } from '../src/kubelet/api.js';
import { Progress } from '../src/lab/progress.js';
import { LabBuilder } from '../src/lab/up.js';
import { teardown } from '../src/lab/teardown.js';

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

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      replicas: { type: 'string', default: '100' },
      nodes: { type: 'string', default: '3' },
      cni: { type: 'string', default: 'bridge' },
      'proxy-mode': { type: 'string', default: 'nftables' },
      timeout: { type: 'string', default: '600' },
    },
  });
  const replicas = Number(values.replicas);
  const timeoutMs = Number(values.timeout) * 1000;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 500) throw new Error('--replicas: 1-500');
  if (process.getuid?.() !== 0) throw new Error('bench/cluster needs root (it builds a namespace lab)');
  // built as dist/bench/cluster.mjs: the CLI the lab starts components with is dist/skiff.mjs
  process.env.SKIFF_JS ??= resolve(dirname(process.argv[1] ?? '.'), '..', 'skiff.mjs');
  const dir = mkdtempSync(join(tmpdir(), 'skiff-bench-cluster-'));
  let stopping = false;
  const cleanup = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await teardown(dir).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  };
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
    while (readyAt.size < replicas) {
      if (Date.now() - t0 > timeoutMs)
        throw new Error(`only ${readyAt.size}/${replicas} endpoints ready after ${values.timeout}s`);
      for (const p of await readyEndpointPods(api, 'bench')) if (!readyAt.has(p)) readyAt.set(p, Date.now() - t0);
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
