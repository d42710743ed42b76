import { describe, expect, it } from 'vitest';
import { BoundedFrequencyRunner, type RunReason } from '../../../src/util/runner.js';
import { FakeClock, settle } from '../../helpers/clock.js';

/** A runner whose runs are recorded with the fake time they started at; `hold` keeps a run open. */
function harness(opts: { minIntervalMs: number; maxIntervalMs: number; burst?: number }) {
  const clock = new FakeClock();
  const runs: { at: number; reasons: RunReason[] }[] = [];
  const errors: unknown[] = [];
  let fail = false;
  let hold: Promise<void> | undefined;
  const r = new BoundedFrequencyRunner(
    async (reasons) => {
      runs.push({ at: clock.now(), reasons: [...reasons].sort() });
      if (hold) await hold;
      if (fail) throw new Error('boom');
    },
    { name: 't', ...opts, clock, onError: (e) => errors.push(e) },
  );
  return {
    clock,
    r,
    runs,
    errors,
    failing: (v: boolean) => (fail = v),
    holding: () => {
      let release!: () => void;
      hold = new Promise((res) => (release = res));
      return () => {
        hold = undefined;
        release();
      };
    },
  };
}

describe('BoundedFrequencyRunner', () => {
  it('does nothing before start, then runs at once (a request before start is not lost)', async () => {
    const h = harness({ minIntervalMs: 1000, maxIntervalMs: 0 });
    h.r.run();
    await h.clock.advance(5000);
    expect(h.runs).toEqual([]);
    h.r.start();
    await settle();
    expect(h.runs).toEqual([{ at: 5000, reasons: ['requested'] }]);
  });

  it('runs a change after a quiet period at once, with no fixed delay', async () => {
    const h = harness({ minIntervalMs: 1000, maxIntervalMs: 0 });
    h.r.start();
    await h.clock.advance(10_000);
    h.r.run();
    await settle();
    expect(h.runs.map((x) => x.at)).toEqual([0, 10_000]);
  });

  it('lets a burst through back to back, then one run per minInterval, coalescing the rest', async () => {
    const h = harness({ minIntervalMs: 1000, maxIntervalMs: 0, burst: 2 });
    h.r.start(); // token 1 at t=0
    await settle();
    h.r.run(); // token 2 at t=0
    await settle();
    for (let i = 0; i < 50; i++) h.r.run(); // 50 requests: one run when the next token arrives
    await h.clock.advance(999);
    expect(h.runs.map((x) => x.at)).toEqual([0, 0]);
    await h.clock.advance(1);
    expect(h.runs.map((x) => x.at)).toEqual([0, 0, 1000]);
    await h.clock.advance(10_000);
    expect(h.runs).toHaveLength(3);
  });

  it('never overlaps runs; requests during a run become exactly one more', async () => {
    const h = harness({ minIntervalMs: 0, maxIntervalMs: 0 });
    const release = h.holding();
    h.r.start();
    await settle();
    for (let i = 0; i < 10; i++) h.r.run();
    await settle();
    expect(h.runs).toHaveLength(1);
    release();
    await h.r.idle();
    expect(h.runs).toHaveLength(2);
  });

  it('runs periodically maxInterval after the last run, and any run resets that deadline', async () => {
    const h = harness({ minIntervalMs: 0, maxIntervalMs: 30_000 });
    h.r.start();
    await h.clock.advance(20_000);
    h.r.run(); // t=20s
    await h.clock.advance(29_999);
    expect(h.runs.map((x) => x.at)).toEqual([0, 20_000]);
    await h.clock.advance(1);
    expect(h.runs.at(-1)).toEqual({ at: 50_000, reasons: ['periodic'] });
  });

  it('retries after a failure within the given delay, reports the error and keeps looping', async () => {
    const h = harness({ minIntervalMs: 100, maxIntervalMs: 0 });
    h.failing(true);
    h.r.start();
    await settle();
    expect(h.errors).toHaveLength(1);
    h.r.retryAfter(5000);
    h.failing(false);
    await h.clock.advance(4999);
    expect(h.runs).toHaveLength(1);
    await h.clock.advance(1);
    expect(h.runs.at(-1)).toEqual({ at: 5000, reasons: ['retry'] });
    expect(h.errors).toHaveLength(1);
  });

  it('a retry does not postpone an earlier run, and a rate-limited retry waits for its token', async () => {
    const h = harness({ minIntervalMs: 1000, maxIntervalMs: 0 });
    h.r.start();
    await settle();
    h.r.retryAfter(0); // no token until t=1000
    await h.clock.advance(999);
    expect(h.runs).toHaveLength(1);
    await h.clock.advance(1);
    expect(h.runs.at(-1)?.at).toBe(1000);
  });

  it('stop waits for the running run and ends the loop', async () => {
    const h = harness({ minIntervalMs: 0, maxIntervalMs: 1000 });
    const release = h.holding();
    h.r.start();
    await settle();
    const stopped = h.r.stop();
    release();
    await stopped;
    await h.clock.advance(10_000);
    h.r.run();
    await settle();
    expect(h.runs).toHaveLength(1);
  });
});
