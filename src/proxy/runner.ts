import type { Logger } from '../util/log.js';
import { errorMessage } from '../util/errors.js';
import type { ProxyBackend, SyncStats } from './backend.js';
import type { ProxyMetrics } from './metrics.js';
import { buildDesired } from './model/desired.js';
import type { ProxyTracker } from './model/tracker.js';
import type { DesiredState, NodeFacts } from './model/types.js';

export interface RunnerOptions {
  /** Never sync more often than this; changes arriving meanwhile coalesce into one sync (kube-proxy: 1 s). */
  minSyncIntervalMs: number;
  /** Rebuild everything this often, repairing drift (kube-proxy: 30 s). */
  fullSyncIntervalMs: number;
  /** Retry delay after a failed sync (the retry is a full sync). */
  retryMs?: number;
  log?: Logger;
  metrics?: ProxyMetrics;
  /** Called after each successful sync (health-check servers, L2 announcement). */
  afterSync?: (desired: DesiredState, stats: SyncStats) => Promise<void>;
}

/**
 * Drives a backend: nothing before `start()` (called once the informers have synced), then one sync at a
 * time, coalescing changes, rate-limited, with a periodic full resync and a full resync after any failure.
 */
export class ProxyRunner {
  private desired: DesiredState = new Map();
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private fullTimer: NodeJS.Timeout | undefined;
  private needFull = true;
  private started = false;
  private stopped = false;
  private lastAttempt = 0;
  private waiters: (() => void)[] = [];
  lastSuccess = 0;
  lastError: string | undefined;
  syncCount = 0;

  constructor(
    private readonly tracker: ProxyTracker,
    private readonly backend: ProxyBackend,
    private readonly node: NodeFacts,
    private readonly opts: RunnerOptions,
  ) {}

  start(): void {
    this.started = true;
    this.fullTimer = setInterval(() => {
      this.needFull = true;
      this.notify();
    }, this.opts.fullSyncIntervalMs);
    this.fullTimer.unref();
    this.notify();
  }

  /** Something changed (tracker updated, node facts changed): schedule a sync. */
  notify(): void {
    if (!this.started || this.stopped || this.timer || this.running) return;
    const wait = Math.max(0, this.lastAttempt + this.opts.minSyncIntervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.syncOnce().finally(() => {
        this.running = undefined;
        if (this.needFull || this.tracker.pending) this.notify();
        else for (const w of this.waiters.splice(0)) w();
      });
    }, wait);
  }

  /** Force the next sync to be full (e.g. node facts changed). */
  requestFull(): void {
    this.needFull = true;
    this.notify();
  }

  /** Resolves once no change is pending and no sync is running (tests and the driver use it). */
  idle(): Promise<void> {
    if (!this.running && !this.timer && !this.needFull && !this.tracker.pending) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  healthy(): { ok: boolean; lastSync?: number } {
    const fresh = this.lastSuccess > 0 && Date.now() - this.lastSuccess < 2 * this.opts.fullSyncIntervalMs + 30_000;
    return { ok: fresh && !this.lastError, lastSync: this.lastSuccess || undefined };
  }

  private async syncOnce(): Promise<void> {
    this.lastAttempt = Date.now();
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
      this.opts.metrics?.record(stats, seconds, this.desired.size);
      this.lastSuccess = Date.now();
      this.lastError = undefined;
      this.syncCount++;
      this.opts.log?.debug({ changed: changed.size, ms: Math.round(seconds * 1000), ...stats }, 'synced');
      await this.opts.afterSync?.(this.desired, stats);
    } catch (err) {
      this.lastError = errorMessage(err);
      this.opts.metrics?.syncErrors.inc();
      this.opts.log?.error({ err: this.lastError, full }, 'sync failed; retrying with a full sync');
      this.needFull = true;
      const retry = setTimeout(() => this.notify(), this.opts.retryMs ?? 1000);
      retry.unref();
      // Hold the loop until the retry fires, so notify() is not re-entered at once by the finally block.
      this.lastAttempt = Date.now() + (this.opts.retryMs ?? 1000) - this.opts.minSyncIntervalMs;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.fullTimer) clearInterval(this.fullTimer);
    await this.running;
  }
}
