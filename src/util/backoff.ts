/**
 * Exponential back-off as the kubelet's CrashLoopBackOff and systemd's RestartSteps compute it: attempt 1
 * waits `baseMs`, each further attempt twice as long, never more than `maxMs`; attempt 0 waits nothing.
 * Shared by the kubelet (containers) and the lab supervisor (components); each keeps its own reset rule.
 */
export function exponentialBackoff(attempt: number, policy: { baseMs: number; maxMs: number }): number {
  if (attempt <= 0) return 0;
  return Math.min(policy.baseMs * 2 ** Math.min(attempt - 1, 30), policy.maxMs);
}
