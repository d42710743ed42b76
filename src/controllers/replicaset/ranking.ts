import type { V1Pod } from '@kubernetes/client-node';
import { isPodReady, toMillis } from '../objects.js';

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

function readySince(pod: V1Pod): number {
  const c = pod.status?.conditions?.find((x) => x.type === 'Ready' && x.status === 'True');
  return toMillis(c?.lastTransitionTime) ?? 0;
}

function restarts(pod: V1Pod): number {
  return (pod.status?.containerStatuses ?? []).reduce((a, c) => Math.max(a, c.restartCount ?? 0), 0);
}

/**
 * Kubernetes' order for choosing pods to delete on scale-down (ActivePods "less"): the cheapest to lose
 * first: unscheduled < scheduled, Pending < Unknown < Running, not ready < ready, ready for less time,
 * more restarts, newer. Returns a new array; ties break on name for determinism.
 */
export function rankPodsForDeletion(pods: V1Pod[]): V1Pod[] {
  return [...pods].sort((a, b) => {
    const assignedA = a.spec?.nodeName ? 1 : 0;
    const assignedB = b.spec?.nodeName ? 1 : 0;
    if (assignedA !== assignedB) return assignedA - assignedB;
    const pa = PHASE_RANK[a.status?.phase ?? 'Pending'] ?? 0;
    const pb = PHASE_RANK[b.status?.phase ?? 'Pending'] ?? 0;
    if (pa !== pb) return pa - pb;
    const ra = isPodReady(a) ? 1 : 0;
    const rb = isPodReady(b) ? 1 : 0;
    if (ra !== rb) return ra - rb;
    if (ra && rb) {
      const ta = readySince(a);
      const tb = readySince(b);
      if (ta !== tb) return tb - ta; // ready more recently goes first
    }
    const ca = restarts(a);
    const cb = restarts(b);
    if (ca !== cb) return cb - ca;
    const na = toMillis(a.metadata?.creationTimestamp) ?? 0;
    const nb = toMillis(b.metadata?.creationTimestamp) ?? 0;
    if (na !== nb) return nb - na; // newer first
    return (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '');
  });
}
