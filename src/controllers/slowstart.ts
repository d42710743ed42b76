/**
 * Upstream's slowStartBatch: creations in batches of 1, 2, 4, 8, … each batch's calls in parallel, stopping at
 * the first batch with a failure, so a quota or admission error costs one call, not `count`, while a healthy
 * scale-up reaches full parallelism after a few round trips. Returns how many calls were made.
 */
export async function slowStartBatch(count: number, fn: () => Promise<void>): Promise<number> {
  let done = 0;
  for (let size = 1; done < count; size *= 2) {
    const n = Math.min(size, count - done);
    const results = await Promise.allSettled(Array.from({ length: n }, () => fn()));
    done += n;
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }
  return done;
}
