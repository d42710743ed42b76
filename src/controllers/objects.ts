import type { V1OwnerReference, V1Pod } from '@kubernetes/client-node';

/**
 * Small readers over API objects as the server sends them (JSON): timestamps may be strings (watch/raw
 * list) or Date objects (responses of the generated clients), so everything goes through `toMillis`.
 */
export function toMillis(v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const ms = v instanceof Date ? v.getTime() : Date.parse(String(v));
  return Number.isNaN(ms) ? undefined : ms;
}

export function controllerRef(obj: {
  metadata?: { ownerReferences?: V1OwnerReference[] };
}): V1OwnerReference | undefined {
  return obj.metadata?.ownerReferences?.find((r) => r.controller === true);
}

export function isPodReady(pod: V1Pod): boolean {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
}

/**
 * Kubernetes' IsPodAvailable: ready for at least minReadySeconds (by the Ready condition's
 * lastTransitionTime). Returns 0 when available now, the ms still to wait when ready but not yet long
 * enough, and -1 when not ready.
 */
export function msUntilAvailable(pod: V1Pod, minReadySeconds: number, now: number): number {
  const c = pod.status?.conditions?.find((x) => x.type === 'Ready' && x.status === 'True');
  if (!c) return -1;
  if (minReadySeconds <= 0) return 0;
  const since = toMillis(c.lastTransitionTime);
  if (since === undefined) return 0;
  return Math.max(0, since + minReadySeconds * 1000 - now);
}

export function isPodTerminating(pod: V1Pod): boolean {
  return pod.metadata?.deletionTimestamp !== undefined && pod.metadata?.deletionTimestamp !== null;
}

/** Counts toward a ReplicaSet's replicas: not finished and not being deleted. */
export function isPodActive(pod: V1Pod): boolean {
  const phase = pod.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !isPodTerminating(pod);
}

/** Label selector (matchLabels + matchExpressions) against a label map. An empty selector matches all. */
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

export function selectorMatches(sel: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  if (!sel) return false;
  const l = labels ?? {};
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (l[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const val = l[e.key];
    switch (e.operator) {
      case 'In':
        if (!has || !(e.values ?? []).includes(val!)) return false;
        break;
      case 'NotIn':
        if (has && (e.values ?? []).includes(val!)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** A Service's selector is a plain map; an empty or missing one selects nothing (endpoints managed by hand). */
export function mapSelectorMatches(
  sel: Record<string, string> | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  if (!sel || Object.keys(sel).length === 0) return false;
  const l = labels ?? {};
  return Object.entries(sel).every(([k, v]) => l[k] === v);
}

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** Like Kubernetes' rand.String: the alphabet that avoids vowels and look-alike characters. */
export function randomSuffix(n = 5): string {
  let s = '';
  for (let i = 0; i < n; i++) s += SAFE_ALPHABET[Math.floor(Math.random() * SAFE_ALPHABET.length)];
  return s;
}

/** Like Kubernetes' rand.SafeEncodeString: map each character of a decimal string into the safe alphabet. */
export function safeEncode(s: string): string {
  let out = '';
  for (const ch of s) out += SAFE_ALPHABET[ch.charCodeAt(0) % SAFE_ALPHABET.length];
  return out;
}
