import { readFileSync, readdirSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { run, runRaw } from '../../src/os/exec.js';
import { namedNs } from '../../src/os/ns.js';
import { httpGetIn } from '../../src/lab/http.js';
import { podNetnsName } from '../../src/kubelet/pod.js';
import { Lab, requireRootAndTools } from '../helpers/lab.js';
import { type Vm, VmlessCluster, treeDigest, treeFiles } from '../helpers/vmless/vms.js';
import { type PodJson, type SvcJson, service, spread, until } from './helpers.js';

/**
 * The Vagrant cluster's provisioning (Vagrantfile + scripts/provision/vm.sh), run without VMs (see
 * test/helpers/vmless/vms.ts): one control plane and two workers provisioned at once, each in its own
 * namespaces with its own disk, units run by a systemctl stand-in. Then: the checkout (the synced folder)
 * is unchanged and holds no credential outside the git-ignored, owner-only hand-over, which holds only what
 * the workers need; and the cluster works as the lab's does (nodes Ready, pods across nodes, ClusterIP,
 * NodePort and LoadBalancer from the host), for both CNIs.
 */
const ROOT = resolve(import.meta.dirname, '../..');
const combos = [
  { cni: 'bridge', proxyMode: 'nftables' },
  { cni: 'vxlan', proxyMode: 'userspace' },
] as const;

interface KubeconfigYaml {
  clusters: { cluster: { server: string } }[];
  users: { user: { token: string } }[];
}

describe.each(combos)('Vagrant VMs without VMs: $cni CNI, $proxyMode proxy', ({ cni, proxyMode }) => {
  const lab = new Lab(`v${cni[0]}`);
  let c: VmlessCluster;
  let before: { digest: string; status: string; worktree: string };
  const pods: PodJson[] = [];

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nsenter', 'unshare', 'socat', 'nft', 'rsync', 'git', 'kubectl', 'curl']);
    c = new VmlessCluster(lab, { cni, proxyMode, workers: 2 });
    const worktree = await run(['git', '-C', ROOT, 'status', '--porcelain']);
    await c.makeSyncedFolder();
    before = { digest: treeDigest(c.synced, ['.git', '.skiff']), status: await c.gitStatus(), worktree };
    await c.makeNetwork();
    await c.boot();
    // Vagrant provisions libvirt machines in parallel: so does the test, all three at once
    const results = await Promise.all(c.vms.map((vm) => c.provision(vm, 200_000)));
    const failed = results
      .map((r, i) => ({ r, vm: c.vms[i] as Vm }))
      .filter(({ r }) => r.code !== 0 || !r.stdout.includes('provisioned'));
    if (failed.length) {
      const what = failed.map(({ r, vm }) => `${vm.name}: exit ${r.code}\n${r.stdout}\n${r.stderr}`).join('\n');
      throw new Error(`provisioning failed:\n${what}\n${c.journal()}`);
    }
  }, 240_000);

  afterAll(async () => {
    await lab.cleanup();
  }, 60_000);

  it('leaves the checkout as it was and hands over only the workers’ credentials, owner-only and git-ignored', async () => {
    expect(treeDigest(c.synced, ['.git', '.skiff'])).toBe(before.digest);
    expect(await c.gitStatus()).toBe(before.status);
    expect(before.status).toBe('');
    expect(await run(['git', '-C', ROOT, 'status', '--porcelain'])).toBe(before.worktree);
    // the hand-over: what the workers need, nothing else, owner-only, ignored by git
    expect(readdirSync(c.handover).sort()).toEqual(['node1.kubeconfig', 'node2.kubeconfig', 'proxy.kubeconfig']);
    expect(statSync(c.handover).mode & 0o777).toBe(0o700);
    for (const f of readdirSync(c.handover)) {
      expect(statSync(join(c.handover, f)).mode & 0o777, f).toBe(0o600);
      await run(['git', '-C', c.synced, 'check-ignore', '-q', `.skiff/${f}`]);
    }
    const cp = c.vm('cp');
    const users = (
      JSON.parse(readFileSync(c.path(cp, '/var/lib/skiff/cp/tokens.json'), 'utf8')) as {
        tokens: { token: string; user: string }[];
      }
    ).tokens;
    const handedOver = readdirSync(c.handover).map(
      (f) => (parseYaml(readFileSync(join(c.handover, f), 'utf8')) as KubeconfigYaml).users[0]?.user.token,
    );
    const userOf = (t: string | undefined) => users.find((u) => u.token === t)?.user;
    expect(handedOver.map(userOf).sort()).toEqual(['system:kube-proxy', 'system:node:node1', 'system:node:node2']);
    // no token of the cluster anywhere else in the working tree
    const files = treeFiles(c.synced, ['.git', '.skiff', 'node_modules']);
    expect(files.length).toBeGreaterThan(100);
    const leaks = files.filter((f) => {
      const text = readFileSync(join(c.synced, f), 'latin1');
      return users.some((u) => text.includes(u.token));
    });
    expect(leaks).toEqual([]);
  });

  it('built skiff on each VM into its own /opt/skiff/src and runs the units from there, on the VM only', () => {
    const builds = c.vms.map((vm) => {
      const bridge = readFileSync(c.path(vm, '/opt/skiff/src/plugins/bin/bridge'), 'utf8');
      expect(existsSync(c.path(vm, '/opt/skiff/src/dist/skiff.mjs')), vm.name).toBe(true);
      return /skiff-cni-shim ([0-9a-f]{12})/.exec(bridge)?.[1];
    });
    expect(new Set(builds).size).toBe(3); // three builds, one per VM, none shared
    const unit = readFileSync(c.path(c.vm('node1'), '/etc/systemd/system/skiff-kubelet.service'), 'utf8');
    expect(unit).toContain('ExecStart=/bin/bash /opt/skiff/src/scripts/provision/kubelet.sh');
    expect(unit).not.toContain('/vagrant');
    expect(existsSync('/etc/systemd/system/skiff-kubelet.service')).toBe(false); // the host's stays untouched
  });

  it('brings every worker Ready', async () => {
    await until('node1 and node2 Ready', 90_000, async () => {
      const list = JSON.parse(await c.kubectl(['get', 'nodes', '-o', 'json'])) as {
        items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
      };
      const ready = list.items
        .filter((n) => n.status?.conditions?.some((x) => x.type === 'Ready' && x.status === 'True'))
        .map((n) => n.metadata.name)
        .sort();
      return ready.join() === 'node1,node2' || undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${c.journal()}`);
    });
  }, 100_000);

  it('runs pods on both workers that reach each other by pod IP', async () => {
    for (const node of ['node1', 'node2']) {
      const pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `echo-${node}`, labels: { app: 'echo' } },
        spec: {
          nodeName: node,
          containers: [
            {
              name: 'web',
              image: 'skiff/netexec',
              ports: [{ containerPort: 8080 }],
              readinessProbe: { httpGet: { path: '/readyz', port: 8080 }, periodSeconds: 1 },
            },
          ],
        },
      };
      await c.kubectl(['apply', '-f', '-'], JSON.stringify(pod));
    }
    const ready = await until('2 echo pods Running', 90_000, async () => {
      const ps = (JSON.parse(await c.kubectl(['get', 'pods', '-l', 'app=echo', '-o', 'json'])) as { items: PodJson[] })
        .items;
      return ps.length === 2 && ps.every((p) => p.status?.phase === 'Running' && p.status.podIP) ? ps : undefined;
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${c.journal()}`);
    });
    pods.push(...ready.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name)));
    for (const from of pods) {
      const fromNs = podNetnsName(c.vm(from.spec.nodeName as string).netns, from.metadata.uid);
      for (const to of pods.filter((p) => p !== from)) {
        const body = await until(`${from.metadata.name} → ${to.metadata.name}`, 30_000, () =>
          httpGetIn(fromNs, to.status?.podIP as string, 8080, '/hostname'),
        );
        expect(body).toBe(to.metadata.name);
        const seen = await httpGetIn(fromNs, to.status?.podIP as string, 8080, '/clientip');
        expect(seen?.split(':')[0]).toBe(from.status?.podIP); // no NAT between pods
      }
    }
  }, 150_000);

  it.runIf(cni === 'bridge')(
    'routes the control plane to the pods on every worker',
    async () => {
      const cp = c.vm('cp');
      expect(pods.map((p) => p.spec.nodeName).sort()).toEqual(['node1', 'node2']);
      for (const pod of pods) {
        const body = await until(`cp → ${pod.metadata.name}`, 30_000, () =>
          httpGetIn(cp.netns, pod.status?.podIP as string, 8080, '/hostname'),
        );
        expect(body).toBe(pod.metadata.name);
      }
    },
    40_000,
  );

  it('spreads a ClusterIP over both pods', async () => {
    const svc = JSON.parse(
      await c.kubectl(
        ['apply', '-o', 'json', '-f', '-'],
        JSON.stringify(service('echo', 'ClusterIP', { app: 'echo' })),
      ),
    ) as SvcJson;
    const from = podNetnsName(c.vm('node1').netns, pods[0]?.metadata.uid as string);
    const seen = new Set<string>();
    await until('both backends behind the ClusterIP', 60_000, async () => {
      for (const h of (await spread(from, svc.spec.clusterIP as string, 80, 10)).hosts) seen.add(h);
      return seen.size === 2;
    });
    expect([...seen].sort()).toEqual(['echo-node1', 'echo-node2']);
  }, 70_000);

  it('answers NodePort and LoadBalancer services from the host', async () => {
    const np = JSON.parse(
      await c.kubectl(
        ['apply', '-o', 'json', '-f', '-'],
        JSON.stringify(service('echo-np', 'NodePort', { app: 'echo' })),
      ),
    ) as SvcJson;
    const nodePort = np.spec.ports[0]?.nodePort as number;
    expect(nodePort).toBeGreaterThanOrEqual(30000);
    for (const node of ['node1', 'node2']) {
      const body = await until(`NodePort via ${node}`, 60_000, () =>
        httpGetIn(c.hostNs, c.vm(node).ip, nodePort, '/hostname'),
      );
      expect(body).toMatch(/^echo-node[12]$/);
    }
    await c.kubectl(['apply', '-f', '-'], JSON.stringify(service('echo-lb', 'LoadBalancer', { app: 'echo' })));
    const lbIP = await until('LoadBalancer ingress IP', 60_000, async () => {
      const s = JSON.parse(await c.kubectl(['get', 'service', 'echo-lb', '-o', 'json'])) as SvcJson;
      return s.status?.loadBalancer?.ingress?.[0]?.ip;
    });
    expect(lbIP).toMatch(/^198\.18\.0\.(2[0-4]\d|250)$/);
    const body = await until('LoadBalancer answers', 60_000, () => httpGetIn(c.hostNs, lbIP, 80, '/hostname'));
    expect(body).toMatch(/^echo-node[12]$/);
  }, 200_000);

  it('is reachable from the host with the control plane’s admin kubeconfig (docs/cluster.md)', async () => {
    const kc = readFileSync(c.path(c.vm('cp'), '/var/lib/skiff/cp/admin.kubeconfig'), 'utf8');
    expect((parseYaml(kc) as KubeconfigYaml).clusters[0]?.cluster.server).toBe('https://198.18.0.10:6443');
    const file = join(lab.tmpdir(), 'skiff.kubeconfig');
    writeFileSync(file, kc, { mode: 0o600 });
    const r = await runRaw(['kubectl', '--kubeconfig', file, 'get', 'nodes', '-o', 'name'], { ns: namedNs(c.hostNs) });
    expect(r.stdout.trim().split('\n').sort()).toEqual(['node/node1', 'node/node2']);
  });

  it('restarts a unit whose process exits, as Restart=always does', async () => {
    const node1 = c.vm('node1');
    const mainFile = c.path(node1, '/run/systemctl-standin/skiff-proxy.service.main');
    const first = readFileSync(mainFile, 'utf8').trim();
    expect((await c.exec(node1, ['kill', '-9', first])).code).toBe(0);
    const second = await until('a new skiff-proxy process', 20_000, async () => {
      const pid = readFileSync(mainFile, 'utf8').trim();
      return pid !== first && (await c.exec(node1, ['kill', '-0', pid])).code === 0 ? pid : undefined;
    });
    expect(second).not.toBe(first);
    const body = await until('NodePort via node1 after the restart', 60_000, async () => {
      const np = JSON.parse(await c.kubectl(['get', 'service', 'echo-np', '-o', 'json'])) as SvcJson;
      return httpGetIn(c.hostNs, node1.ip, np.spec.ports[0]?.nodePort as number, '/hostname');
    });
    expect(body).toMatch(/^echo-node[12]$/);
  }, 90_000);
});
