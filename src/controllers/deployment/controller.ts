import type { V1Deployment, V1DeploymentCondition, V1ReplicaSet } from '@kubernetes/client-node';
import { mergePatch } from '../../client/apis.js';
import { isAlreadyExists, isNotFound } from '../../client/errors.js';
import { refTo, type EventRecorder } from '../../events/index.js';
import { keyOf } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { controllerRef, toMillis } from '../objects.js';
import { logSyncError, type Controller, type ControllerContext } from '../types.js';
import { equalIgnoreHash, POD_TEMPLATE_HASH, templateHash } from './hash.js';
import { initialNewReplicas, planRecreateStep, planRollingStep, resolveFenceposts, type RsState } from './rollout.js';

const REVISION = 'deployment.kubernetes.io/revision';
const DESIRED = 'deployment.kubernetes.io/desired-replicas';
const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';

function revisionOf(obj: { metadata?: { annotations?: Record<string, string> } }): number {
  const n = Number(obj.metadata?.annotations?.[REVISION] ?? '0');
  return Number.isFinite(n) ? n : 0;
}

function rsState(rs: V1ReplicaSet): RsState {
  return {
    name: rs.metadata!.name!,
    replicas: rs.spec?.replicas ?? 0,
    available: rs.status?.availableReplicas ?? 0,
    created: toMillis(rs.metadata?.creationTimestamp) ?? 0,
  };
}

/**
 * Deployment → ReplicaSets. The ReplicaSet whose template equals the Deployment's (ignoring
 * pod-template-hash) is the new one; if none exists it is created as NAME-HASH. A rollback (kubectl
 * rollout undo patches the template back) therefore finds and adopts the old ReplicaSet, which gets the
 * next revision. Then one rollout step per sync (RollingUpdate or Recreate), history cleanup, status.
 */
export class DeploymentController implements Controller {
  readonly name = 'deployment';
  private readonly queue: WorkQueue;

  private readonly events: EventRecorder;

  constructor(private readonly ctx: ControllerContext) {
    this.events = ctx.recorder('deployment-controller');
    const log = ctx.log.child({ controller: this.name });
    this.queue = new WorkQueue(
      (key) => this.sync(key),
      (key, err) => logSyncError(log, key, err),
    );
    const rsInf = ctx.informers.get('replicaSets');
    ctx.informers.get('deployments').on((_t, d) => this.queue.add(keyOf(d)));
    rsInf.on((_t, rs, old) => {
      for (const o of [rs, old]) {
        const ref = o ? controllerRef(o) : undefined;
        if (ref?.kind === 'Deployment') this.queue.add(`${o!.metadata!.namespace}/${ref.name}`);
      }
    });
    // Recreate waits for old pods to be gone: a pod deletion moves it on.
    ctx.informers.get('pods').on((type, pod) => {
      if (type !== 'delete') return;
      const ref = controllerRef(pod);
      if (ref?.kind !== 'ReplicaSet') return;
      const rs = rsInf.get(`${pod.metadata!.namespace}/${ref.name}`);
      const dref = rs ? controllerRef(rs) : undefined;
      if (dref?.kind === 'Deployment') this.queue.add(`${pod.metadata!.namespace}/${dref.name}`);
    });
  }

  start(): void {
    this.queue.run();
    for (const d of this.ctx.informers.get('deployments').list()) this.queue.add(keyOf(d));
  }

  stop(): void {
    this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const d = this.ctx.informers.get('deployments').get(key);
    if (!d || d.metadata?.deletionTimestamp) return;
    const ns = d.metadata!.namespace!;
    const log = this.ctx.log.child({ controller: this.name, deployment: key });
    const all = this.ctx.informers
      .get('replicaSets')
      .list(ns)
      .filter((rs) => controllerRef(rs)?.uid === d.metadata?.uid);
    const matching = all
      .filter((rs) => equalIgnoreHash(rs.spec?.template, d.spec?.template))
      .sort((a, b) => (toMillis(a.metadata?.creationTimestamp) ?? 0) - (toMillis(b.metadata?.creationTimestamp) ?? 0));
    let newRS = matching[0];
    const olds = all.filter((rs) => rs !== newRS);
    const desired = d.spec?.replicas ?? 1;
    const strategy = d.spec?.strategy?.type === 'Recreate' ? 'Recreate' : 'RollingUpdate';
    const f = resolveFenceposts(
      desired,
      d.spec?.strategy?.rollingUpdate?.maxSurge,
      d.spec?.strategy?.rollingUpdate?.maxUnavailable,
    );
    const maxOldRevision = Math.max(0, ...olds.map(revisionOf));

    if (!newRS) {
      newRS = await this.createNewRS(
        d,
        initialNewReplicas(strategy, desired, f, olds.map(rsState)),
        maxOldRevision + 1,
        desired + f.maxSurge,
      );
      if (!newRS) return; // hash collision recorded; the status update re-queues us
      log.info({ replicaset: newRS.metadata?.name, replicas: newRS.spec?.replicas }, 'created new ReplicaSet');
    } else if (revisionOf(newRS) <= maxOldRevision) {
      // Rolled back to (or re-rolled onto) an existing ReplicaSet: it becomes the newest revision.
      await this.patchRS(newRS, { metadata: { annotations: { [REVISION]: String(maxOldRevision + 1) } } });
      log.info(
        { replicaset: newRS.metadata?.name, revision: maxOldRevision + 1 },
        'adopted existing ReplicaSet as new revision',
      );
    }
    const newRevision = String(Math.max(revisionOf(newRS), maxOldRevision + 1));
    if (d.metadata?.annotations?.[REVISION] !== newRevision) {
      await this.ctx.clients.apps.patchNamespacedDeployment(
        { name: d.metadata!.name!, namespace: ns, body: { metadata: { annotations: { [REVISION]: newRevision } } } },
        mergePatch,
      );
    }

    if (!d.spec?.paused) {
      const oldPodsLeft = strategy === 'Recreate' ? this.podsOf(olds) : 0;
      const step =
        strategy === 'Recreate'
          ? planRecreateStep(desired, rsState(newRS), olds.map(rsState), oldPodsLeft)
          : planRollingStep(desired, f, rsState(newRS), olds.map(rsState));
      if (step.kind === 'scaleNew') {
        log.info({ replicaset: newRS.metadata?.name, replicas: step.replicas }, 'scaling new ReplicaSet');
        await this.scaleRS(d, newRS, step.replicas, desired, desired + f.maxSurge);
      } else if (step.kind === 'scaleOld') {
        for (const rs of olds) {
          const n = step.replicas[rs.metadata!.name!];
          if (n === undefined) continue;
          log.info({ replicaset: rs.metadata?.name, replicas: n }, 'scaling old ReplicaSet');
          await this.scaleRS(d, rs, n, desired, desired + f.maxSurge);
        }
      }
    }
    await this.cleanupHistory(d, olds);
    await this.updateStatus(d, newRS, olds, f.maxUnavailable);
  }

  private podsOf(rss: V1ReplicaSet[]): number {
    const uids = new Set(rss.map((r) => r.metadata?.uid));
    return this.ctx.informers
      .get('pods')
      .list()
      .filter((p) => uids.has(controllerRef(p)?.uid)).length;
  }

  private async createNewRS(
    d: V1Deployment,
    replicas: number,
    revision: number,
    maxReplicas: number,
  ): Promise<V1ReplicaSet | undefined> {
    const collisionCount = d.status?.collisionCount ?? 0;
    const hash = templateHash(d.spec?.template, collisionCount);
    const template = JSON.parse(JSON.stringify(d.spec?.template ?? {}));
    template.metadata = {
      ...(template.metadata ?? {}),
      labels: { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash },
    };
    const selector = JSON.parse(JSON.stringify(d.spec?.selector ?? {}));
    selector.matchLabels = { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash };
    const body: V1ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${d.metadata!.name}-${hash}`,
        namespace: d.metadata!.namespace,
        labels: template.metadata.labels,
        annotations: {
          [REVISION]: String(revision),
          [DESIRED]: String(d.spec?.replicas ?? 1),
          [MAX_REPLICAS]: String(maxReplicas),
        },
        ownerReferences: [
          {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            name: d.metadata!.name!,
            uid: d.metadata!.uid!,
            controller: true,
            blockOwnerDeletion: true,
          },
        ],
      },
      spec: { replicas, minReadySeconds: d.spec?.minReadySeconds, selector, template },
    };
    try {
      const created = await this.ctx.clients.apps.createNamespacedReplicaSet({
        namespace: d.metadata!.namespace!,
        body,
      });
      if (replicas > 0) this.scaled(d, body.metadata!.name!, 0, replicas);
      return created;
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
      // Same name: either ours from a sync whose event we have not seen yet (fine: retry later), or a
      // different template with a colliding hash (bump collisionCount, as Kubernetes does).
      const existing = await this.ctx.clients.apps.readNamespacedReplicaSet({
        name: body.metadata!.name!,
        namespace: d.metadata!.namespace!,
      });
      if (
        controllerRef(existing)?.uid === d.metadata?.uid &&
        equalIgnoreHash(existing.spec?.template, d.spec?.template)
      ) {
        return existing;
      }
      await this.ctx.clients.apps.patchNamespacedDeploymentStatus(
        {
          name: d.metadata!.name!,
          namespace: d.metadata!.namespace!,
          body: { status: { collisionCount: collisionCount + 1 } },
        },
        mergePatch,
      );
      return undefined;
    }
  }

  private async patchRS(rs: V1ReplicaSet, body: object): Promise<void> {
    await this.ctx.clients.apps.patchNamespacedReplicaSet(
      { name: rs.metadata!.name!, namespace: rs.metadata!.namespace!, body },
      mergePatch,
    );
  }

  private async scaleRS(
    d: V1Deployment,
    rs: V1ReplicaSet,
    replicas: number,
    desired: number,
    maxReplicas: number,
  ): Promise<void> {
    const from = rs.spec?.replicas ?? 0;
    await this.patchRS(rs, {
      metadata: { annotations: { [DESIRED]: String(desired), [MAX_REPLICAS]: String(maxReplicas) } },
      spec: { replicas },
    });
    if (from !== replicas) this.scaled(d, rs.metadata!.name!, from, replicas);
  }

  /** The ScalingReplicaSet event, worded as the deployment controller words it. */
  private scaled(d: V1Deployment, rs: string, from: number, to: number): void {
    const dir = to > from ? 'up' : 'down';
    this.events.event(
      refTo('Deployment', 'apps/v1', d),
      'Normal',
      'ScalingReplicaSet',
      `Scaled ${dir} replica set ${rs} from ${from} to ${to}`,
    );
  }

  /** Keep at most revisionHistoryLimit (default 10) old ReplicaSets that are scaled to zero and empty. */
  private async cleanupHistory(d: V1Deployment, olds: V1ReplicaSet[]): Promise<void> {
    const limit = d.spec?.revisionHistoryLimit ?? 10;
    const idle = olds
      .filter((rs) => (rs.spec?.replicas ?? 0) === 0 && (rs.status?.replicas ?? 0) === 0)
      .sort((a, b) => revisionOf(a) - revisionOf(b));
    for (const rs of idle.slice(0, Math.max(0, idle.length - limit))) {
      try {
        await this.ctx.clients.apps.deleteNamespacedReplicaSet({
          name: rs.metadata!.name!,
          namespace: rs.metadata!.namespace!,
        });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  private async updateStatus(
    d: V1Deployment,
    newRS: V1ReplicaSet,
    olds: V1ReplicaSet[],
    maxUnavailable: number,
  ): Promise<void> {
    const all = [newRS, ...olds];
    const s = (f: (rs: V1ReplicaSet) => number | undefined): number => all.reduce((a, rs) => a + (f(rs) ?? 0), 0);
    const desired = d.spec?.replicas ?? 1;
    const replicas = s((rs) => rs.status?.replicas);
    const available = s((rs) => rs.status?.availableReplicas);
    const updated = newRS.status?.replicas ?? 0;
    const oldLeft = olds.reduce((a, rs) => a + (rs.status?.replicas ?? 0) + (rs.spec?.replicas ?? 0), 0);
    const complete =
      updated === desired &&
      available === desired &&
      replicas === desired &&
      oldLeft === 0 &&
      (newRS.status?.availableReplicas ?? 0) === desired;
    const now = new Date().toISOString();
    const prev = d.status?.conditions ?? [];
    const cond = (type: string, status: string, reason: string, message: string): V1DeploymentCondition => {
      const old = prev.find((c) => c.type === type);
      const same = old && old.status === status && old.reason === reason;
      return {
        type,
        status,
        reason,
        message,
        lastUpdateTime: (same ? old.lastUpdateTime : now) as never,
        lastTransitionTime: (old && old.status === status ? old.lastTransitionTime : now) as never,
      };
    };
    const conditions = [
      available >= desired - maxUnavailable
        ? cond('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.')
        : cond('Available', 'False', 'MinimumReplicasUnavailable', 'Deployment does not have minimum availability.'),
      complete
        ? cond(
            'Progressing',
            'True',
            'NewReplicaSetAvailable',
            `ReplicaSet "${newRS.metadata?.name}" has successfully progressed.`,
          )
        : cond('Progressing', 'True', 'ReplicaSetUpdated', `ReplicaSet "${newRS.metadata?.name}" is progressing.`),
    ];
    const status = {
      observedGeneration: d.metadata?.generation ?? 0,
      replicas,
      updatedReplicas: updated,
      readyReplicas: s((rs) => rs.status?.readyReplicas),
      availableReplicas: available,
      unavailableReplicas: Math.max(0, desired - available),
      conditions,
      ...(d.status?.collisionCount ? { collisionCount: d.status.collisionCount } : {}),
    };
    const cur = d.status ?? {};
    const comparable = (x: typeof status | typeof cur): string =>
      JSON.stringify([
        x.observedGeneration ?? 0,
        x.replicas ?? 0,
        x.updatedReplicas ?? 0,
        x.readyReplicas ?? 0,
        x.availableReplicas ?? 0,
        x.unavailableReplicas ?? 0,
        (x.conditions ?? []).map((c) => [c.type, c.status, c.reason]),
      ]);
    if (comparable(status) === comparable(cur)) return;
    await this.ctx.clients.apps.patchNamespacedDeploymentStatus(
      { name: d.metadata!.name!, namespace: d.metadata!.namespace!, body: { status } },
      mergePatch,
    );
  }
}
