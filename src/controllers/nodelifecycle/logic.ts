import type { V1Node, V1NodeCondition, V1Pod, V1Taint } from '@kubernetes/client-node';
import { tolerates } from '../../scheduler/filters.js';

const UNREACHABLE_TAINT_KEY = 'node.kubernetes.io/unreachable';
const STATUS_UNKNOWN_REASON = 'NodeStatusUnknown';

/**
 * Per-node heartbeat tracking on the controller's own clock (like Kubernetes' "probe timestamp"): the
 * node is healthy while its heartbeat signature (Lease renewTime, Ready lastHeartbeatTime) keeps
 * changing; it is unreachable once the signature has not changed for the grace period. Clock skew
 * between nodes and controller does not matter this way.
 */
export class HeartbeatTracker {
  private readonly seen = new Map<string, { sig: string; at: number }>();

  /** Record the current signature; returns ms since it last changed. */
  observe(node: string, sig: string, now: number): number {
    const prev = this.seen.get(node);
    if (!prev || prev.sig !== sig) {
      this.seen.set(node, { sig, at: now });
      return 0;
    }
    return now - prev.at;
  }

  forget(node: string): void {
    this.seen.delete(node);
  }

  nodes(): string[] {
    return [...this.seen.keys()];
  }
}

export function heartbeatSignature(node: V1Node, leaseRenewTime: unknown): string {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  return JSON.stringify([
    leaseRenewTime ? String(leaseRenewTime instanceof Date ? leaseRenewTime.toISOString() : leaseRenewTime) : null,
    ready?.lastHeartbeatTime ?? null,
  ]);
}

const UNREACHABLE_TAINTS: V1Taint[] = [
  { key: UNREACHABLE_TAINT_KEY, effect: 'NoSchedule' },
  { key: UNREACHABLE_TAINT_KEY, effect: 'NoExecute' },
];

/** The node's taints with (or without) the unreachable ones; undefined when nothing changes. */
export function withUnreachableTaints(node: V1Node, unreachable: boolean, now: string): V1Taint[] | undefined {
  const taints = node.spec?.taints ?? [];
  const isOurs = (t: V1Taint): boolean =>
    t.key === UNREACHABLE_TAINT_KEY && (t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  if (unreachable) {
    const missing = UNREACHABLE_TAINTS.filter((u) => !taints.some((t) => t.key === u.key && t.effect === u.effect));
    if (missing.length === 0) return undefined;
    return [
      ...taints,
      ...missing.map((t) => ({ ...t, ...(t.effect === 'NoExecute' ? { timeAdded: now as never } : {}) })),
    ];
  }
  if (!taints.some(isOurs)) return undefined;
  return taints.filter((t) => !isOurs(t));
}

/** Node conditions with Ready set to Unknown (kubelet silent) or back to True (heartbeat resumed). */
export function readyCondition(node: V1Node, unreachable: boolean, now: string): V1NodeCondition[] | undefined {
  const conds = node.status?.conditions ?? [];
  const ready = conds.find((c) => c.type === 'Ready');
  let next: V1NodeCondition;
  if (unreachable) {
    if (ready?.status === 'Unknown') return undefined;
    next = {
      type: 'Ready',
      status: 'Unknown',
      reason: STATUS_UNKNOWN_REASON,
      message: 'Kubelet stopped posting node status.',
      lastHeartbeatTime: ready?.lastHeartbeatTime,
      lastTransitionTime: now as never,
    };
  } else {
    // Only undo what this controller did; a kubelet-reported NotReady stays.
    if (!ready || ready.status !== 'Unknown' || ready.reason !== STATUS_UNKNOWN_REASON) return undefined;
    next = {
      type: 'Ready',
      status: 'True',
      reason: 'KubeletReady',
      message: 'kubelet is posting ready status',
      lastHeartbeatTime: ready.lastHeartbeatTime,
      lastTransitionTime: now as never,
    };
  }
  return [...conds.filter((c) => c.type !== 'Ready'), next];
}

/**
 * How long a pod stays on an unreachable node before eviction: its toleration of the unreachable
 * NoExecute taint decides (tolerationSeconds, or forever without it); otherwise the default timeout.
 */
export function evictionDelayMs(pod: V1Pod, defaultMs: number): number {
  const t = (pod.spec?.tolerations ?? []).find((x) =>
    tolerates(x, { key: UNREACHABLE_TAINT_KEY, effect: 'NoExecute' }),
  );
  if (!t) return defaultMs;
  if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) return Number.POSITIVE_INFINITY;
  return Math.max(0, t.tolerationSeconds * 1000);
}

/** Pod conditions with Ready False (node lost); undefined when the pod is already not ready. */
export function podNotReadyConditions(
  pod: V1Pod,
  now: string,
): V1Pod['status'] extends infer S ? (S extends { conditions?: infer C } ? C | undefined : never) : never {
  const conds = pod.status?.conditions ?? [];
  const ready = conds.find((c) => c.type === 'Ready');
  if (ready && ready.status === 'False') return undefined;
  const mark = (type: string) => ({
    type,
    status: 'False',
    reason: 'NodeNotReady',
    message: 'node is unreachable',
    lastTransitionTime: now as never,
  });
  return [
    ...conds.filter((c) => c.type !== 'Ready' && c.type !== 'ContainersReady'),
    mark('Ready'),
    ...(conds.some((c) => c.type === 'ContainersReady') ? [mark('ContainersReady')] : []),
  ];
}
