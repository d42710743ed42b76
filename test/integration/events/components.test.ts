/**
 * Events recorded where Kubernetes records them, read back with the real kubectl: the scheduler (Scheduled,
 * FailedScheduling), the kubelet (Pulled, Created, Started, Unhealthy, Killing, FailedCreatePodSandBox with
 * the CNI plugin's own error, on a node given a broken conflist), the deployment and replicaset controllers
 * (ScalingReplicaSet, SuccessfulCreate), with repeats deduplicated into one event whose count grows.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { Harness, waitUntil } from '../kubelet/harness.js';

const SKIFF = join(resolve(import.meta.dirname, '../../..'), 'dist', 'skiff.mjs');
const lab = new Lab('ev');
let h: Harness;

function kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    const child = execFile(
      '/usr/bin/kubectl',
      ['--kubeconfig', join(h.dir, 'admin-local.kubeconfig'), '--cache-dir', join(h.dir, 'kcache'), ...args],
      { timeout: 30_000 },
      (err, stdout, stderr) =>
        res({ code: err ? Number((err as { code?: number }).code ?? 1) || 1 : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}
const ok = async (args: string[], input?: string) => {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
};
/** The Events section of `kubectl describe`, once it matches every pattern. */
const describeUntil = (what: string, patterns: RegExp[]) =>
  waitUntil(`describe ${what} to show ${patterns.join(', ')}`, 60_000, async () => {
    const out = await ok(['describe', ...what.split(' ')]);
    const events = out.slice(out.indexOf('\nEvents:'));
    return patterns.every((p) => p.test(events)) ? events : undefined;
  });

interface EventJson {
  reason: string;
  message: string;
  count?: number;
  source?: { component?: string; host?: string };
  involvedObject: { kind: string; name: string; fieldPath?: string };
}
const eventsOf = async (selector: string): Promise<EventJson[]> =>
  (JSON.parse(await ok(['get', 'events', '-A', '--field-selector', selector, '-o', 'json'])) as { items: EventJson[] })
    .items;

beforeAll(async () => {
  requireRootAndTools(['ip', 'nsenter', 'unshare', 'socat', 'kubectl']);
  h = new Harness(lab);
  await h.startControlPlane();
  const cp = join(h.dir, 'cp');
  h.start(
    'scheduler',
    [process.execPath, SKIFF, 'scheduler', '--kubeconfig', join(cp, 'scheduler.kubeconfig')],
    h.cpNs,
  );
  h.start(
    'kcm-workloads',
    [
      process.execPath,
      SKIFF,
      'controller-manager',
      '--kubeconfig',
      join(cp, 'controller-manager.kubeconfig'),
      '--controllers',
      'deployment,replicaset',
    ],
    h.cpNs,
  );
  const n1 = await h.startNode('node1');
  await h.makeReady('node1', '10.244.1.0/24', n1.proc);
  // node2 runs pods through a conflist whose IPAM section the reference host-local plugin refuses.
  const netd = join(h.dir, 'node2', 'net.d');
  mkdirSync(netd, { recursive: true });
  writeFileSync(
    join(netd, '10-broken.conflist'),
    JSON.stringify({
      cniVersion: '1.0.0',
      name: 'broken',
      plugins: [{ type: 'bridge', bridge: 'cni0', ipam: { type: 'host-local', ranges: [[{ subnet: 'not-a-cidr' }]] } }],
    }),
  );
  const n2 = await h.startNode('node2', ['--cni-conf-mode', 'none']);
  await h.makeReady('node2', '10.244.2.0/24', n2.proc);
  await ok(['taint', 'node', 'node2', 'broken=cni:NoSchedule']);
}, 180_000);

afterAll(async () => {
  await lab.cleanup();
});

describe('events recorded by the components', () => {
  it('scheduler and kubelet: Scheduled, Pulled, Created, Started, then Unhealthy counted up', async () => {
    await ok(
      ['apply', '-f', '-'],
      `apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: web
    image: skiff/netexec
    args: ["--http-port=8080"]
    readinessProbe: {httpGet: {path: /no-such-page, port: 8080}, periodSeconds: 1}
`,
    );
    await describeUntil('pod web', [
      /Normal\s+Scheduled\s+\S+\s+default-scheduler\s+Successfully assigned default\/web to node1/,
      /Normal\s+Pulled\s+\S+\s+kubelet\s+Container image "skiff\/netexec" already present on machine/,
      /Normal\s+Created\s+\S+\s+kubelet\s+Created container: web/,
      /Normal\s+Started\s+\S+\s+kubelet\s+Started container web/,
      /Warning\s+Unhealthy\s+\S+ \(x\d+ over \S+\)\s+kubelet\s+Readiness probe failed: HTTP probe failed with statuscode: 404/,
    ]);
    // (the first probes may have found no listener yet: a different message, a different event)
    const unhealthy = (await eventsOf('involvedObject.name=web,reason=Unhealthy')).find((e) =>
      e.message.endsWith('statuscode: 404'),
    );
    expect(unhealthy).toMatchObject({
      source: { component: 'kubelet', host: 'node1' },
      involvedObject: { kind: 'Pod', name: 'web', fieldPath: 'spec.containers{web}' },
    });
    expect(unhealthy!.count).toBeGreaterThan(1);
    await ok(['delete', 'pod', 'web', '--wait=false']);
    const killing = await waitUntil(
      'Killing',
      30_000,
      async () => (await eventsOf('involvedObject.name=web,reason=Killing'))[0],
    );
    expect(killing.message).toBe('Stopping container web');
  });

  it('scheduler: FailedScheduling with the reason, on the pod, in describe', async () => {
    await ok(
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: Pod\nmetadata: {name: nowhere}\nspec:\n  nodeSelector: {disk: ssd}\n' +
        '  containers: [{name: c, image: skiff/netexec}]\n',
    );
    const events = await describeUntil('pod nowhere', [
      /Warning\s+FailedScheduling\s+\S+.*default-scheduler\s+0\/2 nodes are available/,
    ]);
    expect(events).toContain("node(s) didn't match Pod's node affinity/selector");
  });

  it('kubelet: FailedCreatePodSandBox carries the CNI plugin error, retried and counted', async () => {
    await ok(
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: Pod\nmetadata: {name: nonet}\nspec:\n  nodeName: node2\n' +
        '  tolerations: [{key: broken, operator: Exists}]\n  containers: [{name: c, image: skiff/netexec}]\n',
    );
    await describeUntil('pod nonet', [
      /Warning\s+FailedCreatePodSandBox\s+\S+ \(x\d+ over \S+\)\s+kubelet\s+Failed to create pod sandbox: /,
    ]);
    const all = await eventsOf('involvedObject.name=nonet,reason=FailedCreatePodSandBox');
    const e = all.find((x) => (x.count ?? 0) > 1);
    expect(e?.message, JSON.stringify(all)).toMatch(/not-a-cidr/);
  });

  it('controllers: ScalingReplicaSet on the Deployment, SuccessfulCreate on its ReplicaSet', async () => {
    await ok(['create', 'deployment', 'hello', '--image=skiff/hostname', '--replicas=2']);
    await describeUntil('deployment hello', [
      /Normal\s+ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled up replica set hello-[a-z0-9]+ from 0 to 2/,
    ]);
    const rs = (await ok(['get', 'rs', '-l', 'app=hello', '-o', 'jsonpath={.items[0].metadata.name}'])).trim();
    await describeUntil(`rs ${rs}`, [/Normal\s+SuccessfulCreate\s+\S+\s+replicaset-controller\s+Created pod: hello-/]);
    await ok(['scale', 'deployment', 'hello', '--replicas=1']);
    await describeUntil('deployment hello', [/Scaled down replica set hello-[a-z0-9]+ from 2 to 1/]);
    await describeUntil(`rs ${rs}`, [/Normal\s+SuccessfulDelete\s+\S+\s+replicaset-controller\s+Deleted pod: hello-/]);
  });
});
