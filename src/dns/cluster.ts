import type { KubeConfig, V1EndpointSlice, V1Namespace, V1Pod, V1Service } from '@kubernetes/client-node';
import { Informer } from '../client/informer.js';
import { PATHS } from '../client/informers.js';
import type { Logger } from '../util/log.js';
import { Zone } from './zone.js';

/**
 * The DNS server's view of the cluster: informers on Services, EndpointSlices, Pods and Namespaces (all it
 * needs: list/watch on those four). Any change marks the zone stale; the next query rebuilds it, so a new
 * Service resolves as soon as its watch event arrives and a deleted one stops at once.
 */
export class ClusterZone {
  private readonly services: Informer<V1Service>;
  private readonly slices: Informer<V1EndpointSlice>;
  private readonly pods: Informer<V1Pod>;
  private readonly namespaces: Informer<V1Namespace>;
  private current: Zone | undefined;

  constructor(
    kc: KubeConfig,
    private readonly domain: string,
    private readonly ttl: number,
    log?: Logger,
  ) {
    this.services = new Informer(kc, { path: PATHS.services, log });
    this.slices = new Informer(kc, { path: PATHS.endpointSlices, log });
    this.pods = new Informer(kc, { path: PATHS.pods, log });
    this.namespaces = new Informer(kc, { path: '/api/v1/namespaces', log });
    const stale = (): void => {
      this.current = undefined;
    };
    this.services.on(stale);
    this.slices.on(stale);
    this.pods.on(stale);
    this.namespaces.on(stale);
  }

  start(): void {
    for (const inf of this.all()) inf.start();
  }

  stop(): void {
    for (const inf of this.all()) inf.stop();
  }

  get synced(): boolean {
    return this.all().every((i) => i.hasSynced);
  }

  async waitSynced(): Promise<void> {
    await Promise.all(this.all().map((i) => i.synced));
  }

  zone(): Zone {
    this.current ??= new Zone(this.domain, this.ttl, {
      services: this.services.list(),
      endpointSlices: this.slices.list(),
      pods: this.pods.list(),
      namespaces: this.namespaces.list(),
    });
    return this.current;
  }

  private all(): { start(): void; stop(): void; hasSynced: boolean; synced: Promise<void> }[] {
    return [this.services, this.slices, this.pods, this.namespaces];
  }
}
