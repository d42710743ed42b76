import { parseQuantity } from './quantity.js';
import type { Pod } from './types.js';

/**
 * Pure: a pod's traffic-shaping annotations as the CNI `bandwidth` capability arg, as the kubelet builds it
 * (pkg/kubelet/network bandwidth: ExtractPodBandwidthResources, then the CNI entry): rates in bit/s from
 * `kubernetes.io/ingress-bandwidth` / `kubernetes.io/egress-bandwidth` (quantities, e.g. "10M"), each
 * between 1k and 1P, and a burst of math.MaxInt32 bits, the kubelet's stand-in for "no burst limit"
 * (Kubernetes has no annotation for it).
 */
const INGRESS_ANNOTATION = 'kubernetes.io/ingress-bandwidth';
const EGRESS_ANNOTATION = 'kubernetes.io/egress-bandwidth';
export const KUBELET_BURST_BITS = 2 ** 31 - 1;

export interface BandwidthEntry {
  ingressRate?: number;
  ingressBurst?: number;
  egressRate?: number;
  egressBurst?: number;
}

/** The annotation's rate in bit/s (Quantity.Value(): rounded up), or undefined when absent. */
function rate(annotations: Record<string, unknown>, key: string): number | undefined {
  const v = annotations[key];
  if (v === undefined) return undefined;
  let bits: number;
  try {
    bits = Math.ceil(parseQuantity(String(v)));
  } catch {
    throw new Error(`failed to parse ${key} annotation ${JSON.stringify(v)}`);
  }
  if (bits < 1e3) throw new Error(`${key}: resource is unreasonably small (< 1kbit)`);
  if (bits > 1e15) throw new Error(`${key}: resource is unreasonably large (> 1Pbit)`);
  return bits;
}

/** `{ bandwidth: {...} }` for a pod with either annotation, `{}` otherwise; throws on an invalid value. */
export function bandwidthCapability(pod: Pod): { bandwidth?: BandwidthEntry } {
  const annotations = ((pod.metadata as { annotations?: Record<string, unknown> }).annotations ?? {}) as Record<
    string,
    unknown
  >;
  const ingress = rate(annotations, INGRESS_ANNOTATION);
  const egress = rate(annotations, EGRESS_ANNOTATION);
  if (ingress === undefined && egress === undefined) return {};
  return {
    bandwidth: {
      ...(ingress !== undefined ? { ingressRate: ingress, ingressBurst: KUBELET_BURST_BITS } : {}),
      ...(egress !== undefined ? { egressRate: egress, egressBurst: KUBELET_BURST_BITS } : {}),
    },
  };
}
