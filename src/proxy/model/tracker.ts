import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';

/** The label an EndpointSlice carries to name its Service (discovery.k8s.io). */
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

function objKey(ns: string | undefined, name: string | undefined): string {
  return `${ns ?? 'default'}/${name ?? ''}`;
}

export function serviceKey(svc: V1Service): string {
  return objKey(svc.metadata?.namespace, svc.metadata?.name);
}

/** The Service an EndpointSlice belongs to, or undefined if it carries no service-name label. */
function sliceServiceKey(slice: V1EndpointSlice): string | undefined {
  const name = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  return name ? objKey(slice.metadata?.namespace, name) : undefined;
}

/**
 * Service and EndpointSlice change tracker (kube-proxy's ServiceChangeTracker + EndpointsChangeTracker in
 * one): keeps the current objects and the set of service keys touched since the last `takeChanges()`, so a
 * sync recomputes only those services. Pure: the informers feed it, the runner drains it.
 */
export class ProxyTracker {
  private readonly services = new Map<string, V1Service>();
  /** service key → slice name → slice */
  private readonly slices = new Map<string, Map<string, V1EndpointSlice>>();
  /** slice "ns/name" → service key, so a slice relabelled to another service dirties both. */
  private readonly sliceOwner = new Map<string, string>();
  private dirty = new Set<string>();
  /** For kube-proxy's change metrics: services dirtied by a Service / by an EndpointSlice change. */
  private dirtyBy = { services: new Set<string>(), endpoints: new Set<string>() };
  readonly changesTotal = { services: 0, endpoints: 0 };

  get pendingBy(): { services: number; endpoints: number } {
    return { services: this.dirtyBy.services.size, endpoints: this.dirtyBy.endpoints.size };
  }

  private markService(key: string): void {
    this.dirty.add(key);
    this.dirtyBy.services.add(key);
    this.changesTotal.services++;
  }

  private markEndpoints(key: string): void {
    this.dirty.add(key);
    this.dirtyBy.endpoints.add(key);
    this.changesTotal.endpoints++;
  }

  updateService(svc: V1Service): void {
    const key = serviceKey(svc);
    const old = this.services.get(key);
    this.services.set(key, svc);
    if (
      !old ||
      JSON.stringify(old.spec) !== JSON.stringify(svc.spec) ||
      JSON.stringify(old.status) !== JSON.stringify(svc.status)
    ) {
      this.markService(key);
    }
  }

  deleteService(svc: V1Service): void {
    const key = serviceKey(svc);
    if (this.services.delete(key)) this.markService(key);
  }

  updateSlice(slice: V1EndpointSlice): void {
    const sliceKey = objKey(slice.metadata?.namespace, slice.metadata?.name);
    const prevOwner = this.sliceOwner.get(sliceKey);
    const owner = sliceServiceKey(slice);
    if (prevOwner && prevOwner !== owner) this.removeSlice(sliceKey, prevOwner);
    if (!owner) return;
    let bySvc = this.slices.get(owner);
    if (!bySvc) this.slices.set(owner, (bySvc = new Map()));
    const old = bySvc.get(sliceKey);
    bySvc.set(sliceKey, slice);
    this.sliceOwner.set(sliceKey, owner);
    if (
      !old ||
      JSON.stringify(old.endpoints) !== JSON.stringify(slice.endpoints) ||
      JSON.stringify(old.ports) !== JSON.stringify(slice.ports)
    ) {
      this.markEndpoints(owner);
    }
  }

  deleteSlice(slice: V1EndpointSlice): void {
    const sliceKey = objKey(slice.metadata?.namespace, slice.metadata?.name);
    const owner = this.sliceOwner.get(sliceKey) ?? sliceServiceKey(slice);
    if (owner) this.removeSlice(sliceKey, owner);
  }

  private removeSlice(sliceKey: string, owner: string): void {
    const bySvc = this.slices.get(owner);
    if (bySvc?.delete(sliceKey)) this.markEndpoints(owner);
    if (bySvc && bySvc.size === 0) this.slices.delete(owner);
    this.sliceOwner.delete(sliceKey);
  }

  /** Mark every service dirty (e.g. node facts changed). */
  touchAll(): void {
    for (const k of this.services.keys()) this.dirty.add(k);
  }

  get pending(): number {
    return this.dirty.size;
  }

  takeChanges(): Set<string> {
    const d = this.dirty;
    this.dirty = new Set();
    this.dirtyBy = { services: new Set(), endpoints: new Set() };
    return d;
  }

  service(key: string): V1Service | undefined {
    return this.services.get(key);
  }

  slicesOf(key: string): V1EndpointSlice[] {
    return [...(this.slices.get(key)?.values() ?? [])];
  }

  serviceKeys(): string[] {
    return [...this.services.keys()];
  }
}
