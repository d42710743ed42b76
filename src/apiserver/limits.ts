/**
 * Abuse limits: a per-client token bucket (429 with Retry-After), a cap on concurrent watches (overall and per
 * client), and the request body cap (enforced by fastify's bodyLimit, reported as 413).
 */
export interface LimitOptions {
  /** sustained requests per second per client */
  rate: number;
  /** bucket size: how many requests a client may burst */
  burst: number;
  maxWatches: number;
  maxWatchesPerClient: number;
  maxBodyBytes: number;
}

export const defaultLimits: LimitOptions = {
  rate: 300,
  burst: 600,
  maxWatches: 1000,
  maxWatchesPerClient: 250,
  maxBodyBytes: 3 * 1024 * 1024,
};

export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Take one token; returns 0 when allowed, otherwise the seconds to wait. */
  take(client: string): number {
    const t = this.now();
    let b = this.buckets.get(client);
    if (!b) {
      b = { tokens: this.burst, at: t };
      this.buckets.set(client, b);
      if (this.buckets.size > 10_000) this.prune(t);
    }
    b.tokens = Math.min(this.burst, b.tokens + ((t - b.at) / 1000) * this.rate);
    b.at = t;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - b.tokens) / this.rate));
  }

  private prune(t: number): void {
    for (const [k, b] of this.buckets) if (t - b.at > 60_000) this.buckets.delete(k);
  }
}

export class WatchCounter {
  private total = 0;
  private readonly perClient = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly maxPerClient: number,
  ) {}

  /** Returns a release function, or undefined when a cap is reached. */
  acquire(client: string): (() => void) | undefined {
    const n = this.perClient.get(client) ?? 0;
    if (this.total >= this.max || n >= this.maxPerClient) return undefined;
    this.total++;
    this.perClient.set(client, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total--;
      const m = (this.perClient.get(client) ?? 1) - 1;
      if (m <= 0) this.perClient.delete(client);
      else this.perClient.set(client, m);
    };
  }

  get active(): number {
    return this.total;
  }
}
