import { execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_PORT, CP_IP } from '../../src/lab/addressing.js';
import { Lab, requireRootAndTools } from '../helpers/lab.js';
import { httpGetIn } from '../../src/lab/http.js';
import { type Cluster, deployment, listPods, readyEndpoints, service, until, upCluster } from './helpers.js';

const execFileP = promisify(execFile);
const SKIFF = join(resolve(import.meta.dirname, '../..'), 'dist', 'skiff.mjs');

/** Which kubectl runs, and how: the SPDY/3.1 fallback is kubectl 1.27's only transport for exec/attach. */
interface Peer {
  bin: string;
  env?: Record<string, string>;
}

const SPDY_PEERS: Record<string, Peer> = {
  'kubectl 1.27': { bin: '/opt/kubectl-1.27/kubectl' },
  'kubectl 1.32, WebSockets off': { bin: 'kubectl', env: { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' } },
};

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The daily loop with the real kubectl, run inside the lab's client namespace (its requests reach the API
 * server at the control plane's address; port-forward's local ports are the client namespace's loopback):
 * logs (--tail, --since, --timestamps, -c, -f, --previous), exec (exit codes, stdin, a TTY's prompt and size,
 * a Service by DNS name), cp both ways, port-forward of a pod and a Service over both transports kubectl
 * has, and RBAC on the subresources (a `view` user reads logs, cannot exec or port-forward).
 */
describe('kubectl logs / exec / cp / port-forward through the kubelet server', () => {
  const lab = new Lab('kwf');
  let c: Cluster;
  let admin: string;
  let viewer: string;
  let clientNs: string;

  /** kubectl in the client namespace; bounded in time (a hung stream fails the test, never blocks it). */
  function kubectl(
    args: string[],
    o: { kubeconfig?: string; input?: string; timeoutMs?: number; peer?: Peer } = {},
  ): Promise<Result> {
    return new Promise((res) => {
      const child = spawn(
        'ip',
        ['netns', 'exec', clientNs, o.peer?.bin ?? 'kubectl', '--kubeconfig', o.kubeconfig ?? admin, ...args],
        { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...o.peer?.env } },
      );
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
      child.on('close', (code, sig) => {
        clearTimeout(timer);
        res({ code: code ?? (sig ? 128 : 1), stdout, stderr });
      });
      if (o.input !== undefined) child.stdin.end(o.input);
      else child.stdin.end();
    });
  }

  /**
   * kubectl on a pseudo-terminal of the given size (util-linux `script`), `input` typed one entry every 1.5 s;
   * `resize` changes the terminal's size after 4 s (the kernel then signals SIGWINCH to kubectl).
   */
  function kubectlTty(
    args: string[],
    size: { cols: number; rows: number },
    input: string[],
    resize?: { cols: number; rows: number },
    peer?: Peer,
  ): Promise<Result> {
    const later = resize ? `(sleep 4; stty cols ${resize.cols} rows ${resize.rows} </dev/tty) & ` : '';
    const bin = peer?.bin ?? 'kubectl';
    const cmd = `stty cols ${size.cols} rows ${size.rows}; ${later}${bin} --kubeconfig ${admin} ${args.join(' ')}; echo "rc=$?"`;
    return new Promise((res) => {
      const child = spawn('ip', ['netns', 'exec', clientNs, 'script', '-qec', cmd, '/dev/null'], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, ...peer?.env },
      });
      let stdout = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      let i = 0;
      const typer = setInterval(() => {
        if (i < input.length) child.stdin.write(input[i++]!);
      }, 1500);
      child.on('close', (code) => {
        clearTimeout(timer);
        clearInterval(typer);
        res({ code: code ?? 1, stdout, stderr: '' });
      });
    });
  }

  /** Each kubelet's log by file name. */
  function kubeletLogFiles(): Map<string, string> {
    const dir = join(c.stateDir, 'logs');
    return new Map(
      readdirSync(dir)
        .filter((f) => f.startsWith('kubelet-'))
        .map((f) => [f, readFileSync(join(dir, f), 'utf8')]),
    );
  }

  function kubeletLogs(): string {
    return [...kubeletLogFiles().values()].join('');
  }

  /** What the kubelets logged since `mark` (each log only grows). */
  function kubeletLogsSince(mark: Map<string, string>): string {
    return [...kubeletLogFiles()].map(([f, text]) => text.slice(mark.get(f)?.length ?? 0)).join('');
  }

  async function createPod(name: string, containers: Record<string, unknown>[], restartPolicy = 'Never') {
    await c.api.request('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { restartPolicy, terminationGracePeriodSeconds: 1, containers },
    });
  }

  async function running(name: string): Promise<void> {
    await until(`pod ${name} running`, 60_000, async () => {
      const p = await c.api.request<{ status?: { phase?: string } }>('GET', `/api/v1/namespaces/default/pods/${name}`);
      return p.status?.phase === 'Running';
    });
  }

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nsenter', 'unshare', 'socat', 'nft', 'kubectl', 'script', 'perl', 'python3']);
    c = await upCluster(lab, { cni: 'bridge', proxyMode: 'nftables', nodes: 2 });
    clientNs = c.ns('client');
    admin = join(c.stateDir, 'cp', 'admin.kubeconfig');
    viewer = join(c.stateDir, 'viewer.kubeconfig');
    await execFileP(process.execPath, [
      SKIFF,
      'apiserver',
      'issue-kubeconfig',
      '--state-dir',
      join(c.stateDir, 'cp'),
      '--user',
      'viewer',
      '--server',
      `https://${CP_IP}:${API_PORT}`,
      '--out',
      viewer,
    ]);
    await c.api.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'viewer-view' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'viewer' }],
    });
    const counter = 'i=0; while [ $i -lt 600 ]; do echo "out $i"; echo "err $i" >&2; i=$((i+1)); sleep 0.2; done';
    await createPod('talker', [
      { name: 'main', image: 'busybox', command: ['sh', '-c', counter] },
      { name: 'side', image: 'busybox', command: ['sh', '-c', 'echo side-says-hi; sleep 600'] },
    ]);
    // each run prints a run id of its own, then fails, so the kubelet restarts it (back-off 1 s in the lab)
    await createPod(
      'crasher',
      [
        {
          name: 'c',
          image: 'busybox',
          command: ['sh', '-c', 'echo "run $(cat /proc/sys/kernel/random/uuid)"; sleep 2; exit 1'],
        },
      ],
      'Always',
    );
    await createPod('shell', [{ name: 'sh', image: 'busybox', command: ['sleep', '600'] }]);
    await c.api.request('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('web', 1));
    await c.api.request('POST', '/api/v1/namespaces/default/services', service('web', 'ClusterIP', { app: 'web' }));
    for (const p of ['talker', 'shell']) await running(p);
    await until('a ready web endpoint', 60_000, async () => (await readyEndpoints(c.api, 'web')).length > 0);
  }, 300_000);

  afterAll(async () => {
    await lab.cleanup();
  }, 120_000);

  it('logs: a container by -c, --tail, --timestamps, --since, --limit-bytes', async () => {
    await until('some output', 20_000, async () =>
      (await kubectl(['logs', 'talker', '-c', 'main'])).stdout.includes('out 5'),
    );
    const all = await kubectl(['logs', 'talker', '-c', 'main']);
    expect(all.code).toBe(0);
    // stdout and stderr are two pipes read independently (as by containerd): within one instant their order is
    // not defined, so the first two lines are "out 0" and "err 0" in either order
    expect(all.stdout.split('\n').slice(0, 2).sort()).toEqual(['err 0', 'out 0']);
    const side = await kubectl(['logs', 'talker', '-c', 'side']);
    expect(side.stdout).toBe('side-says-hi\n');
    const tail = await kubectl(['logs', 'talker', '-c', 'main', '--tail=3']);
    expect(tail.stdout.trimEnd().split('\n')).toHaveLength(3);
    const ts = await kubectl(['logs', 'talker', '-c', 'side', '--timestamps']);
    expect(ts.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z side-says-hi\n$/);
    const stamp = Date.parse(ts.stdout.split(' ')[0]!);
    expect(Math.abs(Date.now() - stamp)).toBeLessThan(10 * 60_000);
    // the side container wrote its only line at its start: not within the last second, but within the hour
    await new Promise((r) => setTimeout(r, 1500));
    expect((await kubectl(['logs', 'talker', '-c', 'side', '--since=1s'])).stdout).toBe('');
    expect((await kubectl(['logs', 'talker', '-c', 'side', '--since=1h'])).stdout).toBe('side-says-hi\n');
    const recent = await kubectl(['logs', 'talker', '-c', 'main', '--since=1s']);
    const numbers = [...recent.stdout.matchAll(/out (\d+)/g)].map((m) => Number(m[1]));
    expect(numbers.length).toBeGreaterThan(0);
    expect(numbers.length).toBeLessThan(15);
    expect(numbers[0]).toBeGreaterThan(5);
    expect(['out 0\ne', 'err 0\no']).toContain(
      (await kubectl(['logs', 'talker', '-c', 'main', '--limit-bytes=7'])).stdout,
    );
    const bad = await kubectl(['logs', 'talker', '-c', 'nope']);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('container nope is not valid for pod talker');
  }, 60_000);

  it('logs -f streams what the container writes next, until kubectl is stopped', async () => {
    const lastLines = (await kubectl(['logs', 'talker', '-c', 'main', '--tail=4'])).stdout;
    const before = Math.max(...[...lastLines.matchAll(/out (\d+)/g)].map((m) => Number(m[1])));
    expect(Number.isFinite(before)).toBe(true);
    // bounded: kubectl is killed after 4 s; what it printed by then must go beyond the starting point
    const f = await kubectl(['logs', '-f', 'talker', '-c', 'main', '--tail=1'], { timeoutMs: 4000 });
    const seen = [...f.stdout.matchAll(/out (\d+)/g)].map((m) => Number(m[1]));
    expect(seen.length).toBeGreaterThan(5);
    expect(Math.max(...seen)).toBeGreaterThan(before + 5);
  }, 30_000);

  it('logs --previous shows the run before the restart', async () => {
    const status = async () =>
      (
        await c.api.request<{
          status?: { containerStatuses?: { restartCount: number; state?: { running?: unknown } }[] };
        }>('GET', '/api/v1/namespaces/default/pods/crasher')
      ).status?.containerStatuses?.[0];
    // "running" means the process started, not that it has written its line yet, and the container exits again
    // 2 s later: read both logs within one run (same restartCount before and after, running throughout) and
    // only once the current run has written, so the pair always belongs to two consecutive runs.
    let cur: Result = { stdout: '', stderr: '', code: -1 };
    let prev: Result = { stdout: '', stderr: '', code: -1 };
    await until('both logs read within one run after a restart', 60_000, async () => {
      const before = await status();
      if ((before?.restartCount ?? 0) < 1 || !before?.state?.running) return false;
      cur = await kubectl(['logs', 'crasher']);
      prev = await kubectl(['logs', 'crasher', '--previous']);
      const after = await status();
      const sameRun = after?.restartCount === before.restartCount && !!after?.state?.running;
      return sameRun && /^run /.test(cur.stdout);
    });
    expect(prev.code).toBe(0);
    expect(cur.stdout).toMatch(/^run [0-9a-f-]{36}\n$/);
    expect(prev.stdout).toMatch(/^run [0-9a-f-]{36}\n$/);
    expect(prev.stdout).not.toBe(cur.stdout);
    const none = await kubectl(['logs', 'shell', '--previous']);
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('previous terminated container "sh" in pod "shell" not found');
  }, 90_000);

  it('exec: exit codes, stdin, the pod view, a Service by its DNS name', async () => {
    const three = await kubectl(['exec', 'shell', '--', 'sh', '-c', 'echo to-out; echo to-err >&2; exit 3']);
    expect(three.code).toBe(3);
    expect(three.stdout).toBe('to-out\n');
    expect(three.stderr).toContain('to-err\n');
    expect((await kubectl(['exec', 'shell', '--', 'true'])).code).toBe(0);
    expect((await kubectl(['exec', 'shell', '--', 'no-such-command'])).code).not.toBe(0);
    const echoed = await kubectl(['exec', '-i', 'shell', '--', 'sh', '-c', 'tr a-z A-Z; echo end'], {
      input: 'hello\n',
    });
    expect(echoed).toMatchObject({ code: 0, stdout: 'HELLO\nend\n' });
    const view = await kubectl(['exec', 'shell', '--', 'sh', '-c', 'hostname; grep ^search /etc/resolv.conf']);
    expect(view.stdout).toBe('shell\nsearch default.svc.cluster.local svc.cluster.local cluster.local\n');
    // by name, through the cluster DNS and the Service
    const web = await kubectl(['exec', 'shell', '--', 'wget', '-qO-', 'http://web/hostname']);
    expect(web.code).toBe(0);
    expect(web.stdout).toMatch(/^web-/);
  }, 60_000);

  it('exec -it: a prompt, the terminal size from the start and after a resize, the exit code', async () => {
    const size = await kubectlTty(['exec', '-it', 'shell', '--', 'stty', 'size'], { cols: 101, rows: 31 }, []);
    expect(size.stdout).toContain('31 101');
    expect(size.stdout).toContain('rc=0');
    const sh = await kubectlTty(
      ['exec', '-it', 'shell', '--', 'sh'],
      { cols: 90, rows: 20 },
      ['echo sum-$((40+2))\r', 'stty size\r', '', '', 'stty size\r', 'exit 4\r'],
      { cols: 120, rows: 40 },
    );
    expect(sh.stdout).toMatch(/\/ # /);
    expect(sh.stdout).toContain('sum-42');
    const sizes = [...sh.stdout.matchAll(/^(\d+ \d+)\r?$/gm)].map((m) => m[1]);
    expect(sizes).toEqual(['20 90', '40 120']);
    expect(sh.stdout).toContain('rc=4');
  }, 60_000);

  it('kubectl run --rm -it gives a prompt (attach to a TTY container), and attach -i feeds a container stdin', async () => {
    const run = await kubectlTty(
      ['run', 'tmp', '--rm', '-it', '--restart=Never', '--image=busybox', '--', 'sh'],
      { cols: 80, rows: 24 },
      ['', '', '', 'echo attached-$((6*7))\r', 'exit\r'],
    );
    expect(run.stdout).toContain("If you don't see a command prompt");
    expect(run.stdout).toMatch(/\/ # /);
    expect(run.stdout).toContain('attached-42');
    expect(run.stdout).toContain('pod "tmp" deleted');
    expect(run.stdout).toContain('rc=0');
    await c.api.request('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'reader' },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          { name: 'r', image: 'busybox', stdin: true, command: ['sh', '-c', 'while read l; do echo "got-$l"; done'] },
        ],
      },
    });
    await running('reader');
    // attach keeps streaming after stdin ends (the container's stdin stays open): kubectl is stopped after 5 s
    const att = await kubectl(['attach', '-i', 'reader'], { input: 'one\ntwo\n', timeoutMs: 5000 });
    expect(att.stdout).toContain('got-one\ngot-two\n');
  }, 90_000);

  it.each(Object.entries(SPDY_PEERS))(
    'exec and attach over SPDY/3.1 (%s): exit codes, stdin to its end, -it with size and resize',
    async (_, peer) => {
      const mark = kubeletLogFiles();
      const three = await kubectl(['exec', 'shell', '--', 'sh', '-c', 'echo to-out; echo to-err >&2; exit 3'], {
        peer,
      });
      expect(three.code).toBe(3);
      expect(three.stdout).toBe('to-out\n');
      expect(three.stderr).toContain('to-err\n');
      expect((await kubectl(['exec', 'shell', '--', 'true'], { peer })).code).toBe(0);
      // tr only ends when its stdin does: the stdin stream's FIN is the end of input
      const echoed = await kubectl(['exec', '-i', 'shell', '--', 'sh', '-c', 'tr a-z A-Z; echo end'], {
        input: 'hello\n',
        peer,
      });
      expect(echoed).toMatchObject({ code: 0, stdout: 'HELLO\nend\n' });
      const sh = await kubectlTty(
        ['exec', '-it', 'shell', '--', 'sh'],
        { cols: 90, rows: 20 },
        ['echo sum-$((40+2))\r', 'stty size\r', '', '', 'stty size\r', 'exit 4\r'],
        { cols: 120, rows: 40 },
        peer,
      );
      expect(sh.stdout).toMatch(/\/ # /);
      expect(sh.stdout).toContain('sum-42');
      expect([...sh.stdout.matchAll(/^(\d+ \d+)\r?$/gm)].map((m) => m[1])).toEqual(['20 90', '40 120']);
      expect(sh.stdout).toContain('rc=4');
      const reader = `spdy-reader-${peer.bin.length}`;
      await createPod(reader, [
        { name: 'r', image: 'busybox', stdin: true, command: ['sh', '-c', 'while read l; do echo "got-$l"; done'] },
      ]);
      await running(reader);
      const att = await kubectl(['attach', '-i', reader], { input: 'one\ntwo\n', timeoutMs: 5000, peer });
      expect(att.stdout).toContain('got-one\ngot-two\n');
      await c.api.request('DELETE', `/api/v1/namespaces/default/pods/${reader}`);
      // every one of these went over SPDY, none over a WebSocket
      const served = kubeletLogsSince(mark)
        .split('\n')
        .filter((l) => /"msg":"(exec|attach)"/.test(l));
      expect(served.length).toBeGreaterThanOrEqual(5);
      for (const l of served) expect(l).toContain('"protocol":"SPDY/3.1 v4.channel.k8s.io"');
    },
    120_000,
  );

  it('cp copies a file into the container and back out', async () => {
    const dir = lab.tmpdir();
    writeFileSync(join(dir, 'in.txt'), 'payload from the client\n');
    const put = await kubectl(['cp', join(dir, 'in.txt'), 'default/shell:/tmp/in.txt']);
    expect(put.code).toBe(0);
    expect((await kubectl(['exec', 'shell', '--', 'cat', '/tmp/in.txt'])).stdout).toBe('payload from the client\n');
    await kubectl(['exec', 'shell', '--', 'sh', '-c', 'echo made inside > /tmp/out.txt']);
    const get = await kubectl(['cp', 'default/shell:/tmp/out.txt', join(dir, 'out.txt')]);
    expect(get.code).toBe(0);
    expect(readFileSync(join(dir, 'out.txt'), 'utf8')).toBe('made inside\n');
  }, 60_000);

  it('port-forward pod/x and svc/x LOCAL:REMOTE carry an HTTP request (WebSocket tunnel, then SPDY)', async () => {
    const [pod] = await listPods(c.api, 'app=web');
    expect(pod).toBeDefined();
    const cases: { target: string; local: number; env?: Record<string, string> }[] = [
      { target: `pod/${pod!.metadata.name}`, local: 18080 },
      { target: 'svc/web', local: 18081 },
      // the SPDY/3.1 path kubectl takes when the WebSocket tunnel is switched off (and older kubectl always)
      { target: 'svc/web', local: 18082, env: { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' } },
    ];
    for (const k of cases) {
      const remote = k.target.startsWith('svc/') ? 80 : 8080;
      const child = spawn(
        'ip',
        ['netns', 'exec', clientNs, 'kubectl', '--kubeconfig', admin, 'port-forward', k.target, `${k.local}:${remote}`],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(k.env ?? {}) } },
      );
      const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      try {
        let out = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        await until(`${k.target} forwarding`, 15_000, async () => out.includes(`Forwarding from 127.0.0.1:${k.local}`));
        for (let i = 0; i < 2; i++) {
          const body = await httpGetIn(clientNs, '127.0.0.1', k.local, '/hostname');
          expect(body, `${k.target} request ${i}`).toMatch(/^web-/);
        }
      } finally {
        clearTimeout(killer);
        child.kill('SIGKILL');
      }
    }
    expect(kubeletLogs()).toContain('port-forward (WebSocket tunnel)');
    expect(kubeletLogs()).toContain('port-forward (SPDY/3.1)');
  }, 90_000);

  it('proxy subresources: services, pods and nodes through kubectl get --raw and kubectl proxy; RBAC on them', async () => {
    const [pod] = await listPods(c.api, 'app=web');
    const raw = (path: string, kubeconfig?: string) => kubectl(['get', '--raw', path], { kubeconfig });
    const svcBase = '/api/v1/namespaces/default/services';
    // by port number (turned into the Service port's name), by port name, with the scheme; a query goes along
    for (const id of ['web:80', 'web:http', 'http:web:80'])
      expect(await raw(`${svcBase}/${id}/proxy/hostname`), id).toMatchObject({
        code: 0,
        stdout: expect.stringMatching(/^web-/),
      });
    expect((await raw(`${svcBase}/web:80/proxy/echo?msg=through-the-proxy`)).stdout).toBe('through-the-proxy');
    const podPath = `/api/v1/namespaces/default/pods/${pod!.metadata.name}:8080/proxy/hostname`;
    expect(await raw(podPath)).toMatchObject({ code: 0, stdout: pod!.metadata.name });
    // the kubelet's own API on the node, with the API server's kubelet client certificate
    expect(await raw('/api/v1/nodes/node1/proxy/healthz')).toMatchObject({ code: 0, stdout: 'ok' });
    const onNode = JSON.parse((await raw('/api/v1/nodes/node1/proxy/pods')).stdout) as {
      kind: string;
      items: { spec: { nodeName: string } }[];
    };
    expect(onNode.kind).toBe('PodList');
    expect(onNode.items.length).toBeGreaterThan(0);
    expect(onNode.items.every((p) => p.spec.nodeName === 'node1')).toBe(true);
    // the errors kube-apiserver gives
    const wrongPort = await raw(`${svcBase}/web:81/proxy/`);
    expect(wrongPort.code).toBe(1);
    expect(wrongPort.stderr).toContain('no service port 81 found for service');
    await c.api.request(
      'POST',
      '/api/v1/namespaces/default/services',
      service('nobody', 'ClusterIP', { app: 'nobody' }),
    );
    const empty = await raw(`${svcBase}/nobody:80/proxy/`);
    expect(empty.stderr).toContain('no endpoints available for service');
    // kubectl proxy: a local port in the client namespace, the API (and its proxies) behind it
    const child = spawn(
      'ip',
      ['netns', 'exec', clientNs, 'kubectl', '--kubeconfig', admin, 'proxy', '--port', '18111'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      // curl, not socat: Go's server cancels a request whose client half-closes (socat does after sending)
      const curl = (path: string) =>
        execFileP('ip', ['netns', 'exec', clientNs, 'curl', '-sS', '-m', '5', '-i', `http://127.0.0.1:18111${path}`], {
          timeout: 10_000,
        }).then((r) => r.stdout);
      const body = await until('kubectl proxy serving the Service proxy', 15_000, async () => {
        const out = await curl(`${svcBase}/web:80/proxy/hostname`);
        return out.startsWith('HTTP/1.1 200') ? out.split('\r\n\r\n')[1] : undefined;
      });
      // an empty proxied path is redirected to end in "/", as kube-apiserver does for relative links
      const redirect = await curl(`${svcBase}/web:80/proxy?x=1`);
      expect(redirect).toMatch(/^HTTP\/1\.1 301/);
      expect(redirect).toContain(`Location: ${svcBase}/web:80/proxy/?x=1`);
      expect(body).toMatch(/^web-/);
    } finally {
      clearTimeout(killer);
      child.kill('SIGKILL');
    }
    // RBAC: view has no proxy rights (edit has services/proxy and pods/proxy; nodes/proxy is the admins')
    const denied = await raw(`${svcBase}/web:80/proxy/hostname`, viewer);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toContain('cannot get resource "services/proxy"');
    expect((await raw('/api/v1/nodes/node1/proxy/healthz', viewer)).stderr).toContain(
      'cannot get resource "nodes/proxy"',
    );
  }, 90_000);

  it('RBAC on the subresources: a view user reads logs but cannot exec', async () => {
    const logs = await kubectl(['logs', 'talker', '-c', 'side'], { kubeconfig: viewer });
    expect(logs).toMatchObject({ code: 0, stdout: 'side-says-hi\n' });
    const exec = await kubectl(['exec', 'shell', '--', 'true'], { kubeconfig: viewer });
    expect(exec.code).toBe(1);
    expect(exec.stderr).toContain('cannot create resource "pods/exec"');
    const pf = await kubectl(['port-forward', 'pod/shell', '18099:80'], { kubeconfig: viewer, timeoutMs: 15_000 });
    expect(pf.code).toBe(1);
    expect(pf.stderr).toContain('cannot create resource "pods/portforward"');
  }, 30_000);
});
