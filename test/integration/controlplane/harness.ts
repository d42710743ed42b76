/**
 * Test harness for the control plane: an API server, controller-manager and scheduler as child
 * processes of the built CLI (dist/skiff.mjs) on 127.0.0.1 and a random port, state in a temp dir, and a
 * "fake kubelet" loop that plays the node side (pods Running/Ready with an IP, confirms deletions, renews
 * Leases) for Node objects that exist only in the API. Everything it starts is stopped in stop().
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { makeClients, mergePatch, type Clients } from '../../../src/client/apis.js';
import { isNotFound } from '../../../src/client/errors.js';
import { loadKubeConfig } from '../../../src/client/kubeconfig.js';
import { rawGet } from '../../../src/client/raw.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const SKIFF = join(ROOT, 'dist/skiff.mjs');

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** Poll `fn` until it returns a truthy value (bounded); the last error or value is in the failure. */
export async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 30_000,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
      last = v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`,
  );
}

class Proc {
  child: ChildProcess | undefined;
  constructor(
    readonly name: string,
    readonly args: string[],
    readonly logFile: string,
  ) {}

  start(): void {
    const log = createWriteStream(this.logFile, { flags: 'a' });
    this.child = spawn(process.execPath, [SKIFF, ...this.args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SKIFF_LOG_FORMAT: 'json', SKIFF_LOG_LEVEL: 'debug' },
    });
    this.child.stdout!.pipe(log);
    this.child.stderr!.pipe(log);
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** SIGTERM, then SIGKILL after 5 s; resolves when the process is gone. */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || !this.running) return;
    await new Promise<void>((res) => {
      const t = setTimeout(() => c.kill('SIGKILL'), 5000);
      c.once('exit', () => {
        clearTimeout(t);
        res();
      });
      c.kill('SIGTERM');
    });
  }

  tail(n = 30): string {
    try {
      return readFileSync(this.logFile, 'utf8').split('\n').slice(-n).join('\n');
    } catch {
      return '';
    }
  }
}

export interface FakeNode {
  name: string;
  /** false: the node's "kubelet" is dead: no lease renewals, no pod status, no deletions. */
  alive: boolean;
}

/**
 * The node side for API-only Nodes: creates Node + Lease, reports Ready, renews Leases, turns bound pods
 * Running/Ready (after `readyDelayMs`, to let tests observe rollouts) with an IP from the node's podCIDR,
 * and finishes graceful deletions with gracePeriodSeconds=0 as a kubelet would.
 */
export class FakeKubelets {
  readonly nodes = new Map<string, FakeNode>();
  private timer: NodeJS.Timeout | undefined;
  private leaseTimer: NodeJS.Timeout | undefined;
  private busy = false;
  private renewing = false;
  private readonly firstSeen = new Map<string, number>();
  private nextIp = new Map<string, number>();
  readyDelayMs = 0;

  constructor(readonly c: Clients) {}

  async addNode(name: string, labels: Record<string, string> = {}): Promise<void> {
    const { core, coordination } = this.c;
    await core.createNode({ body: { metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } } } });
    await this.reportReady(name);
    await coordination.createNamespacedLease({
      namespace: 'kube-node-lease',
      body: {
        metadata: { name, namespace: 'kube-node-lease' },
        spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: new Date() as never },
      },
    });
    this.nodes.set(name, { name, alive: true });
  }

  private async reportReady(name: string): Promise<void> {
    const now = new Date().toISOString();
    await this.c.core.patchNodeStatus(
      {
        name,
        body: {
          status: {
            capacity: { cpu: '4', memory: '8Gi', pods: '110' },
            allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
            addresses: [{ type: 'Hostname', address: name }],
            conditions: [
              {
                type: 'Ready',
                status: 'True',
                reason: 'KubeletReady',
                message: 'fake kubelet',
                lastHeartbeatTime: now,
                lastTransitionTime: now,
              },
            ],
          },
        },
      },
      mergePatch,
    );
  }

  start(periodMs = 250): void {
    this.timer = setInterval(() => void this.tick(), periodMs);
    // Heartbeats on their own timer, so slow pod syncs never delay them.
    this.leaseTimer = setInterval(() => void this.renewLeases(), 500);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.leaseTimer) clearInterval(this.leaseTimer);
    this.timer = this.leaseTimer = undefined;
  }

  private async renewLeases(): Promise<void> {
    if (this.renewing) return;
    this.renewing = true;
    try {
      await Promise.all(
        [...this.nodes.values()]
          .filter((n) => n.alive)
          .map((n) =>
            this.c.coordination
              .patchNamespacedLease(
                { name: n.name, namespace: 'kube-node-lease', body: { spec: { renewTime: new Date().toISOString() } } },
                mergePatch,
              )
              .catch(() => {}),
          ),
      );
    } finally {
      this.renewing = false;
    }
  }

  private async tick(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const { core } = this.c;
      const pods = (await core.listPodForAllNamespaces()).items;
      for (const p of pods) {
        const node = p.spec?.nodeName ? this.nodes.get(p.spec.nodeName) : undefined;
        if (!node?.alive) continue;
        await this.syncPod(p).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      }
    } catch {
      /* the next tick tries again */
    } finally {
      this.busy = false;
    }
  }

  private async syncPod(p: V1Pod): Promise<void> {
    const { core } = this.c;
    const ns = p.metadata!.namespace!;
    const name = p.metadata!.name!;
    if (p.metadata?.deletionTimestamp) {
      await core.deleteNamespacedPod({ name, namespace: ns, gracePeriodSeconds: 0 });
      return;
    }
    const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    if (ready && p.status?.phase === 'Running') return;
    const key = `${ns}/${name}`;
    if (!this.firstSeen.has(key)) this.firstSeen.set(key, Date.now());
    if (Date.now() - this.firstSeen.get(key)! < this.readyDelayMs) return;
    const node = await core.readNode({ name: p.spec!.nodeName! });
    const cidr = node.spec?.podCIDR;
    if (!cidr) return;
    const n = (this.nextIp.get(cidr) ?? 1) + 1;
    this.nextIp.set(cidr, n);
    const ip = p.status?.podIP ?? cidr.replace(/\.0\/24$/, `.${n}`);
    const now = new Date().toISOString();
    await core.patchNamespacedPodStatus(
      {
        name,
        namespace: ns,
        body: {
          status: {
            phase: 'Running',
            podIP: ip,
            podIPs: [{ ip }],
            conditions: [
              { type: 'PodScheduled', status: 'True', lastTransitionTime: now },
              { type: 'Initialized', status: 'True', lastTransitionTime: now },
              { type: 'ContainersReady', status: 'True', lastTransitionTime: now },
              { type: 'Ready', status: 'True', lastTransitionTime: now },
            ],
          },
        },
      },
      mergePatch,
    );
  }
}

export interface ControlPlane {
  dir: string;
  port: number;
  apiserver: Proc;
  controllerManager: Proc;
  scheduler: Proc;
  admin: KubeConfig;
  clients: Clients;
}

export async function startControlPlane(dir: string, cmFlags: string[]): Promise<ControlPlane> {
  if (!existsSync(SKIFF)) throw new Error(`${SKIFF} is missing: run \`node scripts/build.mjs\` first`);
  const port = await freePort();
  const apiserver = new Proc(
    'apiserver',
    [
      'apiserver',
      '--state-dir',
      dir,
      '--port',
      String(port),
      '--bind-address',
      '127.0.0.1',
      '--advertise-address',
      '127.0.0.1',
      '--store',
      'memory',
    ],
    join(dir, 'apiserver.log'),
  );
  apiserver.start();
  const adminFile = join(dir, 'admin.kubeconfig');
  const admin = await waitFor(
    'the API server to be ready',
    async () => {
      if (!apiserver.running) throw new Error(`apiserver exited:\n${apiserver.tail()}`);
      if (
        !existsSync(adminFile) ||
        !existsSync(join(dir, 'controller-manager.kubeconfig')) ||
        !existsSync(join(dir, 'scheduler.kubeconfig'))
      )
        return undefined;
      const kc = loadKubeConfig(adminFile);
      const r = await rawGet<unknown>(kc, '/api/v1/namespaces/kube-node-lease');
      return r ? kc : undefined;
    },
    60_000,
    200,
  );
  const controllerManager = new Proc(
    'controller-manager',
    ['controller-manager', '--kubeconfig', join(dir, 'controller-manager.kubeconfig'), ...cmFlags],
    join(dir, 'controller-manager.log'),
  );
  const scheduler = new Proc(
    'scheduler',
    [
      'scheduler',
      '--kubeconfig',
      join(dir, 'scheduler.kubeconfig'),
      '--backoff-initial',
      '200ms',
      '--backoff-max',
      '2s',
    ],
    join(dir, 'scheduler.log'),
  );
  controllerManager.start();
  scheduler.start();
  return { dir, port, apiserver, controllerManager, scheduler, admin, clients: makeClients(admin) };
}
