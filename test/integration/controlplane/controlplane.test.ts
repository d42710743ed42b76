/**
 * Control plane end to end against the real API server: controller-manager and scheduler as processes,
 * three API-only Nodes whose "kubelets" are played by the test (FakeKubelets). Covers Deployment →
 * ReplicaSet → Pods across nodes, EndpointSlices/Endpoints, scaling, a maxUnavailable=0 rolling update,
 * `kubectl rollout undo`, LoadBalancer addresses, node IPAM, a node going silent (NotReady, endpoints not
 * ready, pods evicted and recreated elsewhere), an unschedulable pod, and a controller-manager restart.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { V1Deployment, V1EndpointSlice, V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { mergePatch } from '../../../src/client/apis.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { FakeKubelets, startControlPlane, waitFor, type ControlPlane } from './harness.js';

const pexec = promisify(execFile);
const NS = 'default';
const POOL = { first: 200, last: 250 };

let lab: Lab;
let cp: ControlPlane;
let kubelets: FakeKubelets;

const isReady = (p: V1Pod): boolean => !!p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');

async function deploymentPods(app: string): Promise<V1Pod[]> {
  return (await cp.clients.core.listNamespacedPod({ namespace: NS, labelSelector: `app=${app}` })).items;
}
const live = (pods: V1Pod[]): V1Pod[] => pods.filter((p) => !p.metadata?.deletionTimestamp);

async function slices(svc: string): Promise<V1EndpointSlice[]> {
  return (
    await cp.clients.discovery.listNamespacedEndpointSlice({
      namespace: NS,
      labelSelector: `kubernetes.io/service-name=${svc}`,
    })
  ).items;
}
async function readyEndpoints(svc: string): Promise<string[]> {
  return (await slices(svc))
    .flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready).map((e) => e.addresses[0]!))
    .sort();
}

function deployment(name: string, replicas: number): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          containers: [
            {
              name: 'web',
              image: 'skiff/hostname',
              ports: [{ name: 'http', containerPort: 9376 }],
              env: [{ name: 'V', value: '1' }],
            },
          ],
        },
      },
    },
  };
}

async function scale(name: string, replicas: number): Promise<void> {
  await cp.clients.apps.patchNamespacedDeployment({ name, namespace: NS, body: { spec: { replicas } } }, mergePatch);
}

/** Converged: exactly n live pods, all bound and ready, n ready endpoints, deployment status caught up. */
async function converged(name: string, n: number): Promise<boolean> {
  const pods = live(await deploymentPods(name));
  if (pods.length !== n || !pods.every((p) => p.spec?.nodeName && isReady(p))) return false;
  if ((await readyEndpoints(name)).length !== n) return false;
  const d = await cp.clients.apps.readNamespacedDeployment({ name, namespace: NS });
  return (
    d.status?.readyReplicas === n &&
    d.status?.updatedReplicas === n &&
    d.status?.observedGeneration === d.metadata?.generation
  );
}

const CM_FLAGS = [
  '--node-monitor-period',
  '200ms',
  '--node-monitor-grace-period',
  '5s',
  '--pod-eviction-timeout',
  '2s',
  '--gc-period',
  '1s',
];

beforeAll(async () => {
  requireRootAndTools(['kubectl']);
  lab = new Lab('cp');
  const dir = lab.tmpdir();
  lab.onCleanup(async () => {
    kubelets?.stop();
    await cp?.scheduler.stop();
    await cp?.controllerManager.stop();
    await cp?.apiserver.stop();
  });
  cp = await startControlPlane(dir, CM_FLAGS);
  kubelets = new FakeKubelets(cp.clients);
  for (const n of ['node-a', 'node-b', 'node-c']) await kubelets.addNode(n);
  kubelets.start();
  await cp.clients.core.createNamespacedService({
    namespace: NS,
    body: {
      metadata: { name: 'web' },
      spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http' as never }] },
    },
  });
});

afterAll(async () => {
  if (process.env.SKIFF_TEST_SHOW_LOGS && cp) {
    for (const p of [cp.apiserver, cp.controllerManager, cp.scheduler]) console.log(`--- ${p.name}\n${p.tail(60)}`);
  }
  await lab?.cleanup();
});

describe('control plane', () => {
  it('allocates distinct /24 pod CIDRs to the nodes', async () => {
    const cidrs = await waitFor('pod CIDRs on every node', async () => {
      const nodes = (await cp.clients.core.listNode()).items;
      const c = nodes.map((n) => n.spec?.podCIDR).filter(Boolean) as string[];
      return c.length === 3 ? c : undefined;
    });
    expect(new Set(cidrs).size).toBe(3);
    for (const c of cidrs) expect(c).toMatch(/^10\.244\.\d+\.0\/24$/);
  });

  it('runs a Deployment of 3 on 3 nodes with ready endpoints', async () => {
    const applied = Date.now();
    await cp.clients.apps.createNamespacedDeployment({ namespace: NS, body: deployment('web', 3) });
    await waitFor('3 ready pods and endpoints', () => converged('web', 3));
    const pods = live(await deploymentPods('web'));
    expect(new Set(pods.map((p) => p.spec?.nodeName)).size).toBe(3);
    const rss = (await cp.clients.apps.listNamespacedReplicaSet({ namespace: NS })).items;
    expect(rss).toHaveLength(1);
    const rs = rss[0]!;
    const hash = rs.metadata!.labels!['pod-template-hash']!;
    expect(rs.metadata!.name).toBe(`web-${hash}`);
    expect(rs.metadata!.annotations!['deployment.kubernetes.io/revision']).toBe('1');
    for (const p of pods) {
      expect(p.metadata!.name!.startsWith(`web-${hash}-`)).toBe(true);
      expect(p.metadata!.ownerReferences?.[0]).toMatchObject({
        kind: 'ReplicaSet',
        name: rs.metadata!.name,
        controller: true,
      });
    }
    const [slice] = await slices('web');
    expect(slice!.metadata!.labels!['endpointslice.kubernetes.io/managed-by']).toBe('endpointslice-controller.k8s.io');
    expect(slice!.ports).toEqual([expect.objectContaining({ name: 'http', port: 9376, protocol: 'TCP' })]);
    expect(slice!.endpoints!.every((e) => e.nodeName && e.targetRef?.kind === 'Pod')).toBe(true);
    // The controller records when the change it wrote happened (kube-proxy measures programming latency from it).
    const trigger = Date.parse(slice!.metadata!.annotations!['endpoints.kubernetes.io/last-change-trigger-time']!);
    expect(trigger).toBeGreaterThanOrEqual(applied - 1000);
    expect(trigger).toBeLessThanOrEqual(Date.now());
    const ep = await cp.clients.core.readNamespacedEndpoints({ name: 'web', namespace: NS });
    expect(ep.subsets?.[0]?.addresses).toHaveLength(3);
    const d = await cp.clients.apps.readNamespacedDeployment({ name: 'web', namespace: NS });
    expect(d.status?.conditions?.find((c) => c.type === 'Available')?.status).toBe('True');
  });

  it('scales 3 → 5 → 2', async () => {
    await scale('web', 5);
    await waitFor('5 ready endpoints', () => converged('web', 5));
    await scale('web', 2);
    await waitFor('2 ready endpoints', () => converged('web', 2));
    expect((await cp.clients.apps.listNamespacedReplicaSet({ namespace: NS })).items).toHaveLength(1);
  });

  it('rolls out with maxUnavailable 0 without dropping below 2 ready pods', async () => {
    kubelets.readyDelayMs = 700; // new pods take a while to become ready
    const before = new Set(live(await deploymentPods('web')).map((p) => p.metadata!.name));
    await cp.clients.apps.patchNamespacedDeployment(
      {
        name: 'web',
        namespace: NS,
        body: {
          spec: {
            template: {
              spec: {
                containers: [
                  {
                    name: 'web',
                    image: 'skiff/hostname',
                    ports: [{ name: 'http', containerPort: 9376 }],
                    env: [{ name: 'V', value: '2' }],
                  },
                ],
              },
            },
          },
        },
      },
      mergePatch,
    );
    let minReady = Number.POSITIVE_INFINITY;
    await waitFor(
      'the rollout to finish',
      async () => {
        const pods = live(await deploymentPods('web'));
        minReady = Math.min(minReady, pods.filter(isReady).length);
        return pods.every((p) => !before.has(p.metadata!.name)) && (await converged('web', 2));
      },
      60_000,
      50,
    );
    kubelets.readyDelayMs = 0;
    expect(minReady).toBeGreaterThanOrEqual(2);
    const rss = (await cp.clients.apps.listNamespacedReplicaSet({ namespace: NS })).items;
    expect(rss).toHaveLength(2);
    const byRev = Object.fromEntries(
      rss.map((r) => [r.metadata!.annotations!['deployment.kubernetes.io/revision'], r]),
    );
    expect(byRev['2']!.spec!.replicas).toBe(2);
    expect(byRev['1']!.spec!.replicas).toBe(0);
  }, 150_000);

  it('kubectl rollout undo goes back to the old ReplicaSet instead of making a new one', async () => {
    const rss = (await cp.clients.apps.listNamespacedReplicaSet({ namespace: NS })).items;
    const rev1 = rss.find((r) => r.metadata!.annotations!['deployment.kubernetes.io/revision'] === '1')!;
    await pexec('kubectl', [
      '--kubeconfig',
      join(cp.dir, 'admin.kubeconfig'),
      '-n',
      NS,
      'rollout',
      'undo',
      'deployment/web',
    ]);
    await waitFor('the old ReplicaSet to be revision 3 with 2 replicas', async () => {
      const rs = await cp.clients.apps.readNamespacedReplicaSet({ name: rev1.metadata!.name!, namespace: NS });
      return (
        rs.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '3' &&
        rs.spec?.replicas === 2 &&
        (await converged('web', 2))
      );
    });
    expect((await cp.clients.apps.listNamespacedReplicaSet({ namespace: NS })).items).toHaveLength(2);
    for (const p of live(await deploymentPods('web')))
      expect(p.metadata!.labels!['pod-template-hash']).toBe(rev1.metadata!.labels!['pod-template-hash']);
  }, 150_000);

  it('Recreate removes every old pod before starting new ones', async () => {
    const d = deployment('batch', 2);
    d.spec!.strategy = { type: 'Recreate' };
    await cp.clients.apps.createNamespacedDeployment({ namespace: NS, body: d });
    const readyPods = async (): Promise<V1Pod[]> =>
      live(await deploymentPods('batch')).filter((p) => p.spec?.nodeName && isReady(p));
    await waitFor('2 ready batch pods', async () => (await readyPods()).length === 2);
    const oldHash = (await readyPods())[0]!.metadata!.labels!['pod-template-hash'];
    await cp.clients.apps.patchNamespacedDeployment(
      {
        name: 'batch',
        namespace: NS,
        body: { spec: { template: { metadata: { labels: { app: 'batch', v: '2' } } } } },
      },
      mergePatch,
    );
    let overlap = false;
    await waitFor(
      'the new batch pods',
      async () => {
        const all = await deploymentPods('batch'); // terminating ones included
        const hashes = new Set(all.map((p) => p.metadata!.labels!['pod-template-hash']));
        if (hashes.has(oldHash) && hashes.size > 1) overlap = true;
        const ready = await readyPods();
        return (
          ready.length === 2 &&
          ready.every((p) => p.metadata!.labels!['pod-template-hash'] !== oldHash) &&
          all.length === 2
        );
      },
      30_000,
      50,
    );
    expect(overlap).toBe(false);
    await cp.clients.apps.deleteNamespacedDeployment({ name: 'batch', namespace: NS });
  }, 150_000);

  it('gives LoadBalancer Services distinct pool addresses and releases them', async () => {
    const { core } = cp.clients;
    const lb = (name: string, extra: object = {}) =>
      core.createNamespacedService({
        namespace: NS,
        body: {
          metadata: { name },
          spec: { type: 'LoadBalancer', selector: { app: 'web' }, ports: [{ port: 80 }], ...extra },
        },
      });
    await lb('lb-a');
    await lb('lb-b', { loadBalancerIP: '198.18.0.240' });
    const ipOf = async (name: string) =>
      (await core.readNamespacedService({ name, namespace: NS })).status?.loadBalancer?.ingress?.[0]?.ip;
    const a = await waitFor('lb-a address', () => ipOf('lb-a'));
    const b = await waitFor('lb-b address', () => ipOf('lb-b'));
    expect(b).toBe('198.18.0.240');
    expect(a).not.toBe(b);
    const last = Number(a.split('.')[3]);
    expect(a.startsWith('198.18.0.')).toBe(true);
    expect(last >= POOL.first && last <= POOL.last).toBe(true);
    // Type change releases the address.
    // (as with Kubernetes, node ports and externalTrafficPolicy must go with the type)
    await core.patchNamespacedService(
      {
        name: 'lb-a',
        namespace: NS,
        body: {
          spec: {
            type: 'ClusterIP',
            externalTrafficPolicy: null,
            ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }],
          },
        },
      },
      mergePatch,
    );
    await waitFor('lb-a address released', async () => (await ipOf('lb-a')) === undefined);
  });

  it('reports why a pod cannot be scheduled', async () => {
    await cp.clients.core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'picky' },
        spec: { nodeSelector: { disk: 'nvme' }, containers: [{ name: 'c', image: 'skiff/hostname' }] },
      },
    });
    const cond = await waitFor('PodScheduled=False', async () => {
      const p = await cp.clients.core.readNamespacedPod({ name: 'picky', namespace: NS });
      return p.status?.conditions?.find((c) => c.type === 'PodScheduled' && c.status === 'False');
    });
    expect(cond.reason).toBe('Unschedulable');
    // Every filter runs, so the selector reason names all 3 nodes whatever else may be listed.
    expect(cond.message).toMatch(/^0\/3 nodes are available: .*3 node\(s\) didn't match Pod's node affinity\/selector/);
    // A matching node label makes it schedulable (node changes retry pending pods).
    await cp.clients.core.patchNode({ name: 'node-b', body: { metadata: { labels: { disk: 'nvme' } } } }, mergePatch);
    await waitFor(
      'picky bound to node-b',
      async () =>
        (await cp.clients.core.readNamespacedPod({ name: 'picky', namespace: NS })).spec?.nodeName === 'node-b',
    );
    await cp.clients.core.deleteNamespacedPod({ name: 'picky', namespace: NS, gracePeriodSeconds: 0 });
  });

  it('marks a silent node NotReady, drops its endpoints, and recreates its pods elsewhere', async () => {
    await scale('web', 3);
    await waitFor('3 ready', () => converged('web', 3));
    const victim = live(await deploymentPods('web'))[0]!.spec!.nodeName!;
    const victimPods = live(await deploymentPods('web'))
      .filter((p) => p.spec?.nodeName === victim)
      .map((p) => p.metadata!.name);
    kubelets.nodes.get(victim)!.alive = false;
    await waitFor(`${victim} Ready=Unknown with the unreachable taint`, async () => {
      const n = await cp.clients.core.readNode({ name: victim });
      const ready = n.status?.conditions?.find((c) => c.type === 'Ready');
      return (
        ready?.status === 'Unknown' &&
        n.spec?.taints?.some((t) => t.key === 'node.kubernetes.io/unreachable' && t.effect === 'NoExecute')
      );
    });
    // Its endpoints stop being ready (marked not ready, then gone with the eviction).
    await waitFor('no ready endpoint on the silent node', async () =>
      (await slices('web'))
        .flatMap((s) => s.endpoints ?? [])
        .every((e) => e.nodeName !== victim || !e.conditions?.ready),
    );
    await waitFor(
      'its pods gone and replaced on other nodes',
      async () => {
        const pods = live(await deploymentPods('web'));
        return (
          pods.every((p) => !victimPods.includes(p.metadata!.name) && p.spec?.nodeName !== victim) &&
          (await converged('web', 3))
        );
      },
      45_000,
    );
    const eps = (await slices('web')).flatMap((s) => s.endpoints ?? []);
    expect(eps.some((e) => e.nodeName === victim)).toBe(false);
    // Heartbeats resume: Ready again, taints gone.
    kubelets.nodes.get(victim)!.alive = true;
    await waitFor(`${victim} Ready again`, async () => {
      const n = await cp.clients.core.readNode({ name: victim });
      return (
        n.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' &&
        !(n.spec?.taints ?? []).some((t) => t.key === 'node.kubernetes.io/unreachable')
      );
    });
  }, 150_000);

  it('converges after a controller-manager restart without duplicates', async () => {
    const rsBefore = (await cp.clients.apps.listNamespacedReplicaSet({ namespace: NS })).items
      .map((r) => r.metadata!.name)
      .sort();
    const lbB = (await cp.clients.core.readNamespacedService({ name: 'lb-b', namespace: NS })).status?.loadBalancer
      ?.ingress?.[0]?.ip;
    const cidrs = (await cp.clients.core.listNode()).items.map((n) => n.spec?.podCIDR).sort();
    await cp.controllerManager.stop();
    await scale('web', 4); // changed while the controller-manager is down
    await kubelets.addNode('node-d');
    cp.controllerManager.start();
    await waitFor('4 ready pods after the restart', () => converged('web', 4), 45_000);
    // Stable for a moment: no extra pods, ReplicaSets or slices appear.
    await new Promise((r) => setTimeout(r, 1500));
    expect(live(await deploymentPods('web'))).toHaveLength(4);
    expect(
      (await cp.clients.apps.listNamespacedReplicaSet({ namespace: NS })).items.map((r) => r.metadata!.name).sort(),
    ).toEqual(rsBefore);
    expect(await slices('web')).toHaveLength(1);
    expect(
      (await cp.clients.core.readNamespacedService({ name: 'lb-b', namespace: NS })).status?.loadBalancer?.ingress?.[0]
        ?.ip,
    ).toBe(lbB);
    const nodes = await waitFor('node-d pod CIDR', async () => {
      const items = (await cp.clients.core.listNode()).items;
      return items.every((n) => n.spec?.podCIDR) ? items : undefined;
    });
    const all = nodes.map((n) => n.spec!.podCIDR!);
    expect(new Set(all).size).toBe(4);
    for (const c of cidrs) expect(all).toContain(c);
  }, 150_000);

  it('deleting the Deployment removes its ReplicaSets and pods', async () => {
    await cp.clients.apps.deleteNamespacedDeployment({ name: 'web', namespace: NS });
    await waitFor('no ReplicaSets and no pods left', async () => {
      const rs = (await cp.clients.apps.listNamespacedReplicaSet({ namespace: NS })).items;
      return rs.length === 0 && (await deploymentPods('web')).length === 0;
    });
    expect(await readyEndpoints('web')).toEqual([]);
  });
});
