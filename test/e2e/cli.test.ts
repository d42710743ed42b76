import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listNetns } from '../../src/os/netns.js';
import { httpGetIn, servedHostname } from '../../src/lab/http.js';
import { readLab } from '../../src/lab/state.js';
import { alive, labComponents } from '../../src/lab/supervisor.js';
import { until } from './helpers.js';
import { Lab, requireRootAndTools } from '../helpers/lab.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const SKIFF = join(ROOT, 'dist', 'skiff.mjs');

/**
 * The commands themselves, end to end: `skiff up --demo` (vxlan, userspace proxy, etcd store, 2 nodes),
 * `skiff status -o json`, `skiff exec`, kubectl through the written kubeconfig, a component crash and its
 * restart by the supervisor, `skiff restart`, `skiff logs`, `skiff stop` and the resume by `skiff up`,
 * `skiff down` twice (idempotent), and `skiff down` after a crash (the supervisor killed, lab.json and
 * skiff-cnid sockets left behind).
 */
describe('skiff up / status / exec / down', () => {
  const lab = new Lab('cli');
  let dir: string;
  const skiff = (...args: string[]) =>
    run(process.execPath, [SKIFF, ...args], { timeout: 240_000, maxBuffer: 8 << 20 });

  beforeAll(() => {
    requireRootAndTools(['ip', 'nsenter', 'unshare', 'socat', 'nft', 'etcd', 'kubectl']);
    if (!existsSync(SKIFF)) throw new Error('dist/skiff.mjs missing: run node scripts/build.mjs');
    dir = lab.tmpdir();
    lab.onCleanup(async () => {
      await skiff('down', '--state-dir', dir).catch(() => undefined);
    });
  });

  afterAll(async () => {
    await lab.cleanup();
  }, 60_000);

  it('brings a lab up with the demo and shows it answering from different pods', async () => {
    const { stdout } = await skiff(
      'up',
      '--state-dir',
      dir,
      '--nodes',
      '2',
      '--cni',
      'vxlan',
      '--proxy-mode',
      'userspace',
      '--store',
      'etcd',
      '--demo',
    );
    expect(stdout).toMatch(/is up: 2 nodes, vxlan CNI, userspace proxy, etcd store/);
    const lb = /LoadBalancer .*: (.*)/.exec(stdout)?.[1] ?? '';
    expect(lb).toMatch(/hostname-demo-/);
    expect((stdout.match(/NodePort .*: (.*)/)?.[1] ?? '').split(',').length).toBeGreaterThanOrEqual(2);
    expect(existsSync(join(dir, 'admin.kubeconfig'))).toBe(true);
  }, 300_000);

  it('reports status, runs commands in namespaces, and serves kubectl through the loopback forwarder', async () => {
    const st = JSON.parse((await skiff('status', '--state-dir', dir, '-o', 'json')).stdout) as {
      up: boolean;
      components: { running: boolean }[];
      clusterNodes: { ready: string }[];
    };
    expect(st.up).toBe(true);
    expect(st.components.every((c) => c.running)).toBe(true);
    expect(st.clusterNodes.map((n) => n.ready)).toEqual(['True', 'True']);
    const addr = (await skiff('exec', '--state-dir', dir, 'node1', '--', 'ip', '-4', '-o', 'addr', 'show', 'eth0'))
      .stdout;
    expect(addr).toContain('198.18.0.11/24');
    const pods = JSON.parse(
      (
        await run(
          'kubectl',
          ['--kubeconfig', join(dir, 'admin.kubeconfig'), 'get', 'pods', '-l', 'app=hostname-demo', '-o', 'json'],
          { timeout: 30_000 },
        )
      ).stdout,
    ) as { items: { metadata: { name: string }; status: { podIP: string } }[] };
    const pod = pods.items[0];
    expect(pod).toBeDefined();
    const podAddr = (
      await skiff(
        'exec',
        '--state-dir',
        dir,
        `default/${pod?.metadata.name}`,
        '--',
        'ip',
        '-4',
        '-o',
        'addr',
        'show',
        'eth0',
      )
    ).stdout;
    expect(podAddr).toContain(`${pod?.status.podIP}/24`);
    // like kubectl exec: the container's own hostname and PID namespace, not just the pod's network
    expect((await skiff('exec', '--state-dir', dir, `pod/${pod?.metadata.name}`, '--', 'hostname')).stdout.trim()).toBe(
      pod?.metadata.name,
    );
    expect(
      (await skiff('exec', '--state-dir', dir, `pod/${pod?.metadata.name}`, '--', 'cat', '/proc/1/cmdline')).stdout,
    ).toContain('skiff-init');
    // the same root view as the container: its own /etc/hostname, and none of the lab's credentials
    expect(
      (
        await skiff('exec', '--state-dir', dir, `pod/${pod?.metadata.name}`, '--', 'cat', '/etc/hostname')
      ).stdout.trim(),
    ).toBe(pod?.metadata.name);
    await expect(
      skiff('exec', '--state-dir', dir, `pod/${pod?.metadata.name}`, '--', 'cat', join(dir, 'admin.kubeconfig')),
    ).rejects.toThrow(/No such file/);
    await expect(skiff('exec', '--state-dir', dir, 'pod/no-such-pod', '--', 'true')).rejects.toThrow(/not found/);
    await expect(skiff('exec', '--state-dir', dir, 'pod/', '--', 'true')).rejects.toThrow(/give a pod name/);
    const k = await run('kubectl', ['--kubeconfig', join(dir, 'admin.kubeconfig'), 'get', 'nodes', '-o', 'name'], {
      timeout: 30_000,
    });
    expect(k.stdout.trim().split('\n').sort()).toEqual(['node/node1', 'node/node2']);
  }, 60_000);

  interface ComponentRow {
    name: string;
    pid: number;
    running: boolean;
    state: string;
    restarts: number;
    lastExit?: string;
  }
  const components = async (): Promise<ComponentRow[]> =>
    (JSON.parse((await skiff('status', '--state-dir', dir, '-o', 'json')).stdout) as { components: ComponentRow[] })
      .components;
  const kubectl = (...args: string[]) =>
    run('kubectl', ['--kubeconfig', join(dir, 'admin.kubeconfig'), ...args], { timeout: 30_000 });
  const demoClusterIP = async () =>
    (await kubectl('get', 'svc', 'hostname-demo', '-o', 'jsonpath={.spec.clusterIP}')).stdout;
  const nodeNs = (n: string) => `${readLab(dir)?.prefix}-${n}`;

  it('restarts a component that dies (skiff status shows it), and the datapath comes back', async () => {
    const before = (await components()).find((c) => c.name === 'proxy-node1');
    expect(before).toMatchObject({ running: true, restarts: 0 });
    process.kill(-before!.pid, 'SIGKILL');
    const after = await until('proxy-node1 restarted', 30_000, async () => {
      const c = (await components()).find((x) => x.name === 'proxy-node1');
      return c?.running && c.pid !== before!.pid ? c : undefined;
    });
    expect(after).toMatchObject({ state: 'running', restarts: 1, lastExit: 'SIGKILL' });
    const text = (await skiff('status', '--state-dir', dir)).stdout;
    expect(text).toMatch(/^COMPONENT +PID +STATE +RESTARTS +LAST-EXIT +LOG$/m);
    expect(text).toMatch(new RegExp(`^proxy-node1 +${after.pid} +running +1 +SIGKILL `, 'm'));
    // userspace mode: the ClusterIP is the proxy's own listener, so an answer means the new proxy serves it
    const ip = await demoClusterIP();
    await until('the ClusterIP answers through the restarted proxy', 60_000, async () =>
      servedHostname(await httpGetIn(nodeNs('node1'), ip, 80, '/')),
    );
  }, 120_000);

  it('skiff restart restarts by name or by kind; a bad name is one line and exit 2', async () => {
    const before = (await components()).filter((c) => c.name.startsWith('kubelet-'));
    const out = (await skiff('restart', '--state-dir', dir, 'kubelet')).stdout;
    for (const k of before) expect(out).toContain(`${k.name} restarted (pid ${k.pid} → `);
    const after = (await components()).filter((c) => c.name.startsWith('kubelet-'));
    expect(after.map((c) => [c.name, c.running, c.restarts, c.lastExit])).toEqual(
      before.map((c) => [c.name, true, c.restarts + 1, 'restarted']),
    );
    const bad = await skiff('restart', '--state-dir', dir, 'kubelet-node9').then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad?.code).toBe(2);
    expect(bad?.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad?.stderr).toMatch(/no component "kubelet-node9".*components: .*kubelet-node1/);
  }, 120_000);

  it('skiff logs prints a component human-readably (or raw JSON) and a pod through the API', async () => {
    const pretty = (await skiff('logs', '--state-dir', dir, 'kubelet-node1', '--tail', '5')).stdout;
    // five records, each rendered "[time] LEVEL: component: message" (an error's stack may add lines below it)
    const heads = pretty
      .split('\n')
      .filter((l) => /^\[\d\d:\d\d:\d\d\.\d{3}\] (INFO|WARN|ERROR|DEBUG): kubelet: /.test(l));
    expect(heads).toHaveLength(5);
    expect(pretty).not.toMatch(/^\{"level"/m);
    const raw = (await skiff('logs', '--state-dir', dir, 'kubelet-node1', '--tail', '1', '--raw')).stdout.trim();
    expect(JSON.parse(raw)).toMatchObject({ component: 'kubelet', node: 'node1' });
    // the supervisor's own log records the restarts of the tests above
    expect((await skiff('logs', '--state-dir', dir, 'supervisor')).stdout).toMatch(
      /supervise: request .*kubelet-node1/,
    );
    const pod = (await kubectl('get', 'pods', '-n', 'kube-system', '-o', 'name')).stdout.split('\n')[0]!.trim();
    const dns = (await skiff('logs', '--state-dir', dir, '-n', 'kube-system', pod)).stdout;
    expect(dns).toContain('serving cluster DNS');
    await expect(skiff('logs', '--state-dir', dir, 'pod/no-such-pod')).rejects.toThrow(/pods "no-such-pod" not found/);
  }, 60_000);

  it('skiff stop keeps the cluster; skiff up resumes it with its objects, pods and Services', async () => {
    await kubectl('create', 'configmap', 'kept-across-stop', '--from-literal=k=v');
    const podsBefore = (await kubectl('get', 'pods', '-l', 'app=hostname-demo', '-o', 'name')).stdout
      .trim()
      .split('\n')
      .sort();
    const stopped = (await skiff('stop', '--state-dir', dir)).stdout;
    expect(stopped).toMatch(/stopped: .*its state is kept/);
    const prefix = readLab(dir)?.prefix as string;
    expect(readLab(dir)?.phase).toBe('stopped');
    expect(listNetns().filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
    expect((await skiff('status', '--state-dir', dir)).stdout).toMatch(/\(stopped\)/);
    await expect(skiff('restart', '--state-dir', dir, 'proxy')).rejects.toThrow(/is stopped; `skiff up/);

    const resumed = (await skiff('up', '--state-dir', dir)).stdout;
    expect(resumed).toMatch(/is resumed \(its objects kept\): 2 nodes, vxlan CNI, userspace proxy, etcd store/);
    expect(readLab(dir)?.prefix).toBe(prefix);
    expect((await kubectl('get', 'configmap', 'kept-across-stop', '-o', 'jsonpath={.data.k}')).stdout).toBe('v');
    // the same pods (not replacements), running again in new sandboxes, restarted once as after a reboot
    const pods = await until('the demo pods ready again', 120_000, async () => {
      const list = JSON.parse((await kubectl('get', 'pods', '-l', 'app=hostname-demo', '-o', 'json')).stdout) as {
        items: {
          metadata: { name: string };
          status: {
            containerStatuses?: {
              ready: boolean;
              restartCount: number;
              lastState?: { terminated?: { reason: string } };
            }[];
          };
        }[];
      };
      // right after the resume the API still shows the statuses from before the stop: wait for the new run
      const restarted = (p: (typeof list.items)[number]) => {
        const c = p.status.containerStatuses?.[0];
        return !!c?.ready && c.lastState?.terminated?.reason === 'Unknown';
      };
      return list.items.length > 0 && list.items.every(restarted) ? list.items : undefined;
    });
    expect(pods.map((p) => `pod/${p.metadata.name}`).sort()).toEqual(podsBefore);
    for (const p of pods) expect(p.status.containerStatuses?.[0]?.restartCount).toBeGreaterThanOrEqual(1);
    const ip = await demoClusterIP();
    await until('the ClusterIP answers after the resume', 60_000, async () =>
      servedHostname(await httpGetIn(nodeNs('node2'), ip, 80, '/')),
    );
  }, 300_000);

  it('tears down idempotently, including after a crash', async () => {
    const state = readLab(dir);
    expect(state).toBeDefined();
    // each node's resident CNI helper runs on its own socket; a crash leaves the socket files behind
    const sockets = ['node1', 'node2'].map((n) => join(dir, 'nodes', n, 'cni.sock'));
    const running = labComponents(dir).flatMap((c) => (c.process ? [c] : []));
    expect(running.filter((c) => c.name.startsWith('skiff-cnid-')).map((c) => c.name)).toEqual([
      'skiff-cnid-node1',
      'skiff-cnid-node2',
    ]);
    expect(sockets.filter((s) => existsSync(s))).toEqual(sockets);
    // simulate a crash: kill the supervisor (its components keep running, nobody restarts them) and one
    // component, leave lab.json and the namespaces behind
    for (const p of state?.processes ?? []) process.kill(p.pid, 'SIGKILL');
    const cnid = running.find((c) => c.name === 'skiff-cnid-node1')!.process!;
    process.kill(-cnid.pid, 'SIGKILL');
    const out = (await skiff('down', '--state-dir', dir)).stdout;
    expect(out).toMatch(/removed/);
    expect(listNetns().filter((n) => n.startsWith(`${state?.prefix}-`))).toEqual([]);
    // the components the dead supervisor left running were stopped too (the root namespace's forwarder
    // among them: no namespace deletion would have ended it)
    expect(running.filter((c) => alive(c.process!)).map((c) => c.name)).toEqual([]);
    expect(sockets.filter((s) => existsSync(s) || existsSync(`${s}.pid`))).toEqual([]);
    expect(existsSync(join(dir, 'cni-bin'))).toBe(false);
    expect((await skiff('down', '--state-dir', dir)).stdout).toMatch(/nothing to do/);
  }, 60_000);
});

describe('Vagrantfile', () => {
  it('passes `vagrant validate` (vagrant and its libvirt provider come from scripts/setup.sh)', async () => {
    try {
      await run('sh', ['-c', 'command -v vagrant']);
    } catch {
      throw new Error('vagrant is missing: run scripts/setup.sh (installs vagrant and vagrant-libvirt)');
    }
    const t = mkdtempSync(join(tmpdir(), 'skiff-vagrant-'));
    try {
      const env = {
        ...process.env,
        VAGRANT_DOTFILE_PATH: join(t, 'dot'),
        VAGRANT_HOME: join(t, 'home'),
        VAGRANT_CHECKPOINT_DISABLE: '1',
      };
      const ok = await run('vagrant', ['validate'], { cwd: ROOT, env, timeout: 120_000 });
      expect(ok.stdout).toMatch(/validated successfully/);
      await expect(
        run('vagrant', ['validate'], { cwd: ROOT, env: { ...env, SKIFF_CNI: 'flannel' }, timeout: 120_000 }),
      ).rejects.toThrow(/SKIFF_CNI must be bridge or vxlan/);
    } finally {
      rmSync(t, { recursive: true, force: true });
    }
  }, 700_000);
});
