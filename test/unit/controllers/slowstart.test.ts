import { describe, expect, it } from 'vitest';
import { slowStartBatch } from '../../../src/controllers/slowstart.js';

/** Records how many calls were in flight together, batch by batch. */
function tracker(failAt?: number) {
  let inFlight = 0;
  let calls = 0;
  const batches: number[] = [];
  let current = 0;
  const fn = async (): Promise<void> => {
    const me = ++calls;
    inFlight++;
    current = Math.max(current, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    inFlight--;
    if (inFlight === 0) {
      batches.push(current);
      current = 0;
    }
    if (me === failAt) throw new Error(`call ${me} failed`);
  };
  return { fn, batches, calls: () => calls };
}

describe('slowStartBatch', () => {
  it('runs 1, 2, 4, 8, … calls in parallel, the last batch cut to what is left', async () => {
    const t = tracker();
    expect(await slowStartBatch(20, t.fn)).toBe(20);
    expect(t.batches).toEqual([1, 2, 4, 8, 5]);
  });

  it('stops after the first batch with a failure, finishing that batch', async () => {
    const t = tracker(5); // the third call of batch 3 (calls 4-7)
    await expect(slowStartBatch(100, t.fn)).rejects.toThrow('call 5 failed');
    expect(t.calls()).toBe(7);
    expect(t.batches).toEqual([1, 2, 4]);
  });

  it('does nothing for 0', async () => {
    const t = tracker();
    expect(await slowStartBatch(0, t.fn)).toBe(0);
    expect(t.calls()).toBe(0);
  });
});
