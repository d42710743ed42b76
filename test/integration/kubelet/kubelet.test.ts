import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRaw } from '../../../src/os/exec.js';
import { listNetns } from '../../../src/os/netns.js';
import { podNetnsName } from '../../../src/kubelet/pod.js';
import { httpGetIn } from '../../../src/lab/http.js';
import { stopProcess } from '../../../src/lab/supervisor.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { Harness, waitUntil } from './harness.js';

interface PodJson {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  status?: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      name: string;
      ready: boolean;
      restartCount: number;
      state: Record<string, { reason?: string }>;
      lastState: Record<string, unknown>;
    }[];
  };
}

const lab = new Lab('kl');
let h: Harness;
let node: Awaited<ReturnType<Harness['startNode']>>;

const podPath = (name: string): string => `/api/v1/namespaces/default/pods/${name}`;
const getPod = (name: string): Promise<PodJson> => h.api.request<PodJson>('GET', podPath(name));
const cond = (p: PodJson, t: string): string | undefined => p.status?.conditions?.find((c) => c.type === t)?.status;

function netexecPod(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: name } },
    spec: {
      nodeName: 'node1',
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: 'web',
          image: 'skiff/netexec',
          args: ['--http-port=8080'],
          ports: [{ containerPort: 8080, name: 'http' }],
          ...extra,
        },
      ],
    },
  };
}

async function runningPod(name: string): Promise<PodJson> {
  return waitUntil(
    `pod ${name} Running with an IP`,
    60_000,
    async () => {
      const p = await getPod(name);
      return p.status?.phase === 'Running' && p.status.podIP ? p : undefined;
    },
    [node.proc],
  );
}

describe('kubelet against a real API server', () => {
  beforeAll(async () => {
    requireRootAndTools(['ip', 'nsenter', 'unshare', 'socat']);
    if (!existsSync('/usr/lib/cni/bridge'))
      throw new Error('the reference CNI plugins are missing: run scripts/setup.sh (containernetworking-plugins)');
    h = new Harness(lab);
    await h.startControlPlane();
    node = await h.startNode('node1');
  });

  afterAll(async () => {
    await lab.cleanup();
  });

  it('registers the Node NotReady, heartbeats its Lease, and turns Ready once it has a podCIDR', async () => {
    const n = await waitUntil(
      'Node node1',
      30_000,
      () =>
        h.api
          .request<{
            status?: {
              conditions?: { type: string; status: string }[];
              addresses?: { type: string; address: string }[];
              capacity?: Record<string, string>;
              nodeInfo?: { kubeletVersion?: string };
            };
          }>('GET', '/api/v1/nodes/node1')
          .then((x) => (x.status?.conditions ? x : undefined)),
      [node.proc],
    );
    expect(n.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect(n.status?.addresses).toContainEqual({ type: 'InternalIP', address: node.ip });
    expect(Number(n.status?.capacity?.pods)).toBeGreaterThan(0);
    expect(n.status?.nodeInfo?.kubeletVersion).toMatch(/^v1\./);
    const lease = await waitUntil('Lease', 30_000, () =>
      h.api
        .request<{ spec?: { holderIdentity?: string; renewTime?: string } }>(
          'GET',
          '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node1',
        )
        .catch(() => undefined),
    );
    expect(lease.spec?.holderIdentity).toBe('node1');
    const first = lease.spec?.renewTime;
    await waitUntil('Lease renewal', 30_000, async () => {
      const l = await h.api.request<{ spec?: { renewTime?: string } }>(
        'GET',
        '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/node1',
      );
      return l.spec?.renewTime !== first;
    });
    await h.makeReady('node1', '10.244.1.0/24', node.proc);
  });

  it('runs pods with IPs from the bridge CNI that reach each other; probes drive readiness', async () => {
    await h.api.request(
      'POST',
      '/api/v1/namespaces/default/pods',
      netexecPod('server', {
        readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1, failureThreshold: 1 },
      }),
    );
    await h.api.request('POST', '/api/v1/namespaces/default/pods', netexecPod('client'));
    const server = await runningPod('server');
    const client = await runningPod('client');
    expect(server.status?.podIP).toMatch(/^10\.244\.1\.\d+$/);
    expect(client.status?.podIP).not.toBe(server.status?.podIP);
    const clientNs = podNetnsName(node.ns, client.metadata.uid);
    expect(listNetns()).toContain(clientNs);
    // pod → pod over the node bridge; the server's hostname is its pod name (own UTS namespace)
    // Running means started, not yet listening: poll (bounded) for the first answer
    expect(
      await waitUntil('server answers', 20_000, () =>
        httpGetIn(clientNs, server.status?.podIP as string, 8080, '/hostname'),
      ),
    ).toBe('server');
    expect(await httpGetIn(clientNs, server.status?.podIP as string, 8080, '/clientip')).toMatch(
      new RegExp(`^${client.status?.podIP?.replace(/\./g, '\\.')}:`),
    );
    await waitUntil('server Ready', 30_000, async () => cond(await getPod('server'), 'Ready') === 'True');
    // readiness flips when the endpoint starts failing
    expect(await httpGetIn(clientNs, server.status?.podIP as string, 8080, '/fail-readiness')).toBe(
      'readiness failing',
    );
    await waitUntil('server NotReady', 30_000, async () => cond(await getPod('server'), 'Ready') === 'False');
    const s = await getPod('server');
    expect(s.status?.containerStatuses?.[0]?.ready).toBe(false);
    expect(s.status?.phase).toBe('Running');
  });

  it('restarts a container whose liveness probe fails, and backs off a crashing one', async () => {
    await h.api.request(
      'POST',
      '/api/v1/namespaces/default/pods',
      netexecPod('live', {
        livenessProbe: {
          httpGet: { path: '/healthz', port: 8080 },
          initialDelaySeconds: 2,
          periodSeconds: 1,
          failureThreshold: 2,
        },
      }),
    );
    await h.api.request('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'crash' },
      spec: { nodeName: 'node1', containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', 'exit 3'] }] },
    });
    const live = await runningPod('live');
    const liveNs = podNetnsName(node.ns, live.metadata.uid);
    await waitUntil('live serving', 30_000, () => httpGetIn(liveNs, live.status?.podIP as string, 8080, '/healthz'));
    expect(await httpGetIn(liveNs, live.status?.podIP as string, 8080, '/fail-liveness')).toBe('liveness failing');
    const restarted = await waitUntil('liveness restart', 30_000, async () => {
      const p = await getPod('live');
      const c = p.status?.containerStatuses?.[0];
      return c && c.restartCount >= 1 && c.state.running ? c : undefined;
    });
    expect(restarted.lastState.terminated).toBeDefined();
    const crash = await waitUntil('CrashLoopBackOff', 30_000, async () => {
      const c = (await getPod('crash')).status?.containerStatuses?.[0];
      return c && c.restartCount >= 1 && c.state.waiting?.reason === 'CrashLoopBackOff' ? c : undefined;
    });
    expect((crash.lastState.terminated as { exitCode: number }).exitCode).toBe(3);
  });

  it('reports a clear waiting reason for an image it cannot run', async () => {
    await h.api.request('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'nginx' },
      spec: { nodeName: 'node1', containers: [{ name: 'nginx', image: 'nginx:1.25' }] },
    });
    const c = await waitUntil('ImageNotSupported', 30_000, async () => {
      const s = (await getPod('nginx')).status?.containerStatuses?.[0];
      return s?.state.waiting?.reason === 'ImageNotSupported' ? s : undefined;
    });
    expect(c.ready).toBe(false);
    expect((await getPod('nginx')).status?.phase).toBe('Pending');
  });

  it('adopts running pods after a restart; confirms deletions and CNI-GCs sandboxes whose state was lost', async () => {
    const before = await getPod('client');
    const ns = podNetnsName(node.ns, before.metadata.uid);
    const pidsBefore = (await runRaw(['ip', 'netns', 'pids', ns])).stdout.trim();
    const live = await getPod('live');
    const liveNs = podNetnsName(node.ns, live.metadata.uid);
    const ipamDir = join(node.root, 'ipam', 'skiff');
    expect(readdirSync(ipamDir)).toContain(live.status?.podIP);
    await stopProcess(node.proc, 5000);
    // deleted while the kubelet is down: the API keeps it (bound, graceful) until a kubelet confirms
    await h.api.request('DELETE', podPath('nginx'));
    // 'live' vanishes from the API and the kubelet loses its record of it (as after a crash mid-way):
    // only the CNI result cache and the namespace are left for GC to find
    await h.api.request('DELETE', `${podPath('live')}?gracePeriodSeconds=0`, {
      apiVersion: 'v1',
      kind: 'DeleteOptions',
      gracePeriodSeconds: 0,
    });
    for (const pid of (await runRaw(['ip', 'netns', 'pids', liveNs])).stdout.split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    rmSync(join(node.root, 'pods', live.metadata.uid), { recursive: true, force: true });
    node.proc = h.start('kubelet-node1-b', node.argv, node.ns);
    await waitUntil(
      'nginx pod confirmed deleted',
      30_000,
      async () =>
        getPod('nginx').then(
          () => false,
          () => true,
        ),
      [node.proc],
    );
    await waitUntil('stale sandbox garbage-collected', 30_000, () => !listNetns().includes(liveNs), [node.proc]);
    expect(readdirSync(ipamDir)).not.toContain(live.status?.podIP);
    const after = await runningPod('client');
    expect(after.status?.containerStatuses?.[0]?.restartCount).toBe(0);
    expect((await runRaw(['ip', 'netns', 'pids', ns])).stdout.trim()).toBe(pidsBefore);
  });

  it('deletes gracefully: SIGTERM, then CNI DEL, netns and IPAM removal, then the API object', async () => {
    const server = await getPod('server');
    const ip = server.status?.podIP as string;
    const ns = podNetnsName(node.ns, server.metadata.uid);
    const ipamDir = join(node.root, 'ipam', 'skiff');
    expect(readdirSync(ipamDir)).toContain(ip);
    const vethsBefore = (await runRaw(['ip', '-n', node.ns, '-o', 'link', 'show', 'type', 'veth'])).stdout
      .trim()
      .split('\n').length;
    await h.api.request('DELETE', podPath('server'));
    await waitUntil(
      'server removed from the API',
      30_000,
      async () =>
        getPod('server').then(
          () => false,
          () => true,
        ),
      [node.proc],
    );
    expect(listNetns()).not.toContain(ns);
    expect(readdirSync(ipamDir)).not.toContain(ip);
    const vethsAfter = (await runRaw(['ip', '-n', node.ns, '-o', 'link', 'show', 'type', 'veth'])).stdout
      .trim()
      .split('\n')
      .filter(Boolean).length;
    expect(vethsAfter).toBe(vethsBefore - 1);
    // the container got SIGTERM and exited by itself (netexec exits 0), within the grace period
    expect(h.log('kubelet-node1-b')).toMatch(/"pod":"default\/server".*"pod removed"|pod removed/);
  });
});
