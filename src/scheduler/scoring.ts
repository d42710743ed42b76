import type { V1Pod } from '@kubernetes/client-node';
import { controllerRef } from '../controllers/objects.js';
import type { NodeInfo } from './filters.js';
import { nodeAllocatable, podRequests } from './resources.js';

/** Pods on the node with the same controller (ReplicaSet) as `pod`: fewer is better (spreading). */
function sameOwnerCount(pod: V1Pod, info: NodeInfo): number {
  const owner = controllerRef(pod)?.uid;
  if (!owner) return 0;
  return info.pods.filter((p) => controllerRef(p)?.uid === owner).length;
}

/**
 * Kubernetes' LeastAllocated score in [0, 100]: the mean free fraction of CPU and memory after placing
 * the pod. Resources the node does not declare count as fully free. Pods without requests count as the
 * scheduler's defaults (100m CPU, 200Mi memory) so empty pods still spread by load.
 */
function leastAllocated(pod: V1Pod, info: NodeInfo): number {
  const want = podRequests(pod);
  const alloc = nodeAllocatable(info.node);
  const cpuWant = want.milliCpu || 100;
  const memWant = want.memory || 200 * 2 ** 20;
  const score = (requested: number, capacity: number): number => {
    if (!Number.isFinite(capacity)) return 100;
    if (capacity <= 0 || requested > capacity) return 0;
    return ((capacity - requested) * 100) / capacity;
  };
  return (
    (score(info.requested.milliCpu + cpuWant, alloc.milliCpu) + score(info.requested.memory + memWant, alloc.memory)) /
    2
  );
}

/**
 * Ranks feasible nodes, best first: spread pods of one owner across nodes, then least allocated, then the
 * fewest pods, then name (deterministic).
 */
export function rankNodes(pod: V1Pod, feasible: NodeInfo[]): NodeInfo[] {
  const scored = feasible.map((info) => ({ info, spread: sameOwnerCount(pod, info), free: leastAllocated(pod, info) }));
  scored.sort(
    (a, b) =>
      a.spread - b.spread ||
      b.free - a.free ||
      a.info.pods.length - b.info.pods.length ||
      (a.info.node.metadata?.name ?? '').localeCompare(b.info.node.metadata?.name ?? ''),
  );
  return scored.map((s) => s.info);
}
