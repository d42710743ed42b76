/**
 * Kubelet integration harness: a real `skiff apiserver` in a control-plane namespace, reached from the
 * test process through the lab's loopback forwarder (no root-namespace routes), and kubelets started as
 * real processes inside node namespaces joined to it by a veth underlay.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { run } from '../../../src/os/exec.js';
import { ApiClient } from '../../../src/kubelet/api.js';
import { freeLoopbackPort } from '../../../src/lab/forwarder.js';
import { type LabProcess } from '../../../src/lab/state.js';
import { alive, startProcess, stopProcess } from '../../../src/lab/supervisor.js';
import type { Lab } from '../../helpers/lab.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const SKIFF = join(ROOT, 'dist', 'skiff.mjs');
const CP_IP = '198.18.0.1';

export async function waitUntil<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  procs: LabProcess[] = [],
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    for (const p of procs) {
      if (!alive(p))
        throw new Error(`${p.name} exited while waiting for ${what}:\n${readFileSync(p.log, 'utf8').slice(-2000)}`);
    }
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v as T;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export class Harness {
  readonly procs: LabProcess[] = [];
  readonly dir: string;
  cpNs = '';
  underlay = '';
  api!: ApiClient;
  private nextNode = 1;

  constructor(private readonly lab: Lab) {
    this.dir = lab.tmpdir();
    lab.onCleanup(async () => {
      for (const p of [...this.procs].reverse()) await stopProcess(p, 2000);
    });
  }

  start(name: string, argv: string[], netns?: string, env?: Record<string, string>): LabProcess {
    const p = startProcess(name, argv, { netns, log: join(this.dir, 'logs', `${name}.log`), env });
    this.procs.push(p);
    return p;
  }

  log(name: string): string {
    try {
      return readFileSync(join(this.dir, 'logs', `${name}.log`), 'utf8');
    } catch {
      return '';
    }
  }

  /** underlay bridge namespace + control-plane namespace with the API server and the forwarder */
  async startControlPlane(): Promise<void> {
    if (!existsSync(SKIFF)) throw new Error(`${SKIFF} missing: run \`node scripts/build.mjs\` first`);
    this.underlay = await this.lab.netns('ul');
    await run(['ip', '-n', this.underlay, 'link', 'add', 'br0', 'type', 'bridge']);
    await run(['ip', '-n', this.underlay, 'link', 'set', 'br0', 'up']);
    this.cpNs = await this.attach('cp', CP_IP);
    const cpDir = join(this.dir, 'cp');
    const apiserver = this.start(
      'apiserver',
      [
        process.execPath,
        SKIFF,
        'apiserver',
        '--state-dir',
        cpDir,
        '--port',
        '6443',
        '--bind-address',
        '0.0.0.0',
        '--advertise-address',
        CP_IP,
        '--store',
        'memory',
      ],
      this.cpNs,
    );
    const sock = join(this.dir, 'api.sock');
    const port = await freeLoopbackPort();
    this.start('fwd-cp', ['socat', `UNIX-LISTEN:${sock},fork,unlink-early,mode=600`, `TCP:${CP_IP}:6443`], this.cpNs);
    this.start('fwd-host', ['socat', `TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `UNIX-CONNECT:${sock}`]);
    const admin = join(cpDir, 'admin.kubeconfig');
    await waitUntil('admin.kubeconfig', 60_000, () => existsSync(admin), [apiserver]);
    const kc = parseYaml(readFileSync(admin, 'utf8')) as { clusters: { cluster: Record<string, unknown> }[] };
    for (const c of kc.clusters) {
      c.cluster.server = `https://127.0.0.1:${port}`;
      c.cluster['tls-server-name'] = CP_IP;
    }
    const local = join(this.dir, 'admin-local.kubeconfig');
    writeFileSync(local, toYaml(kc));
    this.api = new ApiClient(local);
    await waitUntil(
      'API server ready',
      60_000,
      async () => {
        await this.api.request('GET', '/api/v1/namespaces/default');
        return true;
      },
      [apiserver],
    );
    // Pods run as their namespace's `default` ServiceAccount with the cluster CA mounted (the ServiceAccount
    // admission): start the two controllers that provide both, as every cluster runs them.
    const kcm = this.start(
      'controller-manager',
      [
        process.execPath,
        SKIFF,
        'controller-manager',
        '--kubeconfig',
        join(cpDir, 'controller-manager.kubeconfig'),
        '--controllers',
        'serviceaccount,root-ca-cert-publisher',
      ],
      this.cpNs,
    );
    await waitUntil(
      'the default ServiceAccount and kube-root-ca.crt',
      60_000,
      async () => {
        await this.api.request('GET', '/api/v1/namespaces/default/serviceaccounts/default');
        await this.api.request('GET', '/api/v1/namespaces/default/configmaps/kube-root-ca.crt');
        return true;
      },
      [apiserver, kcm],
    );
  }

  async attach(role: string, ip: string): Promise<string> {
    const ns = await this.lab.netns(role);
    await run([
      'ip',
      '-n',
      this.underlay,
      'link',
      'add',
      `v-${role}`.slice(0, 15),
      'type',
      'veth',
      'peer',
      'name',
      'eth0',
      'netns',
      ns,
    ]);
    await run(['ip', '-n', this.underlay, 'link', 'set', `v-${role}`.slice(0, 15), 'master', 'br0', 'up']);
    await run(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    await run(['ip', '-n', ns, 'link', 'set', 'eth0', 'up']);
    return ns;
  }

  /** A node namespace with a running kubelet (reference CNI plugins, short back-off and lease). */
  async startNode(
    name: string,
    extra: string[] = [],
  ): Promise<{ ns: string; ip: string; root: string; proc: LabProcess; argv: string[] }> {
    const ip = `198.18.0.${10 + this.nextNode++}`;
    const ns = await this.attach(name, ip);
    await run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv4.ip_forward=1']);
    const nodeDir = join(this.dir, name);
    const kubeconfig = join(nodeDir, 'kubelet.kubeconfig');
    await run([
      process.execPath,
      SKIFF,
      'apiserver',
      'issue-kubeconfig',
      '--state-dir',
      join(this.dir, 'cp'),
      '--user',
      `system:node:${name}`,
      '--group',
      'system:nodes',
      '--server',
      `https://${CP_IP}:6443`,
      '--out',
      kubeconfig,
    ]);
    const argv = [
      process.execPath,
      SKIFF,
      'kubelet',
      '--kubeconfig',
      kubeconfig,
      '--node-name',
      name,
      '--node-ip',
      ip,
      '--root-dir',
      join(nodeDir, 'kubelet'),
      '--cni-conf-dir',
      join(nodeDir, 'net.d'),
      '--cni-cache-dir',
      join(nodeDir, 'cni-cache'),
      '--cni-bin-dir',
      '/usr/lib/cni',
      '--backoff-base-ms',
      '500',
      '--backoff-max-ms',
      '2000',
      '--lease-seconds',
      '2',
      ...extra,
    ];
    const proc = this.start(`kubelet-${name}`, argv, ns);
    return { ns, ip, root: join(nodeDir, 'kubelet'), proc, argv };
  }

  /** Give a registered node its podCIDR (the controller-manager's job) and wait until it reports Ready. */
  async makeReady(name: string, podCIDR: string, proc: LabProcess): Promise<void> {
    await waitUntil('Node registered', 30_000, () => this.api.request('GET', `/api/v1/nodes/${name}`), [proc]);
    await this.api.request(
      'PATCH',
      `/api/v1/nodes/${name}`,
      { spec: { podCIDR, podCIDRs: [podCIDR] } },
      'application/merge-patch+json',
    );
    await waitUntil(
      'Node Ready',
      30_000,
      async () => {
        const x = await this.api.request<{ status?: { conditions?: { type: string; status: string }[] } }>(
          'GET',
          `/api/v1/nodes/${name}`,
        );
        return x.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
      },
      [proc],
    );
  }
}
