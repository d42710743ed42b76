/**
 * `skiff ingress-controller`: watches Ingresses, IngressClasses, the Gateway API kinds, Services,
 * EndpointSlices and TLS Secrets; rebuilds the routing table on every change (level-triggered, coalesced)
 * and swaps it into the data plane; writes back Ingress, GatewayClass, Gateway and HTTPRoute status.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { Informer, type ObjectLike } from '../client/informer.js';
import { RawApiError, rawRequest } from '../client/raw.js';
import { describeError } from '../client/errors.js';
import type { Logger } from '../util/log.js';
import { build, GATEWAY_GROUP, type Built, type Condition, type ControllerNames } from './build.js';
import { EndpointIndex } from './endpoints.js';
import { DataPlane, type DataPlaneState } from './proxy.js';
import { RouteTable } from './routes.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export interface IngressControllerOptions extends ControllerNames {
  kc: KubeConfig;
  log: Logger;
  host: string;
  /** "namespace/name" of the Service in front of the controller: its LoadBalancer address is reported */
  publishService?: string;
  /** coalescing window for bursts of changes */
  debounceMs?: number;
}

const PATHS = {
  ingressClasses: '/apis/networking.k8s.io/v1/ingressclasses',
  ingresses: '/apis/networking.k8s.io/v1/ingresses',
  gatewayClasses: `/apis/${GATEWAY_GROUP}/v1/gatewayclasses`,
  gateways: `/apis/${GATEWAY_GROUP}/v1/gateways`,
  httpRoutes: `/apis/${GATEWAY_GROUP}/v1/httproutes`,
  services: '/api/v1/services',
  endpointSlices: '/apis/discovery.k8s.io/v1/endpointslices',
  namespaces: '/api/v1/namespaces',
  secrets: '/api/v1/secrets',
} as const;
type Kind = keyof typeof PATHS;

const MERGE = 'application/merge-patch+json';

function sameConditions(a: Json[] | undefined, b: Condition[]): boolean {
  if ((a ?? []).length !== b.length) return false;
  return b.every((c) => {
    const o = (a ?? []).find((x: Json) => x.type === c.type);
    return (
      o &&
      o.status === c.status &&
      o.reason === c.reason &&
      o.message === c.message &&
      o.observedGeneration === c.observedGeneration
    );
  });
}

/** Conditions with lastTransitionTime kept when the status did not change (the API convention). */
function stamp(old: Json[] | undefined, next: Condition[], now: string): Json[] {
  return next.map((c) => {
    const o = (old ?? []).find((x: Json) => x.type === c.type);
    return { ...c, lastTransitionTime: o && o.status === c.status ? o.lastTransitionTime : now };
  });
}

export class IngressController {
  private readonly informers = new Map<Kind, Informer<ObjectLike>>();
  private readonly endpoints = new EndpointIndex();
  private state: DataPlaneState = { table: new RouteTable([]), endpoints: this.endpoints };
  readonly dataPlane: DataPlane;
  private timer: NodeJS.Timeout | undefined;
  private statusBusy = false;
  private statusAgain = false;
  private stopped = false;
  /** the last routing table built: tests and logs read it */
  last: Built | undefined;
  syncs = 0;

  constructor(
    private readonly o: IngressControllerOptions,
    ports: { http: number; https: number },
  ) {
    this.dataPlane = new DataPlane(() => this.state, {
      host: o.host,
      httpPort: ports.http,
      httpsPort: ports.https,
      log: o.log,
    });
    for (const k of Object.keys(PATHS) as Kind[]) {
      const inf = new Informer<ObjectLike>(o.kc, { path: PATHS[k], log: o.log });
      inf.on(() => this.schedule());
      this.informers.set(k, inf);
    }
  }

  private list(k: Kind): Json[] {
    return this.informers.get(k)!.list() as Json[];
  }

  async start(): Promise<void> {
    await this.dataPlane.start();
    for (const inf of this.informers.values()) inf.start();
    // Certificates may arrive later (an API server without Secrets keeps retrying): routes do not wait.
    await Promise.all([...this.informers].filter(([k]) => k !== 'secrets').map(([, i]) => i.synced));
    this.rebuild();
    this.o.log.info(
      { http: this.dataPlane.ports.http, https: this.dataPlane.ports.https },
      'ingress controller serving',
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const inf of this.informers.values()) inf.stop();
    await this.dataPlane.stop();
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.rebuild();
    }, this.o.debounceMs ?? 20);
  }

  /** Rebuild routes, endpoints and certificates from the caches, then reconcile statuses. */
  rebuild(): void {
    const built = build(
      {
        ingressClasses: this.list('ingressClasses'),
        ingresses: this.list('ingresses'),
        gatewayClasses: this.list('gatewayClasses'),
        gateways: this.list('gateways'),
        httpRoutes: this.list('httpRoutes'),
        services: this.list('services'),
        namespaces: this.list('namespaces'),
      },
      this.o,
    );
    this.endpoints.update(this.list('services'), this.list('endpointSlices'));
    this.loadCerts(built);
    this.state = { table: built.table, endpoints: this.endpoints };
    this.last = built;
    this.syncs++;
    void this.reconcileStatus();
  }

  private loadCerts(built: Built): void {
    const byHost = new Map<string, { cert: string; key: string }>();
    let fallback: { cert: string; key: string } | undefined;
    const secrets = this.list('secrets');
    for (const c of built.certs) {
      const s = secrets.find((x) => x.metadata.namespace === c.namespace && x.metadata.name === c.secret);
      const crt = s?.data?.['tls.crt'];
      const key = s?.data?.['tls.key'];
      if (!crt || !key) {
        this.o.log.warn({ secret: `${c.namespace}/${c.secret}` }, 'TLS secret missing or without tls.crt/tls.key');
        continue;
      }
      const pair = {
        cert: Buffer.from(crt, 'base64').toString('utf8'),
        key: Buffer.from(key, 'base64').toString('utf8'),
      };
      if (c.hosts.length === 0) fallback ??= pair;
      for (const h of c.hosts) if (!byHost.has(h)) byHost.set(h, pair);
    }
    try {
      this.dataPlane.certs.set(byHost, fallback);
    } catch (err) {
      this.o.log.warn({ err: describeError(err) }, 'a TLS secret does not hold a usable key pair');
    }
  }

  /** Our own addresses: the publish Service's LoadBalancer ingress points. */
  private addresses(): { ip?: string; hostname?: string }[] {
    if (!this.o.publishService) return [];
    const [ns, name] = this.o.publishService.split('/');
    const svc = this.list('services').find((s) => s.metadata.namespace === ns && s.metadata.name === name);
    return ((svc?.status?.loadBalancer?.ingress ?? []) as Json[]).map((i) =>
      i.ip ? { ip: i.ip } : { hostname: i.hostname },
    );
  }

  private async patchStatus(path: string, status: unknown): Promise<void> {
    try {
      await rawRequest(this.o.kc, 'PATCH', `${path}/status`, { contentType: MERGE, value: { status } });
    } catch (err) {
      if (err instanceof RawApiError && err.code === 404) return; // deleted meanwhile
      this.o.log.warn({ path, err: describeError(err) }, 'status update failed; retried on the next change');
    }
  }

  /** One status pass at a time; a change during a pass triggers one more. */
  private async reconcileStatus(): Promise<void> {
    if (this.statusBusy) {
      this.statusAgain = true;
      return;
    }
    this.statusBusy = true;
    try {
      do {
        this.statusAgain = false;
        await this.writeStatuses(this.last!);
      } while (this.statusAgain && !this.stopped);
    } finally {
      this.statusBusy = false;
    }
  }

  private async writeStatuses(b: Built): Promise<void> {
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    const addrs = this.addresses();
    for (const key of b.servedIngresses) {
      const [ns, name] = key.split('/');
      const ing = this.informers.get('ingresses')!.get(key) as Json;
      const want = addrs.map((a) => ({ ...a }));
      if (JSON.stringify(ing?.status?.loadBalancer?.ingress ?? []) === JSON.stringify(want)) continue;
      await this.patchStatus(`${PATHS.ingresses.replace('/ingresses', '')}/namespaces/${ns}/ingresses/${name}`, {
        loadBalancer: { ingress: want.length ? want : null },
      });
    }
    for (const name of b.acceptedClasses) {
      const gc = this.informers.get('gatewayClasses')!.get(name) as Json;
      const want: Condition[] = [
        {
          type: 'Accepted',
          status: 'True',
          reason: 'Accepted',
          message: 'Handled by skiff',
          observedGeneration: gc?.metadata.generation,
        },
      ];
      if (!gc || sameConditions(gc.status?.conditions, want)) continue;
      await this.patchStatus(`${PATHS.gatewayClasses}/${name}`, {
        conditions: stamp(gc.status?.conditions, want, now),
      });
    }
    for (const g of b.gateways) {
      const gw = this.informers.get('gateways')!.get(g.key) as Json;
      if (!gw) continue;
      const gen = gw.metadata.generation;
      const conditions: Condition[] = [
        ...g.conditions,
        addrs.length
          ? {
              type: 'Programmed',
              status: 'True',
              reason: 'Programmed',
              message: 'Programmed by skiff',
              observedGeneration: gen,
            }
          : {
              type: 'Programmed',
              status: 'False',
              reason: 'AddressNotAssigned',
              message: 'the ingress Service has no LoadBalancer address yet',
              observedGeneration: gen,
            },
      ];
      const addresses = addrs.map((a) =>
        a.ip ? { type: 'IPAddress', value: a.ip } : { type: 'Hostname', value: a.hostname },
      );
      const listenersSame =
        JSON.stringify((gw.status?.listeners ?? []).map((l: Json) => [l.name, l.attachedRoutes, l.supportedKinds])) ===
          JSON.stringify(g.listeners.map((l) => [l.name, l.attachedRoutes, l.supportedKinds])) &&
        g.listeners.every((l) =>
          sameConditions((gw.status?.listeners ?? []).find((x: Json) => x.name === l.name)?.conditions, l.conditions),
        );
      if (
        sameConditions(gw.status?.conditions, conditions) &&
        listenersSame &&
        JSON.stringify(gw.status?.addresses ?? []) === JSON.stringify(addresses)
      )
        continue;
      const [ns, name] = g.key.split('/');
      await this.patchStatus(`/apis/${GATEWAY_GROUP}/v1/namespaces/${ns}/gateways/${name}`, {
        conditions: stamp(gw.status?.conditions, conditions, now),
        addresses: addresses.length ? addresses : null,
        listeners: g.listeners.map((l) => ({
          ...l,
          conditions: stamp(
            (gw.status?.listeners ?? []).find((x: Json) => x.name === l.name)?.conditions,
            l.conditions,
            now,
          ),
        })),
      });
    }
    for (const [key, parents] of b.routeParents) {
      const hr = this.informers.get('httpRoutes')!.get(key) as Json;
      if (!hr) continue;
      const theirs = ((hr.status?.parents ?? []) as Json[]).filter(
        (p) => p.controllerName !== this.o.gatewayController,
      );
      const old = ((hr.status?.parents ?? []) as Json[]).filter((p) => p.controllerName === this.o.gatewayController);
      const same =
        old.length === parents.length &&
        parents.every(
          (p, i) =>
            JSON.stringify(old[i]?.parentRef) === JSON.stringify(p.parentRef) &&
            sameConditions(old[i]?.conditions, p.conditions),
        );
      if (same) continue;
      const [ns, name] = key.split('/');
      await this.patchStatus(`/apis/${GATEWAY_GROUP}/v1/namespaces/${ns}/httproutes/${name}`, {
        parents: [
          ...theirs,
          ...parents.map((p, i) => ({
            parentRef: p.parentRef,
            controllerName: this.o.gatewayController,
            conditions: stamp(old[i]?.conditions, p.conditions, now),
          })),
        ],
      });
    }
  }
}
