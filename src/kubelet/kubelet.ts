import { mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { KubeletServer } from './server/server.js';
import { join } from 'node:path';
import type { Logger } from '../util/log.js';
import { errorMessage } from '../util/errors.js';
import { delNetns, listNetns, netnsPath } from '../os/netns.js';
import { ApiClient, ApiError, isStatus } from './api.js';
import type { BackoffPolicy } from './backoff.js';
import { detectCgroups } from '../os/cgroups.js';
import { CONF_FILE, renderConflist } from './cniconf.js';
import { renderTemplateFile } from './cnitemplate.js';
import { RuntimeCniNetwork } from './cni.js';
import { type NodeObject, nodeStatus, patchNodeStatus, registerNode, renewLease } from './node.js';
import { PodWorker, type KubeletContext } from './pod.js';
import { componentEvents, type ComponentEvents } from '../events/index.js';
import { loadKubeConfig } from '../client/kubeconfig.js';
import { detectIsolation } from '../os/container.js';
import { desiredPeerRoutes, syncPeerRoutes } from './routes.js';
import { StateStore } from './state.js';
import { ImageRunner } from './images.js';
import type { DnsSettings } from './podfiles.js';
import { installPaths } from './view.js';
import { type Pod, podSchema } from './types.js';

export interface KubeletOptions {
  kubeconfig: string;
  nodeName: string;
  nodeIP: string;
  /** every InternalIP (dual stack: one per family, nodeIP first) */
  nodeIPs?: string[];
  cniConfDir: string;
  cniBinDirs: string[];
  /** the node's skiff-cnid socket, handed to plugins as SKIFF_CNI_SOCKET (skiff's plugins only use it) */
  cniSocket?: string;
  rootDir: string;
  cniCacheDir: string;
  netnsPrefix: string;
  /** which conflist to generate from the podCIDR; 'none' when something else manages the conf dir */
  cniConfMode: 'bridge' | 'vxlan' | 'none';
  subnetFile?: string;
  /** a conflist template (`skiff up --cni-conf`): rendered with this node's values instead of cniConfMode */
  cniConfTemplate?: string;
  cniVersion: string;
  clusterCIDR: string;
  podRoutes: boolean;
  maxPods: number;
  leaseSeconds: number;
  backoff: BackoffPolicy;
  imageEntry: string[];
  /** --cluster-dns, --cluster-domain, --resolv-conf */
  dns: DnsSettings;
  /** the kubelet server (--tls-cert-file, --tls-private-key-file, --client-ca-file, --port); none when unset */
  server?: { cert: string; key: string; clientCA: string; port: number };
}

/**
 * The kubelet: registers the Node, heartbeats, waits for its podCIDR (then writes the CNI config and
 * reports Ready), watches the pods bound to it and runs one PodWorker each. On start it adopts the pods
 * recorded under root-dir and, once it has the API's view, garbage-collects what no longer exists:
 * workers' pods, CNI attachments (GC with the valid ones) and stray pod namespaces with its prefix.
 */
export class Kubelet {
  private readonly api: ApiClient;
  private readonly store: StateStore;
  private readonly ctx: KubeletContext;
  private readonly events: ComponentEvents;
  private readonly workers = new Map<string, PodWorker>();
  private readonly abort = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private ready = false;
  private readySince = new Date().toISOString();
  private podCIDR: string | undefined;
  private server: KubeletServer | undefined;

  constructor(
    private readonly opts: KubeletOptions,
    private readonly log: Logger,
  ) {
    this.api = new ApiClient(opts.kubeconfig);
    this.store = new StateStore(opts.rootDir);
    this.events = componentEvents(loadKubeConfig(opts.kubeconfig), log, 'kubelet', opts.nodeName);
    this.ctx = {
      api: this.api,
      network: new RuntimeCniNetwork(opts.cniConfDir, opts.cniBinDirs, opts.cniCacheDir, { socket: opts.cniSocket }),
      store: this.store,
      nodeName: opts.nodeName,
      nodeIP: opts.nodeIP,
      netnsPrefix: opts.netnsPrefix,
      imageEntry: opts.imageEntry,
      images: new ImageRunner(opts.imageEntry, opts.rootDir),
      installPaths: installPaths(opts.imageEntry),
      dns: opts.dns,
      backoff: opts.backoff,
      cgroups: detectCgroups(),
      log,
      events: this.events.recorder,
    };
  }

  async run(): Promise<void> {
    const iso = detectIsolation();
    this.log.info(
      { isolation: iso, cgroups: this.ctx.cgroups, netnsPrefix: this.opts.netnsPrefix },
      'kubelet starting',
    );
    await this.ctx.images
      .prepare()
      .catch((err: unknown) => this.log.warn({ err: errorMessage(err) }, 'busybox applets'));
    for (const s of this.store.loadAll()) {
      this.workers.set(s.uid, new PodWorker(this.ctx, s, (uid) => this.workers.delete(uid)));
    }
    await this.startServer();
    await this.retry('register node', () => registerNode(this.api, this.facts()));
    await this.heartbeat();
    this.timers.push(setInterval(() => void this.heartbeat(), this.opts.leaseSeconds * 1000));
    await this.waitForPodCIDR();
    if (this.opts.podRoutes) {
      await this.syncRoutes();
      this.timers.push(setInterval(() => void this.syncRoutes(), 3000));
    }
    await this.podLoop();
  }

  /** The kubelet API on the node IP (server/server.ts). */
  private async startServer(): Promise<void> {
    const s = this.opts.server;
    if (!s) return;
    this.server = new KubeletServer({
      address: this.opts.nodeIP,
      port: s.port,
      cert: readFileSync(s.cert, 'utf8'),
      key: readFileSync(s.key, 'utf8'),
      clientCA: readFileSync(s.clientCA, 'utf8'),
      pods: {
        pods: () => [...this.workers.values()].flatMap((w) => (w.current ? [w.current] : [])),
        container: (namespace, pod, name) => {
          const w = this.workerFor(namespace, pod);
          if (!w) return { code: 404, message: `pod ${namespace}/${pod} not found on this node` };
          return w.served(name) ?? { code: 400, message: `container ${name} is not valid for pod ${pod}` };
        },
        sandbox: (namespace, pod) => {
          const w = this.workerFor(namespace, pod);
          if (!w || !w.state.sandboxReady)
            return { code: 404, message: `pod ${namespace}/${pod} has no sandbox on this node` };
          return { netnsPath: netnsPath(w.state.netns) };
        },
      },
      log: this.log.child({ part: 'server' }),
    });
    await this.server.start();
  }

  private workerFor(namespace: string, pod: string): PodWorker | undefined {
    return [...this.workers.values()].find(
      (x) => x.current?.metadata.namespace === namespace && x.current.metadata.name === pod,
    );
  }

  stop(): void {
    void this.server?.stop();
    this.abort.abort();
    for (const t of this.timers) clearInterval(t);
    for (const w of this.workers.values()) w.stopTimer();
    void this.events.shutdown(150);
  }

  private facts() {
    return {
      name: this.opts.nodeName,
      ip: this.opts.nodeIP,
      ips: this.opts.nodeIPs,
      maxPods: this.opts.maxPods,
      kubeletPort: this.opts.server?.port ?? 0,
    };
  }

  private async retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (this.abort.signal.aborted) throw err;
        this.log.warn({ err: errorMessage(err), attempt }, `${what} failed; retrying`);
        await sleep(Math.min(500 * attempt, 5000));
      }
    }
  }

  private async heartbeat(): Promise<NodeObject | undefined> {
    const now = new Date().toISOString();
    const readiness = this.ready
      ? { ready: true, reason: 'KubeletReady', message: 'kubelet is posting ready status' }
      : { ready: false, reason: 'NetworkNotReady', message: 'waiting for spec.podCIDR and the CNI configuration' };
    try {
      await renewLease(this.api, this.opts.nodeName, 40);
      return await patchNodeStatus(
        this.api,
        this.opts.nodeName,
        nodeStatus(this.facts(), readiness, this.readySince, now),
      );
    } catch (err) {
      if (isStatus(err, 404)) {
        // the Node object was deleted: register again
        await registerNode(this.api, this.facts()).catch(() => undefined);
      }
      this.log.warn({ err: errorMessage(err) }, 'heartbeat failed');
      return undefined;
    }
  }

  private async waitForPodCIDR(): Promise<void> {
    for (;;) {
      if (this.abort.signal.aborted) return;
      try {
        const node = await this.api.request<NodeObject>('GET', `/api/v1/nodes/${this.opts.nodeName}`);
        const cidr = node.spec?.podCIDR ?? node.spec?.podCIDRs?.[0];
        if (cidr) {
          this.podCIDR = cidr;
          this.writeCniConf(cidr, node.spec?.podCIDRs?.length ? node.spec.podCIDRs : [cidr]);
          this.ready = true;
          this.readySince = new Date().toISOString();
          this.log.info({ podCIDR: cidr }, 'node network ready');
          await this.heartbeat();
          return;
        }
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'reading own Node failed');
      }
      await sleep(500);
    }
  }

  private writeCniConf(podCIDR: string, podCIDRs: string[]): void {
    if (this.opts.cniConfTemplate) {
      const o = this.opts;
      const values = {
        podCIDR,
        clusterCIDR: o.clusterCIDR,
        nodeIP: o.nodeIP,
        nodeName: o.nodeName,
        stateDir: o.rootDir,
      };
      return renderTemplateFile(o.cniConfTemplate as string, values, join(o.cniConfDir, CONF_FILE));
    }
    if (this.opts.cniConfMode === 'none') return;
    mkdirSync(this.opts.cniConfDir, { recursive: true });
    const conf = renderConflist({
      mode: this.opts.cniConfMode,
      podCIDR,
      podCIDRs,
      clusterCIDR: this.opts.clusterCIDR,
      ipamDir: join(this.opts.rootDir, 'ipam'),
      subnetFile: this.opts.subnetFile,
      cniVersion: this.opts.cniVersion,
      cacheDir: join(this.opts.rootDir, 'cni-plugin-cache'),
    });
    const file = join(this.opts.cniConfDir, CONF_FILE);
    writeFileSync(`${file}.tmp`, JSON.stringify(conf, null, 2));
    renameSync(`${file}.tmp`, file);
  }

  private async syncRoutes(): Promise<void> {
    try {
      const list = await this.api.request<{ items: NodeObject[] }>('GET', '/api/v1/nodes');
      const nodes = list.items.map((n) => ({
        name: n.metadata.name,
        podCIDR: n.spec?.podCIDR,
        podCIDRs: n.spec?.podCIDRs,
        ips: (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address),
      }));
      await syncPeerRoutes(desiredPeerRoutes(this.opts.nodeName, nodes));
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'peer route sync failed');
    }
  }

  private podsPath(): string {
    return '/api/v1/pods';
  }

  private parsePod(obj: unknown): Pod | undefined {
    const r = podSchema.safeParse(obj);
    if (!r.success) {
      this.log.warn({ err: r.error.issues[0]?.message }, 'ignoring a pod the kubelet cannot parse');
      return undefined;
    }
    return r.data;
  }

  private apply(pod: Pod): void {
    let w = this.workers.get(pod.metadata.uid);
    if (!w) {
      w = PodWorker.fresh(this.ctx, pod, (uid) => this.workers.delete(uid));
      this.workers.set(pod.metadata.uid, w);
    }
    w.update(pod);
    w.start();
  }

  private async podLoop(): Promise<void> {
    const selector = `spec.nodeName=${this.opts.nodeName}`;
    let firstList = true;
    while (!this.abort.signal.aborted) {
      let rv: string;
      try {
        const list = await this.api.request<{ items: unknown[]; metadata: { resourceVersion: string } }>(
          'GET',
          `${this.podsPath()}?fieldSelector=${encodeURIComponent(selector)}`,
        );
        rv = list.metadata.resourceVersion;
        const seen = new Set<string>();
        for (const item of list.items) {
          const pod = this.parsePod(item);
          if (!pod) continue;
          seen.add(pod.metadata.uid);
          this.apply(pod);
        }
        for (const [uid, w] of this.workers) {
          if (!seen.has(uid)) {
            w.update(undefined);
            w.start();
          }
        }
        if (firstList) {
          firstList = false;
          await this.garbageCollect();
        }
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'pod list failed');
        await sleep(1000);
        continue;
      }
      try {
        await this.api.watch<unknown>(
          this.podsPath(),
          { fieldSelector: selector, resourceVersion: rv },
          (ev) => {
            if (ev.type === 'BOOKMARK') return;
            const pod = this.parsePod(ev.object);
            if (!pod) return;
            if (ev.type === 'DELETED') {
              this.workers.get(pod.metadata.uid)?.update(undefined);
              return;
            }
            this.apply(pod);
          },
          this.abort.signal,
        );
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 410)) {
          this.log.warn({ err: errorMessage(err) }, 'pod watch failed');
          await sleep(1000);
        }
      }
    }
  }

  /** After the first list: CNI GC with the valid attachments, and stray pod namespaces / state dirs. */
  private async garbageCollect(): Promise<void> {
    const valid = [...this.workers.values()].map((w) => ({ containerId: w.uid, ifName: 'eth0' }));
    try {
      const removed = await this.ctx.network.gc(valid);
      if (removed.length)
        this.log.info({ removed: removed.map((a) => a.containerId) }, 'CNI GC removed stale attachments');
    } catch (err) {
      this.log.warn({ err: errorMessage(err) }, 'CNI GC failed');
    }
    const ours = new Set([...this.workers.values()].map((w) => w.state.netns));
    for (const ns of listNetns()) {
      if (ns.startsWith(`${this.opts.netnsPrefix}-pod-`) && !ours.has(ns)) {
        this.log.info({ netns: ns }, 'removing stray pod namespace');
        await delNetns(ns).catch(() => undefined);
      }
    }
    const podsDir = join(this.opts.rootDir, 'pods');
    for (const uid of safeReaddir(podsDir)) {
      if (!this.workers.has(uid) && statSync(join(podsDir, uid)).isDirectory()) this.store.remove(uid);
    }
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
