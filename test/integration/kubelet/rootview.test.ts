import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inOwnView, spawnInContainer, waitForView } from '../../../src/os/container.js';
import { initPid } from '../../../src/kubelet/process.js';
import { podStateSchema } from '../../../src/kubelet/state.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { Harness, waitUntil } from './harness.js';

/**
 * Each container gets a root view of its own (src/os/rootview.ts): checked from inside real pods on the
 * real kernel, through the same nsenter path `skiff exec` and exec probes use.
 */
interface PodJson {
  metadata: { name: string; uid: string };
  status?: { phase?: string; podIP?: string; conditions?: { type: string; status: string }[] };
}

const lab = new Lab('rv');
let h: Harness;
let node: Awaited<ReturnType<Harness['startNode']>>;

const getPod = (name: string): Promise<PodJson> =>
  h.api.request<PodJson>('GET', `/api/v1/namespaces/default/pods/${name}`);

function sleeper(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: {
      nodeName: 'node1',
      terminationGracePeriodSeconds: 1,
      hostAliases: [{ ip: '10.1.2.3', hostnames: ['db.example', 'db'] }],
      containers: [{ name: 'main', image: 'busybox', command: ['sleep', '3600'], ...extra }],
    },
  };
}

/** PID 1 of the pod's first container, as the host sees it */
function containerInit(uid: string): number | undefined {
  const state = podStateSchema.parse(JSON.parse(readFileSync(join(node.root, 'pods', uid, 'state.json'), 'utf8')));
  const handle = Object.values(state.containers)[0]?.handle;
  return handle ? initPid(handle) : undefined;
}

/** Run a shell command inside the pod's container; resolves with exit code and output. */
async function inPod(uid: string, script: string): Promise<{ code: number; out: string }> {
  const pid = await waitForView(() => containerInit(uid));
  return new Promise((resolve) => {
    const child = spawnInContainer(pid, ['sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 128, out });
    });
  });
}

async function running(name: string): Promise<PodJson> {
  return waitUntil(
    `pod ${name} Running`,
    60_000,
    async () => {
      const p = await getPod(name);
      return p.status?.phase === 'Running' && p.status.podIP ? p : undefined;
    },
    [node.proc],
  );
}

describe('a pod sees a root of its own, not the host', () => {
  beforeAll(async () => {
    requireRootAndTools(['ip', 'nsenter', 'unshare', 'socat', 'setpriv', 'pivot_root']);
    h = new Harness(lab);
    await h.startControlPlane();
    node = await h.startNode('node1');
    await h.makeReady('node1', '10.244.1.0/24', node.proc);
  });

  afterAll(async () => {
    await lab.cleanup();
  });

  it("cannot see the cluster's state directory, credentials, the kubelet root or host secrets", async () => {
    const admin = join(h.dir, 'cp', 'admin.kubeconfig');
    const tokens = join(h.dir, 'cp', 'tokens.json');
    expect(existsSync(admin) && existsSync(tokens)).toBe(true);
    await h.api.request('POST', '/api/v1/namespaces/default/pods', sleeper('a'));
    const a = await running('a');
    const uid = a.metadata.uid;
    for (const path of [admin, tokens, h.dir, node.root, join(node.root, 'pods', uid), '/run/netns', '/var/lib/skiff'])
      expect(await inPod(uid, `test -e '${path}' && echo VISIBLE`)).toEqual({ code: 1, out: '' });
    expect((await inPod(uid, 'cat /etc/shadow; ls -A /root /home 2>&1; echo; cat /etc/passwd | head -1')).out).toMatch(
      /No such file[\s\S]*No such file[\s\S]*root:x:0:0/,
    );
    // the system directories are there, read-only
    expect((await inPod(uid, 'touch /usr/x 2>&1; touch /etc/x && echo etc-writable')).out).toMatch(
      /Read-only file system[\s\S]*etc-writable/,
    );
  });

  it("runs a container's processes without the capabilities to mount their way out", async () => {
    const script = 'mount -t tmpfs x /mnt; echo "tmpfs=$?"; mount -t devtmpfs d /tmp; echo "devtmpfs=$?"; sleep 3600';
    await h.api.request('POST', '/api/v1/namespaces/default/pods', sleeper('caps', { command: ['sh', '-c', script] }));
    const p = await running('caps');
    const log = join(node.root, 'pods', p.metadata.uid, 'containers', 'main', 'output.log');
    const out = await waitUntil('caps output', 20_000, () => {
      const t = existsSync(log) ? readFileSync(log, 'utf8') : '';
      return t.includes('devtmpfs=') ? t : undefined;
    });
    expect(out).toMatch(/tmpfs=[1-9]/);
    expect(out).toMatch(/devtmpfs=[1-9]/);
    // containerd's default set: no CAP_SYS_ADMIN (bit 21), CAP_NET_RAW (13) kept
    const status = (await inPod(p.metadata.uid, 'cat /proc/$(pgrep -x sleep | head -1)/status')).out;
    const bnd = BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(status)?.[1] ?? '0'}`);
    expect((bnd >> 21n) & 1n).toBe(0n);
    expect((bnd >> 13n) & 1n).toBe(1n);
  });

  it("has its own hostname, hosts, /proc and /tmp; the host's mount table is untouched", async () => {
    await h.api.request('POST', '/api/v1/namespaces/default/pods', sleeper('b'));
    const a = await running('a');
    const b = await running('b');
    const ua = a.metadata.uid;
    const ub = b.metadata.uid;
    expect((await inPod(ua, 'hostname; cat /etc/hostname')).out).toBe('a\na\n');
    const hosts = (await inPod(ua, 'cat /etc/hosts')).out;
    expect(hosts).toContain('# Kubernetes-managed hosts file.');
    expect(hosts).toContain(`${a.status?.podIP}\ta`);
    expect(hosts).toContain('10.1.2.3\tdb.example\tdb');
    // only the pod's own processes: its init is PID 1
    const procs = (await inPod(ua, "ls /proc | grep -E '^[0-9]+$'")).out.trim().split('\n');
    expect(procs).toContain('1');
    expect(procs.length).toBeLessThan(10);
    expect((await inPod(ua, 'cat /proc/1/cmdline')).out).toContain('skiff-init');
    // /tmp is private to each container and absent from the host
    const marker = `rv-${ua.slice(0, 8)}`;
    expect((await inPod(ua, `echo secret > /tmp/${marker} && cat /tmp/${marker}`)).out).toBe('secret\n');
    expect(existsSync(`/tmp/${marker}`)).toBe(false);
    expect((await inPod(ub, `test -e /tmp/${marker}`)).code).toBe(1);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(join(node.root, 'pods'));
    // nothing enters a process that is not in a view of its own (this test process is not)
    expect(inOwnView(process.pid)).toBe(false);
    expect(() => spawnInContainer(process.pid, ['true'])).toThrow(/not in a container root view/);
  });

  it('runs built-in images and exec probes in the view', async () => {
    await h.api.request('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'web' },
      spec: {
        nodeName: 'node1',
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'web',
            image: 'skiff/netexec',
            // Ready only if the probe runs inside the view: the host has the token file, the view does not
            readinessProbe: {
              exec: { command: ['sh', '-c', `grep -q '^web$' /etc/hostname && ! test -e '${h.dir}'`] },
              periodSeconds: 1,
            },
          },
        ],
      },
    });
    await running('web');
    await waitUntil('web Ready', 30_000, async () =>
      (await getPod('web')).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'),
    );
  });
});
