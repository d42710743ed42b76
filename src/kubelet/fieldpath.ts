import { cpus, totalmem } from 'node:os';
import { parseQuantity } from './quantity.js';
import type { Container, Pod } from './types.js';

/**
 * The downward API: what `fieldRef` and `resourceFieldRef` resolve to, shared by env[].valueFrom and
 * downwardAPI volumes. Unsupported paths are errors (never an empty value).
 */
export interface PodFacts {
  pod: Pod;
  podIPs: string[];
  hostIP: string;
}

export class DownwardError extends Error {}

export function resolveFieldRef(fieldPath: string, f: PodFacts): string {
  const m = f.pod.metadata as Pod['metadata'] & { annotations?: Record<string, string> };
  const spec = f.pod.spec as Pod['spec'] & { serviceAccountName?: string };
  const sub = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
  if (sub) return (sub[1] === 'labels' ? m.labels : m.annotations)?.[sub[2] as string] ?? '';
  const kv = (o: Record<string, string> | undefined): string =>
    Object.entries(o ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}="${v}"`)
      .join('\n');
  switch (fieldPath) {
    case 'metadata.name':
      return m.name;
    case 'metadata.namespace':
      return m.namespace;
    case 'metadata.uid':
      return m.uid;
    case 'metadata.labels':
      return kv(m.labels);
    case 'metadata.annotations':
      return kv(m.annotations);
    case 'spec.nodeName':
      return spec.nodeName ?? '';
    case 'spec.serviceAccountName':
      return spec.serviceAccountName ?? 'default';
    case 'status.hostIP':
    case 'status.hostIPs':
      return f.hostIP;
    case 'status.podIP':
      return f.podIPs[0] ?? '';
    case 'status.podIPs':
      return f.podIPs.join(',');
    default:
      throw new DownwardError(`unsupported fieldRef.fieldPath "${fieldPath}"`);
  }
}

export interface ResourceFieldRef {
  containerName?: string;
  resource: string;
  divisor?: string | number;
}

/** limits.* default to the node's capacity, requests.* to 0 (cpu rounds up to whole divisors, as Kubernetes). */
export function resolveResourceFieldRef(ref: ResourceFieldRef, pod: Pod, self: Container | undefined): string {
  const c = ref.containerName ? pod.spec.containers.find((x) => x.name === ref.containerName) : self;
  if (!c) throw new DownwardError(`resourceFieldRef: no container "${ref.containerName ?? ''}"`);
  const [kind, name] = ref.resource.split('.', 2) as [string, string | undefined];
  if (
    (kind !== 'limits' && kind !== 'requests') ||
    (name !== 'cpu' && name !== 'memory' && name !== 'ephemeral-storage')
  )
    throw new DownwardError(`unsupported resourceFieldRef.resource "${ref.resource}"`);
  const given = c.resources?.[kind]?.[name] ?? (kind === 'requests' ? c.resources?.limits?.[name] : undefined);
  const capacity = name === 'cpu' ? cpus().length : name === 'memory' ? totalmem() : 0;
  const value = given !== undefined ? parseQuantity(given) : kind === 'limits' ? capacity : 0;
  const divisor = ref.divisor !== undefined ? parseQuantity(ref.divisor) : 1;
  if (!(divisor > 0)) throw new DownwardError(`resourceFieldRef.divisor must be positive`);
  return String(Math.ceil(value / divisor));
}
