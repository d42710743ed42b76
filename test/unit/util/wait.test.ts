import { describe, expect, it } from 'vitest';
import { waitFor, WaitTimeout } from '../../../src/util/wait.js';

describe('waitFor', () => {
  it('returns the first value, treats throws as not yet, and names the last error on timeout', async () => {
    let n = 0;
    expect(await waitFor('three tries', 5000, async () => (++n >= 3 ? n : undefined), { intervalMs: 1 })).toBe(3);
    const late = waitFor(
      'never',
      50,
      async () => {
        throw new Error('still booting');
      },
      { intervalMs: 5 },
    );
    await expect(late).rejects.toBeInstanceOf(WaitTimeout);
    await expect(late).rejects.toThrow('waiting for never (last error: still booting)');
  });

  it('ends at once when the check throws', async () => {
    const dead = waitFor('a dead process', 10_000, async () => undefined, {
      check: () => {
        throw new Error('process exited');
      },
    });
    // the check's own error, not a timeout (which would take the full 10 s and say "timed out")
    await expect(dead).rejects.toThrow('process exited');
    await expect(dead).rejects.not.toBeInstanceOf(WaitTimeout);
  });
});
