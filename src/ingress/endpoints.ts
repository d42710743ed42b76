/**
 * Backend addresses straight from EndpointSlices (not through the ClusterIP, as ingress-nginx does), so the
 * controller balances requests itself and keeps its upstream connections per endpoint.
 */
import { isIPv6 } from 'node:net';
import type { BackendRef } from './routes.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export type Resolved = { ok: true; targets: string[] } | { ok: false; status: number; message: string };

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export class EndpointIndex {
  private services = new Map<string, Json>();
  private slices = new Map<string, Json[]>();
  private readonly cursors = new Map<string, number>();
  private readonly resolvedCache = new Map<string, Resolved>();

  update(services: Json[], slices: Json[]): void {
    this.services = new Map(services.map((s) => [`${s.metadata.namespace}/${s.metadata.name}`, s]));
    const bySvc = new Map<string, Json[]>();
    for (const sl of slices) {
      const svc = sl.metadata.labels?.[SERVICE_NAME_LABEL];
      if (!svc) continue;
      const k = `${sl.metadata.namespace}/${svc}`;
      let l = bySvc.get(k);
      if (!l) bySvc.set(k, (l = []));
      l.push(sl);
    }
    this.slices = bySvc;
    this.resolvedCache.clear();
  }

  /** Every ready address:port of the Service port a backend names. */
  resolve(ref: BackendRef): Resolved {
    const portKey = 'number' in ref.port ? String(ref.port.number) : ref.port.name;
    const key = `${ref.namespace}/${ref.service}:${portKey}`;
    let r = this.resolvedCache.get(key);
    if (!r) {
      r = this.compute(ref);
      this.resolvedCache.set(key, r);
    }
    return r;
  }

  private compute(ref: BackendRef): Resolved {
    const name = `${ref.namespace}/${ref.service}`;
    const svc = this.services.get(name);
    if (!svc) return { ok: false, status: 503, message: `service ${name} not found` };
    const ports = (svc.spec?.ports ?? []) as Json[];
    const sp =
      'number' in ref.port
        ? ports.find((p) => p.port === (ref.port as { number: number }).number)
        : ports.find((p) => p.name === (ref.port as { name: string }).name);
    if (!sp) return { ok: false, status: 503, message: `service ${name} has no port ${JSON.stringify(ref.port)}` };
    if ((sp.protocol ?? 'TCP') !== 'TCP')
      return { ok: false, status: 503, message: `service port ${sp.port} of ${name} is not TCP` };
    const targets = new Set<string>();
    for (const sl of this.slices.get(name) ?? []) {
      if (sl.addressType !== 'IPv4' && sl.addressType !== 'IPv6') continue;
      const ep = ((sl.ports ?? []) as Json[]).find(
        (p) => (p.name ?? '') === (sp.name ?? '') && (p.protocol ?? 'TCP') === 'TCP',
      );
      if (!ep?.port) continue;
      for (const e of (sl.endpoints ?? []) as Json[]) {
        if (e.conditions?.ready === false) continue;
        for (const a of (e.addresses ?? []) as string[])
          targets.add(isIPv6(a) ? `[${a}]:${ep.port}` : `${a}:${ep.port}`);
      }
    }
    if (targets.size === 0)
      return { ok: false, status: 503, message: `no ready endpoints for service ${name} port ${sp.port}` };
    return { ok: true, targets: [...targets].sort() };
  }

  /** Round robin over a backend's ready targets, skipping the ones in `exclude` (already tried). */
  pick(ref: BackendRef, exclude: ReadonlySet<string> = new Set()): string | Resolved {
    const r = this.resolve(ref);
    if (!r.ok) return r;
    const key = `${ref.namespace}/${ref.service}`;
    const start = this.cursors.get(key) ?? 0;
    for (let i = 0; i < r.targets.length; i++) {
      const t = r.targets[(start + i) % r.targets.length]!;
      if (exclude.has(t)) continue;
      this.cursors.set(key, (start + i + 1) % r.targets.length);
      return t;
    }
    return { ok: false, status: 502, message: `every endpoint of service ${key} refused the connection` };
  }
}
