import type { Logger } from '../util/log.js';
import { errorMessage } from '../util/errors.js';
import type { ProxyBackend, SyncStats } from './backend.js';
import type { ProxyMetrics } from './metrics.js';
import { buildDesired } from './model/desired.js';
import type { ProxyTracker } from './model/tracker.js';
import type { DesiredState, NodeFacts } from './model/types.js';
import { TRIGGER_TIME_ANNOTATION } from '../api/well-known.js';
import { BoundedFrequencyRunner, type Clock, type RunReason } from '../util/runner.js';

export interface RunnerOptions {
  /** Rate limit: one sync per this interval once the burst is used up; changes meanwhile coalesce
   * (kube-proxy: --min-sync-period). A change after a quiet period syncs at once. */
  minSyncIntervalMs: number;
  /** Rebuild everything this often, repairing drift (kube-proxy: --sync-period, 30 s). */
  fullSyncIntervalMs: number;
  /** Syncs allowed back to back before the rate applies (kube-proxy: 2). */
  burst?: number;
  /** Retry delay after a failed sync (the retry is a full sync). */
  retryMs?: number;
  clock?: Clock;
  log?: Logger;
  metrics?: ProxyMetrics;
  /** Called after each successful datapath sync (the server triggers its side effects from here). */
  afterSync?: (desired: DesiredState, stats: SyncStats) => void;
}

/**
 * Drives a backend: nothing before `start()` (called once the informers have synced), then one sync at a
 * time through a BoundedFrequencyRunner (coalescing, rate-limited with a burst), a periodic full resync and
 * a full resync after any failure.
 */
export class ProxyRunner {
  private desired: DesiredState = new Map();
  private readonly loop: BoundedFrequencyRunner;
  private needFull = true;
  /** Slice → the trigger time already measured for it. */
  private readonly programmedTriggers = new Map<string, string>();
  lastSuccess = 0;
  lastError: string | undefined;
  syncCount = 0;

  constructor(
    private readonly tracker: ProxyTracker,
    private readonly backend: ProxyBackend,
    private readonly node: NodeFacts,
    private readonly opts: RunnerOptions,
  ) {
    this.loop = new BoundedFrequencyRunner((reasons) => this.syncOnce(reasons), {
      name: 'proxy sync',
      minIntervalMs: opts.minSyncIntervalMs,
      maxIntervalMs: opts.fullSyncIntervalMs,
      burst: opts.burst ?? 2,
      clock: opts.clock,
    });
  }

  start(): void {
    this.loop.start();
  }

  /** Something changed (tracker updated, node facts changed): schedule a sync. */
  notify(): void {
    this.loop.run();
  }

  /** Force the next sync to be full (e.g. node facts changed). */
  requestFull(): void {
    this.needFull = true;
    this.loop.run();
  }

  /** The state the last sync programmed (the server's side effects read it). */
  current(): DesiredState {
    return this.desired;
  }

  /** Resolves once no change is pending and no sync is running or owed (tests and the driver use it). */
  async idle(): Promise<void> {
    for (;;) {
      await this.loop.idle();
      if (!this.needFull && !this.tracker.pending) return;
      // A failed sync owes a retry; wait for it (the loop runs it within retryMs).
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  healthy(): { ok: boolean; lastSync?: number } {
    const fresh = this.lastSuccess > 0 && Date.now() - this.lastSuccess < 2 * this.opts.fullSyncIntervalMs + 30_000;
    return { ok: fresh && !this.lastError, lastSync: this.lastSuccess || undefined };
  }

  private async syncOnce(reasons: ReadonlySet<RunReason>): Promise<void> {
    if (reasons.has('periodic')) this.needFull = true;
    const full = this.needFull;
    this.needFull = false;
    const changed = this.tracker.takeChanges();
    const t0 = process.hrtime.bigint();
    try {
      // The model is pure: a full sync repairs the kernel, it need not recompute unchanged services.
      if (this.syncCount === 0) this.desired = buildDesired(this.tracker, this.node);
      else buildDesired(this.tracker, this.node, this.desired, changed);
      const stats = await this.backend.sync(this.desired, full ? 'full' : changed);
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      this.opts.metrics?.record(stats, seconds, this.desired.size, this.desired);
      this.lastSuccess = Date.now();
      this.lastError = undefined;
      this.syncCount++;
      this.opts.log?.debug({ changed: changed.size, ms: Math.round(seconds * 1000), ...stats }, 'synced');
      this.recordProgrammingLatency(changed);
      this.opts.afterSync?.(this.desired, stats);
    } catch (err) {
      this.lastError = errorMessage(err);
      this.opts.metrics?.syncErrors.inc();
      this.opts.log?.error({ err: this.lastError, full }, 'sync failed; retrying with a full sync');
      this.needFull = true;
      this.loop.retryAfter(this.opts.retryMs ?? 1000);
    }
  }

  /**
   * Network programming latency (kube-proxy's kubeproxy_network_programming_duration_seconds): for each slice
   * of a service this sync programmed, now minus its endpoints.kubernetes.io/last-change-trigger-time, once
   * per trigger time (a later full resync of the same content is not a new change).
   */
  private recordProgrammingLatency(changed: ReadonlySet<string>): void {
    const now = Date.now();
    for (const key of changed) {
      for (const slice of this.tracker.slicesOf(key)) {
        const name = `${slice.metadata?.namespace}/${slice.metadata?.name}`;
        const at = slice.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION];
        if (!at || this.programmedTriggers.get(name) === at) continue;
        this.programmedTriggers.set(name, at);
        const t = Date.parse(at);
        if (Number.isFinite(t)) this.opts.metrics?.networkProgramming.observe(Math.max(0, now - t) / 1000);
      }
    }
    if (this.programmedTriggers.size > 4 * Math.max(1024, this.desired.size)) this.programmedTriggers.clear();
  }

  async stop(): Promise<void> {
    await this.loop.stop();
  }
}
