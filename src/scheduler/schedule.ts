import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { DEFAULT_FILTERS, type Filter, type NodeInfo } from './filters.js';
import { addResources, podRequests, ZERO } from './resources.js';
import { rankNodes } from './scoring.js';

export type ScheduleResult = { node: string } | { node?: undefined; message: string; reasons: Record<string, number> };

/** Pods that occupy a node: bound there and not finished. */
function occupies(p: V1Pod): boolean {
  return p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed';
}

/** NodeInfos for every node, from the pods bound to them (spec.nodeName). */
export function buildNodeInfos(nodes: V1Node[], pods: V1Pod[]): Map<string, NodeInfo> {
  const infos = new Map<string, NodeInfo>();
  for (const node of nodes) infos.set(node.metadata?.name ?? '', { node, pods: [], requested: { ...ZERO } });
  for (const p of pods) {
    const info = p.spec?.nodeName ? infos.get(p.spec.nodeName) : undefined;
    if (!info || !occupies(p)) continue;
    info.pods.push(p);
    info.requested = addResources(info.requested, podRequests(p));
  }
  return infos;
}

/** Kubernetes' FitError text: "0/3 nodes are available: 1 node(s) had untolerated taint {..}, 2 Insufficient cpu." */
export function fitErrorMessage(total: number, reasons: Record<string, number>): string {
  const parts = Object.entries(reasons)
    .map(([r, n]) => `${n} ${r}`)
    .sort();
  return `0/${total} nodes are available${parts.length ? `: ${parts.join(', ')}` : ''}.`;
}

/** Filter every node, score the feasible ones, pick the best; or explain per reason why none fits. */
export function schedulePod(
  pod: V1Pod,
  infos: Iterable<NodeInfo>,
  filters: Filter[] = DEFAULT_FILTERS,
): ScheduleResult {
  const all = [...infos];
  const feasible: NodeInfo[] = [];
  const reasons: Record<string, number> = {};
  for (const info of all) {
    const why = filters.flatMap((f) => f(pod, info));
    if (why.length === 0) feasible.push(info);
    else for (const r of new Set(why)) reasons[r] = (reasons[r] ?? 0) + 1;
  }
  if (feasible.length === 0) {
    return {
      message: all.length === 0 ? 'no nodes available to schedule pods' : fitErrorMessage(all.length, reasons),
      reasons,
    };
  }
  return { node: rankNodes(pod, feasible)[0]!.node.metadata!.name! };
}

/** The scheduler wants pods with no node, for it, not being deleted and not finished. */
export function wantsScheduling(pod: V1Pod, schedulerName = 'default-scheduler'): boolean {
  const name = pod.spec?.schedulerName || 'default-scheduler';
  return (
    !pod.spec?.nodeName &&
    name === schedulerName &&
    !pod.metadata?.deletionTimestamp &&
    pod.status?.phase !== 'Succeeded' &&
    pod.status?.phase !== 'Failed'
  );
}
