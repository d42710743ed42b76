import type { Server } from 'node:http';
import type { Logger } from '../util/log.js';
import { UserError } from '../util/errors.js';
import { backendNames, backends, cleanupOtherModes, type ProxyBackend } from './backend.js';
import { HealthCheckServers } from './healthcheck.js';
import { L2Announcer } from './l2announce/announcer.js';
import { ownedLoadBalancerIPs } from './l2announce/owner.js';
import { ProxyMetrics, serveMetrics } from './metrics.js';
import { ProxyTracker } from './model/tracker.js';
import type { NodeFacts } from './model/types.js';
import { ProxyRunner } from './runner.js';

export interface ProxyConfig {
  mode: string;
  node: NodeFacts;
  /** Underlay address of this node: LoadBalancer IPs it owns are added to that interface. */
  nodeIP?: string;
  /** 0 disables the /metrics + /healthz server. */
  metricsPort: number;
  minSyncIntervalMs: number;
  fullSyncIntervalMs: number;
  /** Tests/benchmarks only: run nft in this namespace. */
  netns?: string;
  log?: Logger;
}

/**
 * A running proxy: tracker + runner + backend + health-check node ports + L2 announcement + metrics.
 * Feed `tracker` (from informers, or directly in tests), call `changed()`, and `start()` once the
 * initial lists are in.
 */
export class ProxyServer {
  readonly tracker = new ProxyTracker();
  readonly metrics = new ProxyMetrics();
  readonly runner: ProxyRunner;
  private readyNodes: string[] = [];
  private readonly health: HealthCheckServers;
  private announcer: L2Announcer | undefined;
  private metricsServer: Server | undefined;

  private constructor(
    readonly backend: ProxyBackend,
    private readonly cfg: ProxyConfig,
  ) {
    this.health = new HealthCheckServers(cfg.log);
    if (cfg.nodeIP) this.announcer = new L2Announcer(cfg.nodeIP, cfg.netns, cfg.log);
    this.runner = new ProxyRunner(this.tracker, backend, cfg.node, {
      minSyncIntervalMs: cfg.minSyncIntervalMs,
      fullSyncIntervalMs: cfg.fullSyncIntervalMs,
      log: cfg.log,
      metrics: this.metrics,
      afterSync: async (desired) => {
        await this.health.sync(desired);
        await this.announcer?.sync(ownedLoadBalancerIPs(desired, cfg.node.nodeName, this.readyNodes));
      },
    });
  }

  static async create(cfg: ProxyConfig): Promise<ProxyServer> {
    const factory = backends[cfg.mode];
    if (!factory) throw new UserError(`unknown proxy mode "${cfg.mode}" (one of: ${backendNames().join(', ')})`);
    const backend = await factory({ node: cfg.node, netns: cfg.netns, log: cfg.log });
    await cleanupOtherModes(cfg.mode, cfg.netns);
    await backend.init();
    const s = new ProxyServer(backend, cfg);
    if (cfg.metricsPort) {
      s.metricsServer = await serveMetrics(s.metrics, () => s.runner.healthy(), cfg.metricsPort);
    }
    return s;
  }

  /** Set the nodes that are Ready (LoadBalancer IP ownership); re-syncs if it changed. */
  setReadyNodes(names: readonly string[]): void {
    const sorted = [...names].sort();
    if (sorted.join(',') === this.readyNodes.join(',')) return;
    this.readyNodes = sorted;
    this.runner.requestFull();
  }

  setNodeIP(ip: string): void {
    if (this.announcer || !ip) return;
    this.announcer = new L2Announcer(ip, this.cfg.netns, this.cfg.log);
    this.runner.requestFull();
  }

  changed(): void {
    this.runner.notify();
  }

  start(): void {
    this.runner.start();
  }

  /** Stop syncing. With `cleanup`, also remove the datapath (tables, listeners, announced addresses). */
  async stop(cleanup: boolean): Promise<void> {
    await this.runner.stop();
    this.health.close();
    this.metricsServer?.close();
    if (cleanup) {
      await this.announcer?.cleanup();
      await this.backend.cleanup();
    } else await this.backend.shutdown?.();
  }
}
