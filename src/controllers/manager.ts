import { readFileSync } from 'node:fs';
import { makeClients } from '../client/apis.js';
import { InformerFactory } from '../client/informers.js';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../util/log.js';
import { DeploymentController } from './deployment/controller.js';
import { EndpointSliceController } from './endpointslice/controller.js';
import { GarbageCollector } from './gc/controller.js';
import { LoadBalancerController } from './loadbalancer/controller.js';
import { AddressPools } from './loadbalancer/pool.js';
import { NodeIpamController } from './nodeipam/controller.js';
import { NodeLifecycleController } from './nodelifecycle/controller.js';
import { ReplicaSetController } from './replicaset/controller.js';
import { ServiceAccountController } from './serviceaccount/controller.js';
import { RootCaPublisher } from './rootca/controller.js';
import { componentEvents, type ComponentEvents } from '../events/index.js';
import type { Controller, ControllerContext } from './types.js';

export const ALL_CONTROLLERS = [
  'deployment',
  'replicaset',
  'garbagecollector',
  'endpointslice',
  'nodeipam',
  'nodelifecycle',
  'loadbalancer',
  'serviceaccount',
  'root-ca-cert-publisher',
] as const;
export type ControllerName = (typeof ALL_CONTROLLERS)[number];

/** The CA the controller-manager trusts for the API server: the one pods must trust too. */
function clusterCaPem(kc: KubeConfig): string | undefined {
  const c = kc.getCurrentCluster();
  if (c?.caData) return Buffer.from(c.caData, 'base64').toString('utf8');
  if (c?.caFile) return readFileSync(c.caFile, 'utf8');
  return undefined;
}

export interface ControllerManagerOptions {
  controllers: ControllerName[];
  clusterCidr: string;
  nodeCidrMaskSize: number;
  /** mask size of the IPv6 node pod CIDRs on a dual-stack or IPv6 cluster (kube: --node-cidr-mask-size-ipv6) */
  nodeCidrMaskSizeIPv6: number;
  lbPool: string;
  nodeMonitorPeriodMs: number;
  nodeMonitorGracePeriodMs: number;
  podEvictionTimeoutMs: number;
  gcPeriodMs: number;
}

export const DEFAULT_OPTIONS: ControllerManagerOptions = {
  controllers: [...ALL_CONTROLLERS],
  clusterCidr: '10.244.0.0/16',
  nodeCidrMaskSize: 24,
  nodeCidrMaskSizeIPv6: 64,
  lbPool: '198.18.0.200-198.18.0.250',
  nodeMonitorPeriodMs: 5_000,
  nodeMonitorGracePeriodMs: 40_000,
  podEvictionTimeoutMs: 60_000,
  gcPeriodMs: 10_000,
};

/**
 * The controller-manager: shared informers, every enabled controller, started once all caches have
 * synced (so no controller acts on a partial view, which is what makes a restart lose nothing).
 * Usable in-process (tests) as well as from `skiff controller-manager`.
 */
export class ControllerManager {
  private readonly informers: InformerFactory;
  private readonly controllers: Controller[] = [];
  private readonly events: ComponentEvents;
  private stopped = false;

  constructor(
    kc: KubeConfig,
    private readonly log: Logger,
    opts: Partial<ControllerManagerOptions> = {},
  ) {
    const o = { ...DEFAULT_OPTIONS, ...opts };
    // Validate the pure configuration before any network activity: bad flags fail fast.
    const pool = new AddressPools(o.lbPool);
    this.informers = new InformerFactory(kc, log);
    this.events = componentEvents(kc, log, 'kube-controller-manager');
    const ctx: ControllerContext = {
      clients: makeClients(kc),
      informers: this.informers,
      log,
      recorder: (component) => this.events.recorderFor(component),
    };
    const enabled = new Set(o.controllers);
    if (enabled.has('deployment')) this.controllers.push(new DeploymentController(ctx));
    if (enabled.has('replicaset')) this.controllers.push(new ReplicaSetController(ctx));
    if (enabled.has('garbagecollector')) this.controllers.push(new GarbageCollector(ctx, o.gcPeriodMs));
    if (enabled.has('endpointslice')) this.controllers.push(new EndpointSliceController(ctx));
    if (enabled.has('serviceaccount')) this.controllers.push(new ServiceAccountController(ctx));
    const caPem = clusterCaPem(kc);
    if (enabled.has('root-ca-cert-publisher') && caPem) this.controllers.push(new RootCaPublisher(ctx, caPem));
    if (enabled.has('nodeipam'))
      this.controllers.push(new NodeIpamController(ctx, o.clusterCidr, o.nodeCidrMaskSize, o.nodeCidrMaskSizeIPv6));
    if (enabled.has('nodelifecycle')) {
      this.controllers.push(
        new NodeLifecycleController(ctx, {
          monitorPeriodMs: o.nodeMonitorPeriodMs,
          gracePeriodMs: o.nodeMonitorGracePeriodMs,
          podEvictionTimeoutMs: o.podEvictionTimeoutMs,
        }),
      );
    }
    if (enabled.has('loadbalancer')) this.controllers.push(new LoadBalancerController(ctx, pool));
  }

  /** Starts informers, waits for every cache to sync, then starts the controllers. */
  async start(): Promise<void> {
    this.informers.start();
    await this.informers.synced();
    if (this.stopped) return;
    for (const c of this.controllers) c.start();
    this.log.info({ controllers: this.controllers.map((c) => c.name) }, 'caches synced, controllers running');
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.controllers) c.stop();
    this.informers.stop();
    void this.events.shutdown(150);
  }
}
