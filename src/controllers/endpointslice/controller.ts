import type { V1EndpointSlice, V1Endpoints, V1Pod, V1Service } from '@kubernetes/client-node';
import { TRIGGER_TIME_ANNOTATION } from '../../api/well-known.js';
import { isAlreadyExists, isNotFound } from '../../client/errors.js';
import { keyOf } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { canonical } from '../deployment/hash.js';
import { Expectations } from '../expectations.js';
import { mapSelectorMatches, randomSuffix } from '../objects.js';
import { logSyncError, type Controller, type ControllerContext } from '../types.js';
import {
  computeSlices,
  computeSubsets,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  portsSignature,
  SERVICE_NAME_LABEL,
  sliceSignature,
  type DesiredSlice,
} from './compute.js';

// canonical(): key order and empty values must not make an unchanged object look changed (update loops).
const subsetsSignature = (e: { subsets?: unknown } | undefined): string => canonical(e?.subsets ?? []);

/**
 * Service (with a selector) → EndpointSlices labelled kubernetes.io/service-name and managed-by, one per
 * (address family, resolved ports) group and at most 100 endpoints each, plus the core/v1 Endpoints
 * mirror. Existing slices are reused by port signature and only rewritten when their content changes.
 */
export class EndpointSliceController implements Controller {
  readonly name = 'endpointslice';
  private readonly queue: WorkQueue;
  private readonly expectations = new Expectations();
  /**
   * Our last replace of each object: while the cache still shows the version we replaced, the object
   * counts as already having what we wrote (otherwise every sync in that window would write again and
   * fail with 409).
   */
  private readonly written = new Map<string, { prevRv: string; sig: string }>();
  /** Service key → when its earliest change not yet written to its slices was seen (ms). */
  private readonly triggerAt = new Map<string, number>();

  private effectiveSig(id: string, rv: string | undefined, actual: string): string {
    const w = this.written.get(id);
    if (w && w.prevRv === rv) return w.sig;
    if (w) this.written.delete(id);
    return actual;
  }

  constructor(private readonly ctx: ControllerContext) {
    const log = ctx.log.child({ controller: this.name });
    this.queue = new WorkQueue(
      (key) => this.sync(key),
      (key, err) => logSyncError(log, key, err),
      { workers: 2 },
    );
    const services = ctx.informers.get('services');
    services.on((_t, svc) => this.changed(keyOf(svc)));
    ctx.informers.get('pods').on((_t, pod, old) => {
      for (const svc of services.list(pod.metadata?.namespace)) {
        const sel = svc.spec?.selector;
        if (mapSelectorMatches(sel, pod.metadata?.labels) || (old && mapSelectorMatches(sel, old.metadata?.labels))) {
          this.changed(keyOf(svc));
        }
      }
    });
    ctx.informers.get('endpointSlices').on((type, slice) => {
      const svc = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
      if (!svc || slice.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) return;
      const key = `${slice.metadata?.namespace}/${svc}`;
      if (type === 'add') this.expectations.observedCreate(key, slice.metadata!.name!);
      if (type === 'delete') this.expectations.observedDelete(key, slice.metadata!.name!);
      this.queue.add(key);
    });
    ctx.informers.get('endpoints').on((_t, ep) => this.queue.add(keyOf(ep)));
  }

  /**
   * A Service or one of its pods changed: remember when (the earliest change not yet written, as upstream's
   * TriggerTimeTracker does), for the slices' endpoints.kubernetes.io/last-change-trigger-time annotation, from
   * which kube-proxy measures network programming latency.
   */
  private changed(key: string): void {
    if (!this.triggerAt.has(key)) this.triggerAt.set(key, Date.now());
    this.queue.add(key);
  }

  start(): void {
    this.queue.run();
    for (const s of this.ctx.informers.get('services').list()) this.queue.add(keyOf(s));
    // Slices of Services deleted while we were down.
    for (const sl of this.ctx.informers.get('endpointSlices').list()) {
      const svc = sl.metadata?.labels?.[SERVICE_NAME_LABEL];
      if (svc && sl.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY)
        this.queue.add(`${sl.metadata?.namespace}/${svc}`);
    }
  }

  stop(): void {
    this.queue.stop();
  }

  private managedSlices(ns: string, svc: string): V1EndpointSlice[] {
    return this.ctx.informers
      .get('endpointSlices')
      .list(ns)
      .filter(
        (s) =>
          s.metadata?.labels?.[SERVICE_NAME_LABEL] === svc && s.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY,
      );
  }

  private async sync(key: string): Promise<void> {
    const [ns, name] = key.split('/') as [string, string];
    const slicesInf = this.ctx.informers.get('endpointSlices');
    // Wait for our own recent writes to show up in the cache before deciding anything again.
    const pending =
      this.expectations.pendingCreates(key, (n) => !!slicesInf.get(`${ns}/${n}`)).length +
      this.expectations.pendingDeletes(key, (n) => !!slicesInf.get(`${ns}/${n}`)).length;
    if (pending > 0) {
      this.queue.addAfter(key, 100);
      return;
    }
    const svc = this.ctx.informers.get('services').get(key);
    const existing = this.managedSlices(ns, name);
    const selector = svc?.spec?.selector;
    if (!svc || !selector || Object.keys(selector).length === 0 || svc.spec?.type === 'ExternalName') {
      await this.deleteSlices(key, existing);
      if (!svc) await this.deleteEndpoints(ns, name);
      return;
    }
    const pods = this.ctx.informers.get('pods').list(ns);
    const desired = computeSlices(svc, pods);
    const trigger = this.triggerAt.get(key);
    await this.reconcileSlices(key, svc, desired, existing, trigger);
    // Changes seen while this sync ran keep their own (later) time for the next sync.
    if (this.triggerAt.get(key) === trigger) this.triggerAt.delete(key);
    await this.reconcileEndpoints(svc, desired, pods);
  }

  private async reconcileSlices(
    key: string,
    svc: V1Service,
    desired: DesiredSlice[],
    existing: V1EndpointSlice[],
    trigger: number | undefined,
  ): Promise<void> {
    const unused = new Set(existing);
    const plan: { want: DesiredSlice; have?: V1EndpointSlice }[] = [];
    // First pass: exact content matches (no write needed); second: same ports (an update).
    const remaining: DesiredSlice[] = [];
    const sigOf = (s: V1EndpointSlice): string =>
      this.effectiveSig(
        `slice/${s.metadata?.namespace}/${s.metadata?.name}`,
        s.metadata?.resourceVersion,
        sliceSignature(s),
      );
    for (const want of desired) {
      const sig = sliceSignature(want);
      const exact = [...unused].find((s) => sigOf(s) === sig);
      if (exact) unused.delete(exact);
      else remaining.push(want);
    }
    for (const want of remaining) {
      const ps = portsSignature(want);
      const have = [...unused].find((s) => portsSignature(s) === ps);
      if (have) unused.delete(have);
      plan.push({ want, have });
    }
    // Reuse leftover slices of other port groups rather than delete + create.
    for (const p of plan) {
      if (p.have) continue;
      const any = [...unused][0];
      if (any) {
        unused.delete(any);
        p.have = any;
      }
    }
    const { discovery } = this.ctx.clients;
    const ns = svc.metadata!.namespace!;
    for (const { want, have } of plan) {
      const body = this.sliceBody(svc, want, have, trigger);
      if (have) {
        await discovery.replaceNamespacedEndpointSlice({ name: have.metadata!.name!, namespace: ns, body });
        this.written.set(`slice/${ns}/${have.metadata!.name}`, {
          prevRv: have.metadata?.resourceVersion ?? '',
          sig: sliceSignature(want),
        });
      } else {
        this.expectations.expectCreate(key, body.metadata!.name!);
        try {
          await discovery.createNamespacedEndpointSlice({ namespace: ns, body });
        } catch (err) {
          this.expectations.observedCreate(key, body.metadata!.name!);
          throw err;
        }
      }
    }
    await this.deleteSlices(key, [...unused]);
  }

  private sliceBody(svc: V1Service, want: DesiredSlice, have?: V1EndpointSlice, trigger?: number): V1EndpointSlice {
    const name = svc.metadata!.name!;
    const kept = have?.metadata?.annotations?.[TRIGGER_TIME_ANNOTATION];
    const triggerTime = trigger !== undefined ? new Date(trigger).toISOString() : kept;
    return {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        name: have?.metadata?.name ?? `${name.slice(0, 56)}-${randomSuffix(5)}`,
        namespace: svc.metadata!.namespace,
        ...(have?.metadata?.resourceVersion ? { resourceVersion: have.metadata.resourceVersion } : {}),
        labels: { ...(svc.metadata?.labels ?? {}), [SERVICE_NAME_LABEL]: name, [MANAGED_BY_LABEL]: MANAGED_BY },
        ...(triggerTime ? { annotations: { [TRIGGER_TIME_ANNOTATION]: triggerTime } } : {}),
        ownerReferences: [
          {
            apiVersion: 'v1',
            kind: 'Service',
            name,
            uid: svc.metadata!.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      addressType: want.addressType,
      endpoints: want.endpoints,
      ports: want.ports,
    };
  }

  private async deleteSlices(key: string, slices: V1EndpointSlice[]): Promise<void> {
    for (const s of slices) {
      this.written.delete(`slice/${s.metadata!.namespace}/${s.metadata!.name}`);
      this.expectations.expectDelete(key, s.metadata!.name!);
      try {
        await this.ctx.clients.discovery.deleteNamespacedEndpointSlice({
          name: s.metadata!.name!,
          namespace: s.metadata!.namespace!,
        });
      } catch (err) {
        this.expectations.observedDelete(key, s.metadata!.name!);
        if (!isNotFound(err)) throw err;
      }
    }
  }

  private async reconcileEndpoints(svc: V1Service, desired: DesiredSlice[], _pods: V1Pod[]): Promise<void> {
    const ns = svc.metadata!.namespace!;
    const name = svc.metadata!.name!;
    const subsets = computeSubsets(desired);
    const cur = this.ctx.informers.get('endpoints').get(`${ns}/${name}`);
    const body: V1Endpoints = {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: {
        name,
        namespace: ns,
        labels: { ...(svc.metadata?.labels ?? {}) },
        ...(cur?.metadata?.resourceVersion ? { resourceVersion: cur.metadata.resourceVersion } : {}),
      },
      subsets,
    };
    const id = `endpoints/${ns}/${name}`;
    if (cur && this.effectiveSig(id, cur.metadata?.resourceVersion, subsetsSignature(cur)) === subsetsSignature(body))
      return;
    const { core } = this.ctx.clients;
    if (cur) {
      await core.replaceNamespacedEndpoints({ name, namespace: ns, body });
      this.written.set(id, { prevRv: cur.metadata?.resourceVersion ?? '', sig: subsetsSignature(body) });
      return;
    }
    try {
      await core.createNamespacedEndpoints({ namespace: ns, body });
    } catch (err) {
      // Created by an earlier run whose event has not arrived yet: the event re-queues us.
      if (!isAlreadyExists(err)) throw err;
    }
  }

  private async deleteEndpoints(ns: string, name: string): Promise<void> {
    this.written.delete(`endpoints/${ns}/${name}`);
    if (!this.ctx.informers.get('endpoints').get(`${ns}/${name}`)) return;
    try {
      await this.ctx.clients.core.deleteNamespacedEndpoints({ name, namespace: ns });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
