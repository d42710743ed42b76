import type { Server } from 'node:http';
import type { Logger } from '../util/log.js';
import { UserError } from '../util/errors.js';
import { backendNames, backends, cleanupOtherModes, type BackendOptions, type ProxyBackend } from './backend.js';
import { HealthCheckServers } from './healthcheck.js';
import { L2Announcer } from './l2announce/announcer.js';
import type { Membership } from './l2announce/membership.js';
import { ownedLoadBalancerIPs } from './l2announce/owner.js';
import { ProxyMetrics, serveMetrics } from './metrics.js';
import { ProxyTracker } from './model/tracker.js';
import type { NodeFacts } from './model/types.js';
import { resolveNodePortIPs, type NodePortAddresses } from './nodeports.js';
import { ProxyRunner } from './runner.js';
import { BoundedFrequencyRunner, type Clock } from '../util/runner.js';
import { errorMessage } from '../util/errors.js';

export interface ProxyConfig {
  mode: string;
  node: NodeFacts;
  /** Underlay address of this node: LoadBalancer IPs it owns are added to that interface. */
  nodeIP?: string;
  /** The node's IPs of every family (the primary among them): `primary` NodePort addresses. */
  nodeIPs?: string[];
  /** 0 disables the /metrics + /healthz server. */
  metricsPort: number;
  /** kube-proxy's --healthz-bind-address port (10256): /healthz and /livez; 0 or unset disables. */
  healthzPort?: number;
  minSyncIntervalMs: number;
  fullSyncIntervalMs: number;
  /** --nodeport-addresses (default primary). */
  nodePortAddresses?: NodePortAddresses;
  /** Tests/benchmarks only: run nft in this namespace. */
  netns?: string;
  log?: Logger;
  /** Tests: step time instead of waiting. */
  clock?: Clock;
  /** Benchmarks: nftables mode's kernel seam (see BackendOptions.nftDriver). */
  nftDriver?: BackendOptions['nftDriver'];
  /** L2 announcer membership (live nodes' leases). Without it, the Ready nodes are the candidates. */
  membership?: Membership;
}

/** The side effects of a sync that are not the datapath: health-check node ports and L2 announcement. */
export interface SideEffects {
  health: Pick<HealthCheckServers, 'sync' | 'close'>;
  announcer?: Pick<L2Announcer, 'sync' | 'cleanup'>;
}

/**
 * A running proxy: tracker + runner + backend + health-check node ports + L2 announcement + metrics.
 * Feed `tracker` (from informers, or directly in tests), call `changed()`, and `start()` once the
 * initial lists are in. The datapath and its side effects run in two loops: a datapath sync triggers the
 * side effects, but a node-readiness change (LoadBalancer IP ownership) or a new node IP only re-runs the side
 * effects, and their failures are retried on their own, not counted as datapath sync failures.
 */
export class ProxyServer {
  readonly tracker = new ProxyTracker();
  readonly metrics = new ProxyMetrics();
  readonly runner: ProxyRunner;
  /** Health-check servers and L2 announcement, after each datapath sync and on ownership changes. */
  readonly sideEffects: BoundedFrequencyRunner;
  /** Failed side-effect runs (each retried); the datapath's own failures are metrics.syncErrors. */
  sideEffectErrors = 0;
  private readyNodes: string[] = [];
  private metricsServer: Server | undefined;
  private healthzServer: Server | undefined;

  constructor(
    readonly backend: ProxyBackend,
    private readonly cfg: ProxyConfig,
    private readonly side: SideEffects = {
      health: new HealthCheckServers(cfg.log),
      announcer: cfg.nodeIP ? new L2Announcer(cfg.nodeIP, cfg.netns, cfg.log) : undefined,
    },
  ) {
    this.metrics.attach(this.tracker);
    this.runner = new ProxyRunner(this.tracker, backend, cfg.node, {
      minSyncIntervalMs: cfg.minSyncIntervalMs,
      fullSyncIntervalMs: cfg.fullSyncIntervalMs,
      clock: cfg.clock,
      log: cfg.log,
      metrics: this.metrics,
      afterSync: () => this.sideEffects.run(),
    });
    this.sideEffects = new BoundedFrequencyRunner(() => this.applySideEffects(), {
      name: 'proxy side effects',
      minIntervalMs: 0,
      maxIntervalMs: 0,
      clock: cfg.clock,
      onError: (err) => {
        this.sideEffectErrors++;
        cfg.log?.warn({ err: errorMessage(err) }, 'health-check servers / L2 announcement failed; retrying');
        this.sideEffects.retryAfter(1000);
      },
    });
  }

  private async applySideEffects(): Promise<void> {
    if (this.runner.syncCount === 0) return; // nothing programmed yet: announcing would attract traffic too early
    const desired = this.runner.current();
    await this.side.health.sync(desired);
    const members = this.cfg.membership ? this.cfg.membership.live() : this.readyNodes;
    await this.side.announcer?.sync(ownedLoadBalancerIPs(desired, this.cfg.node.nodeName, members));
  }

  static async create(cfg: ProxyConfig): Promise<ProxyServer> {
    const factory = backends[cfg.mode];
    if (!factory) throw new UserError(`unknown proxy mode "${cfg.mode}" (one of: ${backendNames().join(', ')})`);
    const backend = await factory({ node: cfg.node, netns: cfg.netns, log: cfg.log, nftDriver: cfg.nftDriver });
    await cleanupOtherModes(cfg.mode, cfg.netns);
    await backend.init();
    const s = new ProxyServer(backend, cfg);
    cfg.membership?.onChange(() => s.sideEffects.run());
    await s.resolveNodePorts(cfg.nodeIPs ?? (cfg.nodeIP ? [cfg.nodeIP] : []));
    if (cfg.metricsPort) {
      s.metricsServer = await serveMetrics(s.metrics, () => s.runner.healthy(), cfg.metricsPort);
    }
    if (cfg.healthzPort) {
      s.healthzServer = await serveMetrics(s.metrics, () => s.runner.healthy(), cfg.healthzPort);
    }
    return s;
  }

  /** Set the nodes that are Ready (LoadBalancer IP candidates without membership); re-syncs if it changed. */
  setReadyNodes(names: readonly string[]): void {
    const sorted = [...names].sort();
    if (sorted.join(',') === this.readyNodes.join(',')) return;
    this.readyNodes = sorted;
    this.sideEffects.run();
  }

  /** This node's pod CIDRs (NodeCIDR local traffic detection). Renders are cached per service, so this is
   * taken once, before the first sync, and not changed afterwards (a Node's podCIDRs are immutable). */
  setNodePodCIDRs(cidrs: readonly string[]): void {
    if (this.cfg.node.nodePodCIDR || this.runner.syncCount > 0) return;
    this.cfg.node.nodePodCIDR = cidrs.join(',');
  }

  /** The node's primary IP and its IPs of every family (the Node's InternalIPs), once known. */
  setNodeIP(ip: string, all: readonly string[] = [ip]): void {
    if (this.side.announcer || !ip) return;
    this.side.announcer = new L2Announcer(ip, this.cfg.netns, this.cfg.log);
    this.sideEffects.run();
    // The node IPs are the primary NodePort addresses: the datapath changes too.
    void this.resolveNodePorts(all).finally(() => this.runner.requestFull());
  }

  /** Resolve --nodeport-addresses into the node facts the backends read (a full sync applies it). */
  private async resolveNodePorts(nodeIPs: readonly string[]): Promise<void> {
    try {
      this.cfg.node.nodePortIPs = await resolveNodePortIPs(
        this.cfg.nodePortAddresses ?? 'primary',
        nodeIPs,
        this.cfg.netns,
      );
    } catch (err) {
      this.cfg.log?.warn(
        { err: String(err) },
        'cannot resolve --nodeport-addresses; NodePorts answer on every local address',
      );
      this.cfg.node.nodePortIPs = undefined;
    }
  }

  changed(): void {
    this.metrics.queued();
    this.runner.notify();
  }

  start(): void {
    this.runner.start();
    this.sideEffects.start();
    this.cfg.membership?.start();
  }

  /** Resolves once the datapath and its side effects have caught up. */
  async idle(): Promise<void> {
    await this.runner.idle();
    await this.sideEffects.idle();
  }

  /** Stop syncing. With `cleanup`, also remove the datapath (tables, listeners, announced addresses). */
  async stop(cleanup: boolean): Promise<void> {
    await this.runner.stop();
    await this.sideEffects.stop();
    this.side.health.close();
    this.metricsServer?.close();
    this.healthzServer?.close();
    // Leaving the announcer membership hands this node's LoadBalancer IPs over at once (MetalLB's speaker
    // leaving memberlist) instead of after the lease runs out; the addresses go with it.
    const left = this.cfg.membership ? (await this.cfg.membership.stop(), true) : false;
    if (cleanup || left) await this.side.announcer?.cleanup();
    if (cleanup) await this.backend.cleanup();
    else await this.backend.shutdown?.();
  }
}
