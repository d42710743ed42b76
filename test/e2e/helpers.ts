/**
 * e2e helpers: a whole `skiff up` lab (LabBuilder, the code behind the command) with the test run's
 * namespace prefix, torn down with `skiff down`'s code in afterAll; requests are made from inside lab
 * namespaces only (socat), never from the root namespace.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import type { MatrixReport } from '../../src/conformance/services/run.js';
import { ApiClient } from '../../src/kubelet/api.js';
import { runRaw } from '../../src/os/exec.js';
import { nsName } from '../../src/lab/addressing.js';
import { httpGetIn, servedHostname } from '../../src/lab/http.js';
import { Progress } from '../../src/lab/progress.js';
import { LabBuilder, type UpOptions } from '../../src/lab/up.js';
import { teardown } from '../../src/lab/teardown.js';
import type { LabState } from '../../src/lab/state.js';
import { type Lab } from '../helpers/lab.js';

export interface Cluster {
  lab: LabState;
  api: ApiClient;
  stateDir: string;
  ns(role: string): string;
  progressLog: string[];
}

const ROOT = resolve(import.meta.dirname, '../..');

export async function upCluster(
  testLab: Lab,
  o: Pick<UpOptions, 'cni' | 'proxyMode'> & Partial<UpOptions>,
): Promise<Cluster> {
  process.env.SKIFF_JS = join(ROOT, 'dist', 'skiff.mjs');
  if (!existsSync(process.env.SKIFF_JS)) throw new Error('dist/skiff.mjs missing: run node scripts/build.mjs');
  const stateDir = testLab.tmpdir();
  testLab.onCleanup(async () => {
    await teardown(stateDir);
  });
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  const b = new LabBuilder(
    {
      stateDir,
      nodes: 3,
      store: 'sqlite',
      readyTimeoutMs: 120_000,
      backoffBaseMs: 1000,
      leaseSeconds: 2,
      nodeGraceMs: 10_000,
      evictionMs: 5_000,
      prefix: testLab.prefix,
      ...o,
    },
    new Progress(sink),
  );
  try {
    const lab = await b.up();
    return {
      lab,
      api: new ApiClient(b.paths.adminKubeconfig),
      stateDir,
      ns: (r) => nsName(lab.prefix, r),
      progressLog: lines,
    };
  } catch (err) {
    throw new Error(`skiff up failed: ${(err as Error).message}\n${lines.join('')}`, { cause: err });
  }
}

export async function until<T>(what: string, timeoutMs: number, fn: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export interface PodJson {
  metadata: { name: string; uid: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status?: {
    phase?: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    conditions?: { type: string; status: string }[];
  };
}

export async function listPods(api: ApiClient, selector: string): Promise<PodJson[]> {
  const r = await api.request<{ items: PodJson[] }>(
    'GET',
    `/api/v1/namespaces/default/pods?labelSelector=${encodeURIComponent(selector)}`,
  );
  return r.items;
}

export const isReady = (p: PodJson): boolean =>
  !p.metadata.deletionTimestamp &&
  p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

export async function readyEndpoints(api: ApiClient, service: string): Promise<string[]> {
  const r = await api.request<{ items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[] }>(
    'GET',
    `/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=` +
      encodeURIComponent(`kubernetes.io/service-name=${service}`),
  );
  return r.items
    .flatMap((s) => s.endpoints ?? [])
    .filter((e) => e.conditions?.ready !== false)
    .flatMap((e) => e.addresses)
    .sort();
}

export function deployment(
  name: string,
  replicas: number,
  extra: { args?: string[]; env?: { name: string; value: string }[] } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          terminationGracePeriodSeconds: 10,
          containers: [
            {
              name: 'web',
              image: 'skiff/netexec',
              args: extra.args ?? ['--http-port=8080'],
              env: extra.env ?? [],
              ports: [{ containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      },
    },
  };
}

export function service(
  name: string,
  type: 'ClusterIP' | 'NodePort' | 'LoadBalancer',
  selector: Record<string, string>,
  targetPort = 8080,
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name },
    spec: { type, selector, ports: [{ name: 'http', port: 80, targetPort, protocol: 'TCP' }] },
  };
}

export interface SvcJson {
  spec: { clusterIP?: string; ports: { port: number; nodePort?: number }[] };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

/** Ask `n` times; the distinct answering hostnames and the failure count. */
export async function spread(
  netns: string,
  host: string,
  port: number,
  n: number,
  path = '/hostname',
): Promise<{ hosts: Set<string>; failures: number }> {
  const hosts = new Set<string>();
  let failures = 0;
  for (let i = 0; i < n; i++) {
    const h = servedHostname(await httpGetIn(netns, host, port, path));
    if (h) hosts.add(h);
    else failures++;
  }
  return { hosts, failures };
}

/**
 * `skiff conformance services -o json` against the lab, as a user runs it; the report, its exit code, and
 * one line per cell that did not pass (so a failing test names the cells).
 */
export async function runServicesConformance(
  c: Cluster,
): Promise<{ report: MatrixReport; code: number; failures: string[] }> {
  const r = await runRaw(
    [
      process.execPath,
      process.env.SKIFF_JS as string,
      'conformance',
      'services',
      '--state-dir',
      c.stateDir,
      '-o',
      'json',
    ],
    { timeoutMs: 240_000 },
  );
  if (!r.stdout.trim()) throw new Error(`skiff conformance services: exit ${r.code}: ${r.stderr}`);
  const report = JSON.parse(r.stdout) as MatrixReport;
  const failures = report.results
    .filter((x) => !x.verdict.pass)
    .map((x) => `${x.name}: ${x.verdict.observed} (${x.verdict.detail})`);
  return { report, code: r.code, failures };
}
