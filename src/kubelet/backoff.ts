import { exponentialBackoff } from '../util/backoff.js';

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
  return exponentialBackoff(restartCount, policy);
}

/** Whether the run that just ended was long enough to forget earlier failures. */
export function resetsBackoff(ranForMs: number, policy: BackoffPolicy = defaultBackoff): boolean {
  return ranForMs >= 2 * policy.maxMs;
}

/**
 * After a run of `ranForMs` ends: the crash series the back-off counts (reset by a long enough run) and when
 * the next start may happen, if the restart policy restarts it. The container's restartCount is not part of
 * this: in Kubernetes it only ever grows, while the back-off forgets.
 */
export function afterExit(
  crashLoop: number,
  ranForMs: number,
  restarts: boolean,
  now: number,
  policy: BackoffPolicy = defaultBackoff,
): { crashLoop: number; nextStartAt?: number } {
  const series = resetsBackoff(ranForMs, policy) ? 0 : crashLoop;
  if (!restarts) return { crashLoop: series };
  return { crashLoop: series + 1, nextStartAt: now + restartDelay(series + 1, policy) };
}

/** Whether a container that exited with `exitCode` is restarted under the pod's restartPolicy. */
export function shouldRestart(policy: 'Always' | 'OnFailure' | 'Never', exitCode: number): boolean {
  if (policy === 'Always') return true;
  if (policy === 'OnFailure') return exitCode !== 0;
  return false;
}
