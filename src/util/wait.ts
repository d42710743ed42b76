/** A wait that ran out of time (callers that own an error type of their own convert this one). */
export class WaitTimeout extends Error {}

/**
 * Poll `fn` until it returns a value (not undefined), every `intervalMs`, for at most `timeoutMs`. A throw
 * from `fn` counts as "not yet" and is kept for the timeout message; a throw from `check` (run before each
 * try, e.g. "is the process still alive") ends the wait at once.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  fn: () => Promise<T | undefined>,
  o: { intervalMs?: number; check?: () => void } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    o.check?.();
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 300));
  }
  throw new WaitTimeout(
    `timed out after ${Math.round(timeoutMs / 1000)}s waiting for ${what}${last ? ` (last error: ${last})` : ''}`,
  );
}
