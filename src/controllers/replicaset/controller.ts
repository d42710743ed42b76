import type { V1Pod, V1ReplicaSet } from '@kubernetes/client-node';
import { mergePatch } from '../../client/apis.js';
import { describeError, isAlreadyExists, isNotFound } from '../../client/errors.js';
import { refTo, type EventRecorder } from '../../events/index.js';
import { keyOf } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { Expectations } from '../expectations.js';
import { controllerRef, isPodActive, isPodReady, msUntilAvailable, randomSuffix } from '../objects.js';
import { logSyncError, type Controller, type ControllerContext } from '../types.js';
import { rankPodsForDeletion } from './ranking.js';
import { slowStartBatch } from '../slowstart.js';

/** At most this many creations or deletions per sync (upstream's burstReplicas); the rest happen on the next run. */
const BURST = 500;

/**
 * ReplicaSet → Pods: keeps `spec.replicas` active pods (owned through a controller ownerReference),
 * deleting the cheapest pods first on scale-down, and reports replicas/ready/available in status.
 */
export class ReplicaSetController implements Controller {
  readonly name = 'replicaset';
  private readonly queue: WorkQueue;
  private readonly expectations = new Expectations();

  private readonly events: EventRecorder;

  constructor(private readonly ctx: ControllerContext) {
    this.events = ctx.recorder('replicaset-controller');
    const log = ctx.log.child({ controller: this.name });
    this.queue = new WorkQueue(
      (key) => this.sync(key),
      (key, err) => logSyncError(log, key, err),
    );
    ctx.informers.get('replicaSets').on((_t, rs) => this.queue.add(keyOf(rs)));
    ctx.informers.get('pods').on((type, pod, old) => {
      const ns = pod.metadata?.namespace ?? '';
      const ref = controllerRef(pod);
      const rsKey = ref?.kind === 'ReplicaSet' ? `${ns}/${ref.name}` : undefined;
      if (rsKey) {
        if (type === 'add') this.expectations.observedCreate(rsKey, pod.metadata?.name ?? '');
        if (type === 'delete' || pod.metadata?.deletionTimestamp)
          this.expectations.observedDelete(rsKey, pod.metadata?.name ?? '');
        this.queue.add(rsKey);
      }
      const oldRef = old ? controllerRef(old) : undefined;
      if (oldRef?.kind === 'ReplicaSet' && oldRef.name !== ref?.name) this.queue.add(`${ns}/${oldRef.name}`);
    });
  }

  start(): void {
    this.queue.run();
    for (const rs of this.ctx.informers.get('replicaSets').list()) this.queue.add(keyOf(rs));
  }

  stop(): void {
    this.queue.stop();
  }

  private ownedPods(rs: V1ReplicaSet): V1Pod[] {
    return this.ctx.informers
      .get('pods')
      .list(rs.metadata?.namespace)
      .filter((p) => controllerRef(p)?.uid === rs.metadata?.uid);
  }

  private async sync(key: string): Promise<void> {
    const rs = this.ctx.informers.get('replicaSets').get(key);
    if (!rs || rs.metadata?.deletionTimestamp) {
      this.expectations.forget(key);
      return;
    }
    const ns = rs.metadata!.namespace!;
    const pods = this.ownedPods(rs);
    const live = new Map(pods.map((p) => [p.metadata!.name!, p]));
    const pendingCreates = this.expectations.pendingCreates(key, (n) => live.has(n));
    const pendingDeletes = new Set(
      this.expectations.pendingDeletes(key, (n) => !!live.get(n) && isPodActive(live.get(n)!)),
    );
    const active = pods.filter((p) => isPodActive(p) && !pendingDeletes.has(p.metadata!.name!));
    const desired = rs.spec?.replicas ?? 1;
    const diff = active.length + pendingCreates.length - desired;
    const { core } = this.ctx.clients;
    const log = this.ctx.log.child({ controller: this.name, replicaset: key });

    if (diff < 0) {
      const n = Math.min(-diff, BURST);
      log.info({ create: n, desired, active: active.length }, 'creating pods');
      await slowStartBatch(n, async () => {
        for (let attempt = 0; attempt < 3; attempt++) {
          const body = this.podFor(rs);
          this.expectations.expectCreate(key, body.metadata!.name!);
          try {
            await core.createNamespacedPod({ namespace: ns, body });
            this.events.event(
              refTo('ReplicaSet', 'apps/v1', rs),
              'Normal',
              'SuccessfulCreate',
              `Created pod: ${body.metadata!.name!}`,
            );
            return;
          } catch (err) {
            this.expectations.observedCreate(key, body.metadata!.name!);
            if (!isAlreadyExists(err)) {
              this.events.event(
                refTo('ReplicaSet', 'apps/v1', rs),
                'Warning',
                'FailedCreate',
                `Error creating: ${describeError(err).replace(/^\d+: /, '')}`,
              );
              throw err;
            }
          }
        }
      });
    } else if (diff > 0) {
      const victims = rankPodsForDeletion(active).slice(0, Math.min(diff, BURST));
      log.info({ delete: victims.length, desired, active: active.length }, 'deleting pods');
      // Deletions all at once, as upstream does (no slow start: they cannot fail for quota).
      await Promise.all(
        victims.map(async (p) => {
          this.expectations.expectDelete(key, p.metadata!.name!);
          try {
            await core.deleteNamespacedPod({ name: p.metadata!.name!, namespace: ns });
            this.events.event(
              refTo('ReplicaSet', 'apps/v1', rs),
              'Normal',
              'SuccessfulDelete',
              `Deleted pod: ${p.metadata!.name!}`,
            );
          } catch (err) {
            this.expectations.observedDelete(key, p.metadata!.name!);
            if (!isNotFound(err)) throw err;
          }
        }),
      );
    }
    await this.updateStatus(rs, active);
    // More to do than one burst allowed: come back.
    if (Math.abs(diff) > BURST) this.queue.add(key);
  }

  private podFor(rs: V1ReplicaSet): V1Pod {
    const t = rs.spec?.template ?? {};
    const meta = t.metadata ?? {};
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${rs.metadata!.name}-${randomSuffix(5)}`,
        namespace: rs.metadata!.namespace,
        labels: { ...(meta.labels ?? {}) },
        ...(meta.annotations ? { annotations: { ...meta.annotations } } : {}),
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'ReplicaSet',
            name: rs.metadata!.name!,
            uid: rs.metadata!.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: JSON.parse(JSON.stringify(t.spec ?? { containers: [] })),
    };
  }

  private async updateStatus(rs: V1ReplicaSet, active: V1Pod[]): Promise<void> {
    const labels = rs.spec?.template?.metadata?.labels ?? {};
    const ready = active.filter(isPodReady).length;
    const now = Date.now();
    const waits = active.map((p) => msUntilAvailable(p, rs.spec?.minReadySeconds ?? 0, now));
    const available = waits.filter((w) => w === 0).length;
    // Ready pods that become available later: look again then (nothing else would trigger a sync).
    const next = Math.min(...waits.filter((w) => w > 0));
    if (Number.isFinite(next)) this.queue.addAfter(keyOf(rs), next + 50);
    const status = {
      replicas: active.length,
      fullyLabeledReplicas: active.filter((p) =>
        Object.entries(labels).every(([k, v]) => p.metadata?.labels?.[k] === v),
      ).length,
      readyReplicas: ready,
      availableReplicas: available,
      observedGeneration: rs.metadata?.generation ?? 0,
    };
    const cur = rs.status ?? { replicas: 0 };
    const same =
      (cur.replicas ?? 0) === status.replicas &&
      (cur.fullyLabeledReplicas ?? 0) === status.fullyLabeledReplicas &&
      (cur.readyReplicas ?? 0) === status.readyReplicas &&
      (cur.availableReplicas ?? 0) === status.availableReplicas &&
      (cur.observedGeneration ?? 0) === status.observedGeneration;
    if (same) return;
    try {
      await this.ctx.clients.apps.patchNamespacedReplicaSetStatus(
        { name: rs.metadata!.name!, namespace: rs.metadata!.namespace!, body: { status } },
        mergePatch,
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}
