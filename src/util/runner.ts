/**
 * One bounded-frequency runner for every sync loop (the proxy's datapath and its side effects, the VXLAN agent,
 * the kubelet's pod workers), in the shape of Kubernetes' pkg/util/async BoundedFrequencyRunner:
 *
 * - `run()` asks for a run as soon as the rate allows. Runs never overlap; requests made while one runs
 *   coalesce into exactly one more.
 * - The rate is a token bucket of `burst` tokens refilled one per `minIntervalMs`: after a quiet period a
 *   change runs at once (no fixed delay), a burst of changes coalesces into at most `burst` back-to-back runs
 *   and then one run per `minIntervalMs`.
 * - Every `maxIntervalMs` after the last run, a periodic run happens anyway (resync, drift repair).
 * - `retryAfter(ms)` schedules a run no later than ms from now (after a failure), still within the rate.
 * - The clock is injectable, so unit tests step time instead of sleeping.
 */
export type RunReason = 'requested' | 'periodic' | 'retry';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface BoundedRunnerOptions {
  /** Names the loop in errors. */
  name: string;
  /** One token per this interval; 0 = no rate limit. */
  minIntervalMs: number;
  /** Periodic run this long after the last one; 0 or Infinity = none. */
  maxIntervalMs: number;
  /** Runs allowed back to back before the rate applies (kube-proxy: 2). */
  burst?: number;
  clock?: Clock;
  /** A run threw (the runner itself never does); the loop goes on. */
  onError?: (err: unknown, reasons: ReadonlySet<RunReason>) => void;
}

export class BoundedFrequencyRunner {
  private readonly clock: Clock;
  private readonly burst: number;
  private tokens: number;
  private refilledAt: number;
  private timer: unknown;
  private timerAt = Infinity;
  private timerReason: RunReason = 'periodic';
  private readonly pending = new Set<RunReason>();
  private running: Promise<void> | undefined;
  private started = false;
  private stopped = false;
  private waiters: (() => void)[] = [];
  /** Completed runs (tests and status). */
  runs = 0;

  constructor(
    private readonly fn: (reasons: ReadonlySet<RunReason>) => Promise<void>,
    private readonly opts: BoundedRunnerOptions,
  ) {
    this.clock = opts.clock ?? realClock;
    this.burst = Math.max(1, opts.burst ?? 1);
    this.tokens = this.burst;
    this.refilledAt = this.clock.now();
  }

  /** Begin: the first run happens at once; `run()` before `start()` is remembered, not lost. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.request('requested');
  }

  /** Ask for a run as soon as the rate allows. */
  run(): void {
    this.request('requested');
  }

  /** Make sure a run happens within ms (after a failure); an earlier scheduled run is kept. */
  retryAfter(ms: number): void {
    if (this.stopped) return;
    this.schedule(this.clock.now() + ms, 'retry');
  }

  /** Resolves once no run is running or requested (a scheduled periodic or retry run does not count). */
  idle(): Promise<void> {
    if (!this.busy()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Whether a run is running or requested. */
  busy(): boolean {
    return Boolean(this.running) || this.pending.size > 0;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancelTimer();
    this.pending.clear();
    await this.running;
    for (const w of this.waiters.splice(0)) w();
  }

  private request(reason: RunReason): void {
    if (this.stopped) return;
    this.pending.add(reason);
    this.tryRun();
  }

  private refill(now: number): void {
    if (this.opts.minIntervalMs <= 0) {
      this.tokens = this.burst;
    } else {
      this.tokens = Math.min(this.burst, this.tokens + (now - this.refilledAt) / this.opts.minIntervalMs);
    }
    this.refilledAt = now;
  }

  private tryRun(): void {
    if (!this.started || this.stopped || this.running || this.pending.size === 0) return;
    const now = this.clock.now();
    this.refill(now);
    if (this.tokens < 1) {
      this.schedule(now + (1 - this.tokens) * this.opts.minIntervalMs, 'requested');
      return;
    }
    this.tokens -= 1;
    const reasons = new Set(this.pending);
    this.pending.clear();
    this.cancelTimer();
    this.running = this.execute(reasons);
  }

  private async execute(reasons: ReadonlySet<RunReason>): Promise<void> {
    try {
      await this.fn(reasons);
    } catch (err) {
      this.opts.onError?.(err, reasons);
    } finally {
      this.runs++;
      this.running = undefined;
      const max = this.opts.maxIntervalMs;
      if (!this.stopped && max > 0 && Number.isFinite(max)) this.schedule(this.clock.now() + max, 'periodic');
      if (this.pending.size > 0) this.tryRun();
      else for (const w of this.waiters.splice(0)) w();
    }
  }

  /** One timer: the earliest wanted moment wins (a later request never postpones an earlier one). */
  private schedule(at: number, reason: RunReason): void {
    if (this.timer !== undefined && this.timerAt <= at) return;
    this.cancelTimer();
    this.timerAt = at;
    this.timerReason = reason;
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Infinity;
        this.request(this.timerReason);
      },
      Math.max(0, at - this.clock.now()),
    );
  }

  private cancelTimer(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}
