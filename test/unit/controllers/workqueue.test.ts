import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../../src/client/duration.js';
import { WorkQueue } from '../../../src/client/workqueue.js';

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('WorkQueue', () => {
  it('dedups queued keys and re-runs a key added while it was processing', async () => {
    const runs: string[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const q = new WorkQueue(async (k) => {
      runs.push(k);
      if (runs.length === 1) await gate;
    });
    q.add('a');
    await new Promise((r) => setTimeout(r, 20));
    expect(runs).toEqual([]); // nothing runs before run()
    q.run();
    await until(() => runs.length === 1);
    q.add('a'); // a is running: marks it dirty
    q.add('b');
    q.add('b'); // queued once
    release();
    await until(() => runs.length >= 3);
    await q.idle();
    expect(runs.sort()).toEqual(['a', 'a', 'b']);
    q.stop();
  });

  it('retries failures with growing delays and forgets after success', async () => {
    let calls = 0;
    const errors: number[] = [];
    const q = new WorkQueue(
      async () => {
        calls++;
        if (calls < 3) throw new Error('boom');
      },
      (_k, _e, attempt) => errors.push(attempt),
      { baseDelayMs: 5, maxDelayMs: 50 },
    );
    q.run();
    q.add('x');
    await until(() => calls === 3);
    expect(errors).toEqual([0, 1]);
    expect(q.addRateLimited('x')).toBe(5); // forgotten after the success: back to the base delay
    q.stop();
  });
});

describe('parseDuration', () => {
  it('understands Go-style durations', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('40s')).toBe(40_000);
    expect(parseDuration('1m30s')).toBe(90_000);
    expect(() => parseDuration('40')).toThrow(/invalid duration/);
  });
});

describe('client error helpers', () => {
  it('retryOnConflict retries 409s only, and gives up after the attempts', async () => {
    const { retryOnConflict, describeError, isNotFound } = await import('../../../src/client/errors.js');
    let n = 0;
    await expect(
      retryOnConflict(async () => {
        if (++n < 3) throw Object.assign(new Error('conflict'), { code: 409 });
        return 'ok';
      }),
    ).resolves.toBe('ok');
    expect(n).toBe(3);
    n = 0;
    await expect(
      retryOnConflict(async () => {
        n++;
        throw Object.assign(new Error('gone'), { code: 404 });
      }),
    ).rejects.toThrow('gone');
    expect(n).toBe(1);
    await expect(
      retryOnConflict(async () => Promise.reject(Object.assign(new Error('c'), { code: 409 })), 2),
    ).rejects.toThrow('c');
    const err = Object.assign(new Error('HTTP-Code: 404\nMessage: x'), {
      code: 404,
      body: JSON.stringify({ message: 'pods "x" not found' }),
    });
    expect(describeError(err)).toBe('404: pods "x" not found');
    expect(isNotFound(err)).toBe(true);
  });
});
