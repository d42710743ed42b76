import type { V1OwnerReference } from '@kubernetes/client-node';
import { describeError, isNotFound } from '../../client/errors.js';
import type { Controller, ControllerContext } from '../types.js';

type Kind = 'Deployment' | 'ReplicaSet' | 'Service';

/**
 * Garbage collection by ownerReferences (background propagation): a Pod, ReplicaSet or EndpointSlice
 * whose owners are all gone is deleted. "Gone" is confirmed with a live GET (the cache may simply not
 * have seen a brand-new owner yet), and a recreated owner with the same name but another uid counts as
 * gone. Owners of kinds this collector does not know are assumed to exist.
 */
export class GarbageCollector implements Controller {
  readonly name = 'garbagecollector';
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private stopped = false;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly periodMs: number,
  ) {
    // Touch the informers this collector reads so the factory starts them.
    ctx.informers.get('pods');
    ctx.informers.get('replicaSets');
    ctx.informers.get('deployments');
    ctx.informers.get('services');
    ctx.informers.get('endpointSlices');
    // An owner deletion triggers a sweep soon rather than at the next period.
    const soon = (type: string): void => {
      if (type === 'delete') this.schedule(200);
    };
    ctx.informers.get('replicaSets').on(soon);
    ctx.informers.get('deployments').on(soon);
    ctx.informers.get('services').on(soon);
  }

  start(): void {
    this.stopped = false;
    this.schedule(this.periodMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.sweep(), ms);
  }

  private ownerInCache(ns: string, ref: V1OwnerReference): boolean | undefined {
    const kind = ref.kind as Kind;
    const inf =
      kind === 'ReplicaSet'
        ? this.ctx.informers.get('replicaSets')
        : kind === 'Deployment'
          ? this.ctx.informers.get('deployments')
          : kind === 'Service'
            ? this.ctx.informers.get('services')
            : undefined;
    if (!inf) return undefined;
    return inf.get(`${ns}/${ref.name}`)?.metadata?.uid === ref.uid;
  }

  private async ownerLive(ns: string, ref: V1OwnerReference): Promise<boolean> {
    const { apps, core } = this.ctx.clients;
    try {
      const o =
        ref.kind === 'ReplicaSet'
          ? await apps.readNamespacedReplicaSet({ name: ref.name, namespace: ns })
          : ref.kind === 'Deployment'
            ? await apps.readNamespacedDeployment({ name: ref.name, namespace: ns })
            : await core.readNamespacedService({ name: ref.name, namespace: ns });
      return o.metadata?.uid === ref.uid;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }

  /** True when every owner is of a known kind and is gone. */
  private async orphaned(ns: string, refs: V1OwnerReference[] | undefined): Promise<boolean> {
    if (!refs || refs.length === 0) return false;
    for (const ref of refs) {
      const cached = this.ownerInCache(ns, ref);
      if (cached === undefined || cached) return false;
    }
    for (const ref of refs) if (await this.ownerLive(ns, ref)) return false;
    return true;
  }

  private async sweep(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    const log = this.ctx.log.child({ controller: this.name });
    try {
      const { apps, core, discovery } = this.ctx.clients;
      const work: { kind: string; ns: string; name: string; refs?: V1OwnerReference[]; del: () => Promise<unknown> }[] =
        [];
      for (const rs of this.ctx.informers.get('replicaSets').list()) {
        const ns = rs.metadata!.namespace!;
        const name = rs.metadata!.name!;
        work.push({
          kind: 'ReplicaSet',
          ns,
          name,
          refs: rs.metadata?.ownerReferences,
          del: () => apps.deleteNamespacedReplicaSet({ name, namespace: ns }),
        });
      }
      for (const p of this.ctx.informers.get('pods').list()) {
        if (p.metadata?.deletionTimestamp) continue;
        const ns = p.metadata!.namespace!;
        const name = p.metadata!.name!;
        work.push({
          kind: 'Pod',
          ns,
          name,
          refs: p.metadata?.ownerReferences,
          del: () => core.deleteNamespacedPod({ name, namespace: ns }),
        });
      }
      for (const s of this.ctx.informers.get('endpointSlices').list()) {
        const ns = s.metadata!.namespace!;
        const name = s.metadata!.name!;
        work.push({
          kind: 'EndpointSlice',
          ns,
          name,
          refs: s.metadata?.ownerReferences,
          del: () => discovery.deleteNamespacedEndpointSlice({ name, namespace: ns }),
        });
      }
      for (const w of work) {
        if (this.stopped) break;
        try {
          if (!(await this.orphaned(w.ns, w.refs))) continue;
          log.info({ kind: w.kind, object: `${w.ns}/${w.name}` }, 'owner gone: deleting');
          await w.del();
        } catch (err) {
          if (!isNotFound(err))
            log.warn(
              { kind: w.kind, object: `${w.ns}/${w.name}`, err: describeError(err) },
              'garbage collection failed',
            );
        }
      }
    } finally {
      this.running = false;
      this.schedule(this.periodMs);
    }
  }
}
