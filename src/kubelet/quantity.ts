/** Kubernetes resource quantities (the subset pods use): "500m" CPU, "128Mi" / "1G" / "1e3" memory. Pure. */
const SUFFIX: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

export function parseQuantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/.exec(q.trim());
  if (!m) throw new Error(`invalid quantity "${q}"`);
  const n = Number(m[1]);
  const s = m[2] ?? '';
  return s === 'm' ? n / 1000 : n * (SUFFIX[s] as number);
}

/** CPU quantity → millicores (rounded up, as the kubelet does). */
export function cpuMillis(q: string | number): number {
  return Math.ceil(parseQuantity(q) * 1000);
}
