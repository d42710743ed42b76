import type {
  KubeConfig,
  V1Deployment,
  V1EndpointSlice,
  V1Endpoints,
  V1Lease,
  V1Namespace,
  V1Node,
  V1Pod,
  V1ReplicaSet,
  V1Service,
  V1ServiceAccount,
} from '@kubernetes/client-node';
import type { Logger } from '../util/log.js';
import { Informer } from './informer.js';

/** Where each kind is listed and watched (all namespaces). */
export const PATHS = {
  pods: '/api/v1/pods',
  nodes: '/api/v1/nodes',
  services: '/api/v1/services',
  endpoints: '/api/v1/endpoints',
  deployments: '/apis/apps/v1/deployments',
  replicaSets: '/apis/apps/v1/replicasets',
  endpointSlices: '/apis/discovery.k8s.io/v1/endpointslices',
  nodeLeases: '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases',
  namespaces: '/api/v1/namespaces',
  serviceAccounts: '/api/v1/serviceaccounts',
} as const;

interface Kinds {
  pods: V1Pod;
  nodes: V1Node;
  services: V1Service;
  endpoints: V1Endpoints;
  deployments: V1Deployment;
  replicaSets: V1ReplicaSet;
  endpointSlices: V1EndpointSlice;
  nodeLeases: V1Lease;
  namespaces: V1Namespace;
  serviceAccounts: V1ServiceAccount;
}

/**
 * Shared informers, one per kind, made on first use so a component only watches what its controllers
 * need; every controller of a process shares the same cache (like client-go's SharedInformerFactory).
 * Call `start()` after every controller registered its handlers, then await `synced()`.
 */
export class InformerFactory {
  private readonly made = new Map<keyof Kinds, Informer<never>>();

  constructor(
    private readonly kc: KubeConfig,
    private readonly log?: Logger,
  ) {}

  get<K extends keyof Kinds>(kind: K): Informer<Kinds[K]> {
    let inf = this.made.get(kind) as Informer<Kinds[K]> | undefined;
    if (!inf) {
      inf = new Informer<Kinds[K]>(this.kc, { path: PATHS[kind], log: this.log });
      this.made.set(kind, inf as unknown as Informer<never>);
    }
    return inf;
  }

  start(): void {
    for (const inf of this.made.values()) inf.start();
  }

  async synced(): Promise<void> {
    await Promise.all([...this.made.values()].map((i) => i.synced));
  }

  stop(): void {
    for (const inf of this.made.values()) inf.stop();
  }
}
