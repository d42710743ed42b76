import type { V1Service } from '@kubernetes/client-node';
import { mergePatch } from '../../client/apis.js';
import { isNotFound } from '../../client/errors.js';
import { keyOf } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { refTo, type EventRecorder } from '../../events/index.js';
import { logSyncError, type Controller, type ControllerContext } from '../types.js';
import { ipFamilyOf } from '../../net/ip.js';
import type { AddressPools } from './pool.js';

const ingressIps = (svc: V1Service | undefined): string[] =>
  (svc?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip).filter((x): x is string => !!x);

/** The families a Service's addresses are wanted in: its spec.ipFamilies that the pool has addresses for. */
function wantedFamilies(svc: V1Service, pools: AddressPools): (4 | 6)[] {
  const named = (svc.spec?.ipFamilies ?? []).map((f) => (f === 'IPv6' ? 6 : 4) as 4 | 6);
  const out = named.filter((f) => pools.forFamily(f));
  return out.length || named.length ? out : pools.families.slice(0, 1);
}

/**
 * Services of type LoadBalancer get status.loadBalancer.ingress from the pool: one address per family of the
 * Service that the pool has (a dual-stack Service in a dual-stack pool gets one of each, primary family
 * first), spec.loadBalancerIP for its family when it is in the pool and free. The used set is the pool
 * addresses found in Services' status, so a deleted Service or one that changed type frees its address and
 * restarts never duplicate one. Events as MetalLB's controller records them (IPAllocated,
 * AllocationFailed) and, for a Service that stopped being a LoadBalancer, as the service controller does
 * (DeletingLoadBalancer, DeletedLoadBalancer).
 */
export class LoadBalancerController implements Controller {
  readonly name = 'loadbalancer';
  private readonly queue: WorkQueue;
  /** service key → addresses written but not yet observed. */
  private readonly inFlight = new Map<string, string[]>();
  private readonly metallb: EventRecorder;
  private readonly serviceController: EventRecorder;

  constructor(
    private readonly ctx: ControllerContext,
    readonly pool: AddressPools,
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
    const families = wantedFamilies(svc, this.pool);
    // per family: the address it keeps (in the pool, the wanted one if one is asked for, not an older
    // Service's), or none yet
    const keep = new Map<4 | 6, string>();
    for (const f of families) {
      const wantedHere = wanted && ipFamilyOf(wanted) === f ? wanted : undefined;
      const ip = mine.find((x) => ipFamilyOf(x) === f && (!wantedHere || x === wantedHere) && !this.duplicated(key, x));
      if (ip) keep.set(f, ip);
    }
    if (families.length && keep.size === families.length && mine.length === families.length) return;
    const used = new Set<string>([...this.inFlight.values()].flat());
    for (const s of services.list()) {
      if (keyOf(s) === key || s.spec?.type !== 'LoadBalancer') continue;
      for (const ip of ingressIps(s)) used.add(ip);
    }
    const ips: string[] = [];
    for (const f of families) {
      const wantedHere = wanted && ipFamilyOf(wanted) === f ? wanted : undefined;
      const ip = keep.get(f) ?? this.pool.forFamily(f)?.allocate(used, wantedHere);
      if (!ip) {
        log.warn(
          { pool: this.pool.spec, family: f, loadBalancerIP: wanted },
          wantedHere ? 'requested loadBalancerIP is not free in the pool' : 'address pool exhausted',
        );
        const why = wantedHere ? `requested IP ${wantedHere} is not available in the pool` : 'no available IPs';
        this.metallb.event(
          refTo('Service', 'v1', svc),
          'Warning',
          'AllocationFailed',
          `Failed to allocate IP for "${key}": ${why}`,
        );
        return; // waits for an address to be freed (requeuePending)
      }
      ips.push(ip);
    }
    if (ips.length === 0) return; // no family of this Service has a pool
    this.inFlight.set(key, ips);
    try {
      await this.writeIngress(svc, ips);
      log.info({ ips }, 'assigned LoadBalancer address');
      this.metallb.event(refTo('Service', 'v1', svc), 'Normal', 'IPAllocated', `Assigned IP ${JSON.stringify(ips)}`);
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
