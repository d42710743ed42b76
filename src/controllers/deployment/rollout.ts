/**
 * Rollout arithmetic of the Deployment controller, pure so it can be tested exhaustively. Mirrors
 * Kubernetes' deployment util: maxSurge rounds up, maxUnavailable rounds down, and both zero means one
 * pod may be unavailable (otherwise a rollout could never progress).
 */

export type IntOrPercent = number | string | undefined;

export function resolveIntOrPercent(v: IntOrPercent, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) throw new Error('value required');
  if (typeof v === 'number') {
    if (!Number.isInteger(v) || v < 0) throw new Error(`invalid value ${v}: must be a non-negative integer`);
    return v;
  }
  const m = /^(\d+)%$/.exec(v.trim());
  if (!m) {
    if (/^\d+$/.test(v.trim())) return Number(v.trim());
    throw new Error(`invalid value "${v}": must be an integer or a percentage like "25%"`);
  }
  const exact = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(exact) : Math.floor(exact);
}

export interface Fenceposts {
  maxSurge: number;
  maxUnavailable: number;
}

export function resolveFenceposts(
  replicas: number,
  maxSurge: IntOrPercent = '25%',
  maxUnavailable: IntOrPercent = '25%',
): Fenceposts {
  const surge = resolveIntOrPercent(maxSurge, replicas, true);
  let unavailable = resolveIntOrPercent(maxUnavailable, replicas, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { maxSurge: surge, maxUnavailable: Math.min(unavailable, replicas) };
}

/** What the planners need of a ReplicaSet. */
export interface RsState {
  name: string;
  /** spec.replicas */
  replicas: number;
  /** status.availableReplicas */
  available: number;
  /** creation time (ms), oldest scaled down first */
  created: number;
}

export type RolloutStep =
  { kind: 'none' } | { kind: 'scaleNew'; replicas: number } | { kind: 'scaleOld'; replicas: Record<string, number> };

const sum = (xs: RsState[], f: (r: RsState) => number): number => xs.reduce((a, r) => a + f(r), 0);

/**
 * One step of a RollingUpdate, as Kubernetes does it per sync: scale the new ReplicaSet up if the surge
 * budget allows; otherwise scale old ReplicaSets down as far as the availability budget allows (first
 * their unavailable pods, then available ones, oldest ReplicaSet first).
 */
export function planRollingStep(desired: number, f: Fenceposts, newRS: RsState, oldRSs: RsState[]): RolloutStep {
  const activeOld = oldRSs.filter((r) => r.replicas > 0);
  if (activeOld.length === 0) {
    return newRS.replicas === desired ? { kind: 'none' } : { kind: 'scaleNew', replicas: desired };
  }
  // Scale up the new ReplicaSet.
  const all = [newRS, ...oldRSs];
  const current = sum(all, (r) => r.replicas);
  const maxTotal = desired + f.maxSurge;
  if (newRS.replicas > desired) return { kind: 'scaleNew', replicas: desired };
  if (current < maxTotal && newRS.replicas < desired) {
    const up = Math.min(maxTotal - current, desired - newRS.replicas);
    return { kind: 'scaleNew', replicas: newRS.replicas + up };
  }
  // Scale down old ReplicaSets.
  const minAvailable = desired - f.maxUnavailable;
  const newUnavailable = Math.max(0, newRS.replicas - newRS.available);
  const maxScaledDown = current - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return { kind: 'none' };
  const byAge = [...activeOld].sort((a, b) => a.created - b.created || a.name.localeCompare(b.name));
  const next = new Map(byAge.map((r) => [r.name, r.replicas]));
  // 1. Unhealthy pods of old ReplicaSets cost no availability: remove them first.
  let cleaned = 0;
  for (const r of byAge) {
    if (cleaned >= maxScaledDown) break;
    const unhealthy = Math.max(0, r.replicas - r.available);
    if (unhealthy === 0) continue;
    const n = Math.min(maxScaledDown - cleaned, unhealthy);
    next.set(r.name, r.replicas - n);
    cleaned += n;
  }
  // 2. Then available pods, while the total stays at or above minAvailable.
  const availableTotal = sum(all, (r) => r.available);
  let budget = Math.min(availableTotal - minAvailable, maxScaledDown - cleaned);
  for (const r of byAge) {
    if (budget <= 0) break;
    const cur = next.get(r.name)!;
    if (cur === 0) continue;
    // Only available pods remain in `cur` after step 1 took the unhealthy ones.
    const n = Math.min(cur, budget);
    next.set(r.name, cur - n);
    budget -= n;
  }
  const changes: Record<string, number> = {};
  for (const r of byAge) if (next.get(r.name) !== r.replicas) changes[r.name] = next.get(r.name)!;
  return Object.keys(changes).length ? { kind: 'scaleOld', replicas: changes } : { kind: 'none' };
}

/** Recreate: all old pods go (and are gone) before the new ReplicaSet is scaled up. */
export function planRecreateStep(desired: number, newRS: RsState, oldRSs: RsState[], oldPodsLeft: number): RolloutStep {
  const activeOld = oldRSs.filter((r) => r.replicas > 0);
  if (activeOld.length) return { kind: 'scaleOld', replicas: Object.fromEntries(activeOld.map((r) => [r.name, 0])) };
  if (oldPodsLeft > 0) return { kind: 'none' };
  return newRS.replicas === desired ? { kind: 'none' } : { kind: 'scaleNew', replicas: desired };
}

/** Replicas a brand-new ReplicaSet starts with. */
export function initialNewReplicas(
  strategy: 'RollingUpdate' | 'Recreate',
  desired: number,
  f: Fenceposts,
  oldRSs: RsState[],
): number {
  const oldTotal = sum(oldRSs, (r) => r.replicas);
  if (strategy === 'Recreate') return oldTotal > 0 ? 0 : desired;
  if (oldTotal === 0) return desired;
  return Math.max(0, Math.min(desired, desired + f.maxSurge - oldTotal));
}
