import type {
  V1Node,
  V1NodeSelectorRequirement,
  V1NodeSelectorTerm,
  V1Pod,
  V1Taint,
  V1Toleration,
} from '@kubernetes/client-node';
import { nodeAllocatable, podRequests, type Resources } from './resources.js';

/** A node with what is already placed on it (bound pods plus pods this scheduler just assumed there). */
export interface NodeInfo {
  node: V1Node;
  pods: V1Pod[];
  requested: Resources;
}

/** A filter returns the reasons the pod cannot go on the node (empty: it fits). */
export type Filter = (pod: V1Pod, info: NodeInfo) => string[];

function isNodeReady(node: V1Node): boolean {
  return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

const nodeReady: Filter = (_pod, { node }) => (isNodeReady(node) ? [] : ['node(s) were not ready']);

const nodeUnschedulable: Filter = (pod, { node }) => {
  if (!node.spec?.unschedulable) return [];
  const tolerated = (pod.spec?.tolerations ?? []).some((t) =>
    tolerates(t, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }),
  );
  return tolerated ? [] : ['node(s) were unschedulable'];
};

/** A pod created with spec.nodeName set by the user can only run there (the scheduler skips such pods, but
 * the check keeps the filter set complete for callers that evaluate a node for a pod). */
const nodeName: Filter = (pod, { node }) =>
  pod.spec?.nodeName && pod.spec.nodeName !== node.metadata?.name
    ? ["node(s) didn't match the requested node name"]
    : [];

function requirementMatches(r: V1NodeSelectorRequirement, values: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(values, r.key);
  const v = values[r.key];
  const list = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return has && list.includes(v!);
    case 'NotIn':
      return !has || !list.includes(v!);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (!has || list.length !== 1) return false;
      const a = Number(v);
      const b = Number(list[0]);
      if (!Number.isInteger(a) || !Number.isInteger(b)) return false;
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** One nodeSelectorTerm: all its expressions and fields must match; an empty term matches nothing. */
export function termMatches(term: V1NodeSelectorTerm, node: V1Node): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  const labels = node.metadata?.labels ?? {};
  const nodeFields = { 'metadata.name': node.metadata?.name ?? '' };
  return exprs.every((r) => requirementMatches(r, labels)) && fields.every((r) => requirementMatches(r, nodeFields));
}

const nodeAffinity: Filter = (pod, { node }) => {
  const labels = node.metadata?.labels ?? {};
  const sel = pod.spec?.nodeSelector ?? {};
  const selOk = Object.entries(sel).every(([k, v]) => labels[k] === v);
  const terms = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  const affOk = !terms || terms.length === 0 || terms.some((t) => termMatches(t, node));
  return selOk && affOk ? [] : ["node(s) didn't match Pod's node affinity/selector"];
};

/** Kubernetes' Toleration.ToleratesTaint. */
export function tolerates(t: V1Toleration, taint: Pick<V1Taint, 'key' | 'value' | 'effect'>): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (!t.key && t.operator !== 'Exists') return false;
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

const taintToleration: Filter = (pod, { node }) => {
  const tolerations = pod.spec?.tolerations ?? [];
  const bad = (node.spec?.taints ?? []).find(
    (taint) =>
      (taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') && !tolerations.some((t) => tolerates(t, taint)),
  );
  return bad ? [`node(s) had untolerated taint {${bad.key}: ${bad.value ?? ''}}`] : [];
};

const resourcesFit: Filter = (pod, { node, requested }) => {
  const want = podRequests(pod);
  const alloc = nodeAllocatable(node);
  const reasons: string[] = [];
  if (requested.pods + 1 > alloc.pods) reasons.push('Too many pods');
  if (want.milliCpu > 0 && requested.milliCpu + want.milliCpu > alloc.milliCpu) reasons.push('Insufficient cpu');
  if (want.memory > 0 && requested.memory + want.memory > alloc.memory) reasons.push('Insufficient memory');
  return reasons;
};

/** In the order Kubernetes runs them; every filter runs so the failure message lists every reason. */
export const DEFAULT_FILTERS: Filter[] = [
  nodeReady,
  nodeUnschedulable,
  nodeName,
  nodeAffinity,
  taintToleration,
  resourcesFit,
];
