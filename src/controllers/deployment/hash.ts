import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { safeEncode } from '../objects.js';

export const POD_TEMPLATE_HASH = 'pod-template-hash';

/**
 * JSON with sorted keys and without empty values (null, undefined, {}, []), so two templates that differ
 * only in defaults the server left out, or in key order, compare and hash the same.
 */
export function canonical(v: unknown): string {
  return JSON.stringify(prune(v)) ?? 'null';
}

function prune(v: unknown): unknown {
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) {
    const arr = v.map(prune).filter((x) => x !== undefined);
    return arr.length ? arr : undefined;
  }
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const p = prune((v as Record<string, unknown>)[k]);
      if (p !== undefined) out[k] = p;
    }
    return Object.keys(out).length ? out : undefined;
  }
  if (v === null || v === undefined) return undefined;
  return v;
}

/** 32-bit FNV-1a, the hash Kubernetes uses for pod-template-hash. */
export function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  for (const byte of Buffer.from(s, 'utf8')) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The template without the pod-template-hash label and without creationTimestamp noise. */
function stripHash(t: V1PodTemplateSpec | undefined): unknown {
  const copy = JSON.parse(JSON.stringify(t ?? {})) as {
    metadata?: { labels?: Record<string, string>; creationTimestamp?: unknown };
  };
  if (copy.metadata?.labels) delete copy.metadata.labels[POD_TEMPLATE_HASH];
  if (copy.metadata) delete copy.metadata.creationTimestamp;
  return copy;
}

/** pod-template-hash value: FNV-1a of the template (plus collisionCount when set), safe-encoded. */
export function templateHash(t: V1PodTemplateSpec | undefined, collisionCount?: number): string {
  let s = canonical(stripHash(t));
  if (collisionCount) s += `#${collisionCount}`;
  return safeEncode(String(fnv32a(s)));
}

/** Kubernetes' EqualIgnoreHash: same template once the pod-template-hash label is ignored. */
export function equalIgnoreHash(a: V1PodTemplateSpec | undefined, b: V1PodTemplateSpec | undefined): boolean {
  return canonical(stripHash(a)) === canonical(stripHash(b));
}
