import type { V1Service } from '@kubernetes/client-node';
import { mergePatch } from '../../client/apis.js';
import { isNotFound } from '../../client/errors.js';
import { keyOf } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { refTo, type EventRecorder } from '../../events/index.js';
import { logSyncError, type Controller, type ControllerContext } from '../types.js';
import { AddressPool } from './pool.js';

const ingressIps = (svc: V1Service | undefined): string[] =>
  (svc?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((x): x is string => !!x);

/**
 * Services of type LoadBalancer get status.loadBalancer.ingress[0].ip from the pool (spec.loadBalancerIP
 * when it is in the pool and free). The used set is the pool addresses found in Services' status, so a
 * deleted Service or one that changed type frees its address and restarts never duplicate one. Events as
 * MetalLB's controller records them (IPAllocated, AllocationFailed) and, for a Service that stopped being a
 * LoadBalancer, as the service controller does (DeletingLoadBalancer, DeletedLoadBalancer).
 */
export class LoadBalancerController implements Controller {
  readonly name = 'loadbalancer';
  private readonly queue: WorkQueue;
  /** service key → address written but not yet observed. */
  private readonly inFlight = new Map<string, string>();
  private readonly metallb: EventRecorder;
  private readonly serviceController: EventRecorder;

  constructor(
    private readonly ctx: ControllerContext,
    readonly pool: AddressPool,
  ) {
    const log = ctx.log.child({ controller: this.name });
    this.metallb = ctx.recorder('metallb-controller');
    this.serviceController = ctx.recorder('service-controller');
    this.queue = new WorkQueue(
      (key) => this.sync(key),
      (key, err) => logSyncError(log, key, err),
    );
    ctx.informers.get('services').on((type, svc, old) => {
      const key = keyOf(svc);
      if (type === 'delete' || ingressIps(svc).length) this.inFlight.delete(key);
      if (type !== 'delete') this.queue.add(key);
      // An address may have been freed: Services still waiting for one get another chance.
      const freed = type === 'delete' || (old && ingressIps(old).some((ip) => !ingressIps(svc).includes(ip)));
      if (freed) this.requeuePending();
    });
  }

  start(): void {
    this.queue.run();
    for (const s of this.ctx.informers.get('services').list()) this.queue.add(keyOf(s));
  }

  stop(): void {
    this.queue.stop();
  }

  private requeuePending(): void {
    for (const s of this.ctx.informers.get('services').list()) {
      if (s.spec?.type === 'LoadBalancer' && ingressIps(s).length === 0) this.queue.add(keyOf(s));
    }
  }

  private async sync(key: string): Promise<void> {
    const services = this.ctx.informers.get('services');
    const svc = services.get(key);
    if (!svc || this.inFlight.has(key)) return;
    const mine = ingressIps(svc).filter((ip) => this.pool.contains(ip));
    const log = this.ctx.log.child({ controller: this.name, service: key });
    if (svc.spec?.type !== 'LoadBalancer') {
      if (mine.length) {
        log.info({ released: mine }, 'type is no longer LoadBalancer: releasing address');
        const ref = refTo('Service', 'v1', svc);
        this.serviceController.event(ref, 'Normal', 'DeletingLoadBalancer', 'Deleting load balancer');
        await this.writeIngress(svc, []);
        this.serviceController.event(ref, 'Normal', 'DeletedLoadBalancer', 'Deleted load balancer');
      }
      return;
    }
    const wanted = svc.spec?.loadBalancerIP || undefined;
    if (mine.length && (!wanted || mine.includes(wanted)) && !this.duplicated(key, mine[0]!)) return;
    const used = new Set<string>(this.inFlight.values());
    for (const s of services.list()) {
      if (keyOf(s) === key || s.spec?.type !== 'LoadBalancer') continue;
      for (const ip of ingressIps(s)) used.add(ip);
    }
    const ip = this.pool.allocate(used, wanted);
    if (!ip) {
      log.warn(
        { pool: this.pool.spec, loadBalancerIP: wanted },
        wanted ? 'requested loadBalancerIP is not free in the pool' : 'address pool exhausted',
      );
      const why = wanted ? `requested IP ${wanted} is not available in the pool` : 'no available IPs';
      this.metallb.event(
        refTo('Service', 'v1', svc),
        'Warning',
        'AllocationFailed',
        `Failed to allocate IP for "${key}": ${why}`,
      );
      return; // waits for an address to be freed (requeuePending)
    }
    this.inFlight.set(key, ip);
    try {
      await this.writeIngress(svc, [ip]);
      log.info({ ip }, 'assigned LoadBalancer address');
      this.metallb.event(refTo('Service', 'v1', svc), 'Normal', 'IPAllocated', `Assigned IP ${JSON.stringify([ip])}`);
    } catch (err) {
      this.inFlight.delete(key);
      throw err;
    }
  }

  /** The same pool address on an older Service: the younger one must give it up. */
  private duplicated(key: string, ip: string): boolean {
    const me = this.ctx.informers.get('services').get(key);
    const myTime = String(me?.metadata?.creationTimestamp ?? '');
    return this.ctx.informers
      .get('services')
      .list()
      .some(
        (s) =>
          keyOf(s) !== key &&
          s.spec?.type === 'LoadBalancer' &&
          ingressIps(s).includes(ip) &&
          (String(s.metadata?.creationTimestamp ?? '') < myTime ||
            (String(s.metadata?.creationTimestamp ?? '') === myTime && keyOf(s) < key)),
      );
  }

  private async writeIngress(svc: V1Service, ips: string[]): Promise<void> {
    try {
      await this.ctx.clients.core.patchNamespacedServiceStatus(
        {
          name: svc.metadata!.name!,
          namespace: svc.metadata!.namespace!,
          body: { status: { loadBalancer: { ingress: ips.length ? ips.map((ip) => ({ ip, ipMode: 'VIP' })) : null } } },
        },
        mergePatch,
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
