import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listNetns } from '../../src/os/netns.js';
import { readLab } from '../../src/lab/state.js';
import { Lab, requireRootAndTools } from '../helpers/lab.js';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const SKIFF = join(ROOT, 'dist', 'skiff.mjs');

/**
 * The commands themselves, end to end: `skiff up --demo` (vxlan, userspace proxy, etcd store, 2 nodes),
 * `skiff status -o json`, `skiff exec`, kubectl through the written kubeconfig, `skiff down` twice
 * (idempotent), and `skiff down` after a crash (processes killed, lab.json and skiff-cnid sockets left
 * behind).
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

  it('tears down idempotently, including after a crash', async () => {
    const state = readLab(dir);
    expect(state).toBeDefined();
    // each node's resident CNI helper runs on its own socket; a crash leaves the socket files behind
    const sockets = ['node1', 'node2'].map((n) => join(dir, 'nodes', n, 'cni.sock'));
    expect(
      state?.processes
        .filter((p) => p.name.startsWith('skiff-cnid-'))
        .map((p) => p.name)
        .sort(),
    ).toEqual(['skiff-cnid-node1', 'skiff-cnid-node2']);
    expect(sockets.filter((s) => existsSync(s))).toEqual(sockets);
    // simulate a crash: kill every component, leave lab.json and the namespaces behind
    for (const p of state?.processes ?? []) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    const out = (await skiff('down', '--state-dir', dir)).stdout;
    expect(out).toMatch(/removed/);
    expect(listNetns().filter((n) => n.startsWith(`${state?.prefix}-`))).toEqual([]);
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
