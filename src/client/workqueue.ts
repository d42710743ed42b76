/**
 * A work queue keyed by object ("ns/name"), in the manner of client-go's rate-limited queue:
 * - a key is queued at most once; adding it while it is being processed re-runs it afterwards;
 * - a failed key is retried after an exponential per-key delay (base · 2^failures, capped);
 * - `forget` resets the delay after a success;
 * - `addAfter` schedules a key (used for periodic checks such as "this node may have timed out").
 * Handlers are level-triggered: they read the current state from informer caches, so coalescing many
 * events into one run loses nothing. Nothing runs before `run()`: keys queued while the informers are
 * still filling their caches wait, so no handler ever acts on a partial view.
 */
export interface WorkQueueOptions {
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Concurrent workers (different keys only; one key never runs twice at once). */
  workers?: number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private running = 0;
  private started = false;
  private stopped = false;
  private readonly base: number;
  private readonly max: number;
  private readonly workers: number;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly handler: (key: string) => Promise<void>,
    private readonly onError: (key: string, err: unknown, attempt: number) => void = () => {},
    opts: WorkQueueOptions = {},
  ) {
    this.base = opts.baseDelayMs ?? 100;
    this.max = opts.maxDelayMs ?? 30_000;
    this.workers = opts.workers ?? 1;
  }

  add(key: string): void {
    if (this.stopped) return;
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    this.pump();
  }

  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    const t = setTimeout(
      () => {
        this.timers.delete(key);
        this.add(key);
      },
      Math.max(0, delayMs),
    );
    this.timers.set(key, t);
  }

  /** Re-queue after the key's current back-off delay, and grow that delay. */
  addRateLimited(key: string): number {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    const delay = Math.min(this.max, this.base * 2 ** Math.min(n, 20));
    this.addAfter(key, delay);
    return delay;
  }

  forget(key: string): void {
    this.failures.delete(key);
  }

  /** Start processing (call once the caches the handler reads have synced). */
  run(): void {
    this.started = true;
    this.pump();
  }

  get length(): number {
    return this.queue.length;
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.queue.length = 0;
    this.queued.clear();
  }

  /** Resolves when nothing is queued or running (timers pending do not count). For tests and shutdown. */
  idle(): Promise<void> {
    if (this.queue.length === 0 && this.running === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private pump(): void {
    while (this.started && !this.stopped && this.running < this.workers && this.queue.length > 0) {
      // Pick the first key not being processed (a key re-added while running waits in `dirty`).
      const key = this.queue.shift()!;
      this.queued.delete(key);
      this.processing.add(key);
      this.running++;
      void this.process(key);
    }
    if (this.queue.length === 0 && this.running === 0) {
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async process(key: string): Promise<void> {
    try {
      await this.handler(key);
      this.forget(key);
    } catch (err) {
      this.onError(key, err, this.failures.get(key) ?? 0);
      if (!this.stopped) this.addRateLimited(key);
    } finally {
      this.processing.delete(key);
      this.running--;
      if (this.dirty.delete(key)) this.add(key);
      this.pump();
    }
  }
}
