/**
 * Container restart back-off as the kubelet does it: 10 s doubling to a 5 min cap, reset once a container
 * has run for twice the cap without failing. Pure: the caller supplies the clock.
 */
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

const defaultBackoff: BackoffPolicy = { baseMs: 10_000, maxMs: 300_000 };

/** Delay before restart number `restartCount + 1` (restartCount = restarts so far). */
export function restartDelay(restartCount: number, policy: BackoffPolicy = defaultBackoff): number {
  if (restartCount <= 0) return 0;
  const exp = Math.min(restartCount - 1, 30);
  return Math.min(policy.baseMs * 2 ** exp, policy.maxMs);
}

/** Whether the run that just ended was long enough to forget earlier failures. */
export function resetsBackoff(ranForMs: number, policy: BackoffPolicy = defaultBackoff): boolean {
  return ranForMs >= 2 * policy.maxMs;
}

/** Whether a container that exited with `exitCode` is restarted under the pod's restartPolicy. */
export function shouldRestart(policy: 'Always' | 'OnFailure' | 'Never', exitCode: number): boolean {
  if (policy === 'Always') return true;
  if (policy === 'OnFailure') return exitCode !== 0;
  return false;
}
