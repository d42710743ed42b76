import type { V1Pod } from '@kubernetes/client-node';
import { mergePatch, type Clients } from '../client/apis.js';
import { describeError, isConflict, isNotFound } from '../client/errors.js';
import { refTo, type EventRecorder } from '../events/index.js';
import { keyOf } from '../client/informer.js';
import type { InformerFactory } from '../client/informers.js';
import { WorkQueue } from '../client/workqueue.js';
import type { Logger } from '../util/log.js';
import { buildNodeInfos, schedulePod, wantsScheduling } from './schedule.js';

export interface SchedulerOptions {
  schedulerName: string;
  /** First retry delay of an unschedulable pod; doubles per failure up to backoffMaxMs. */
  backoffInitialMs: number;
  backoffMaxMs: number;
}

class Unschedulable extends Error {}

/** Bound on concurrent binding requests (the API server's share of a burst). */
const MAX_BINDINGS_IN_FLIGHT = 16;

/**
 * The scheduling loop: unbound pods of this scheduler are queued, each run filters and scores every
 * node against the cache (plus pods this scheduler bound but has not seen bound yet, so a burst of pods
 * spreads and respects capacity), and binds through POST pods/NAME/binding in the background. An unschedulable pod gets
 * PodScheduled=False/Unschedulable with the per-node reasons and a FailedScheduling Event, and is retried
 * with exponential backoff, and at once when nodes change; a bound pod gets a Scheduled Event.
 */
export class Scheduler {
  private readonly queue: WorkQueue;
  /** pod key → node, bound by us but not yet observed with spec.nodeName. */
  private readonly assumed = new Map<string, { pod: V1Pod; node: string }>();
  /** Bindings in flight, and the scheduling attempts waiting for a free slot. */
  private binding = 0;
  private readonly bindSlots: (() => void)[] = [];

  constructor(
    private readonly clients: Clients,
    private readonly informers: InformerFactory,
    private readonly log: Logger,
    private readonly opts: SchedulerOptions,
    /** where Scheduled / FailedScheduling go (kube-scheduler's event recorder) */
    private readonly events?: EventRecorder,
  ) {
    this.queue = new WorkQueue(
      (key) => this.scheduleOne(key),
      (key, err) => {
        if (!(err instanceof Unschedulable))
          log.warn({ pod: key, err: describeError(err) }, 'scheduling attempt failed');
      },
      { baseDelayMs: opts.backoffInitialMs, maxDelayMs: opts.backoffMaxMs },
    );
    informers.get('pods').on((type, pod) => {
      const key = keyOf(pod);
      if (type === 'delete' || pod.spec?.nodeName) this.assumed.delete(key);
      if (type !== 'delete' && wantsScheduling(pod, opts.schedulerName)) this.queue.add(key);
    });
    informers.get('nodes').on((type, node, old) => {
      // A node appeared or changed in a way that may make room: retry the pending pods now.
      const relevant =
        type === 'add' ||
        JSON.stringify([
          node.status?.conditions?.map((c) => [c.type, c.status]),
          node.spec?.taints,
          node.spec?.unschedulable,
          node.status?.allocatable,
          node.metadata?.labels,
        ]) !==
          JSON.stringify([
            old?.status?.conditions?.map((c) => [c.type, c.status]),
            old?.spec?.taints,
            old?.spec?.unschedulable,
            old?.status?.allocatable,
            old?.metadata?.labels,
          ]);
      if (type !== 'delete' && relevant) this.requeuePending();
    });
    // A pod that finished or went away frees capacity.
    informers.get('pods').on((type, pod, old) => {
      if (
        type === 'delete' ||
        (pod.status?.phase !== old?.status?.phase &&
          (pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed'))
      ) {
        if (pod.spec?.nodeName) this.requeuePending();
      }
    });
  }

  start(): void {
    this.queue.run();
    this.requeuePending();
  }

  stop(): void {
    this.queue.stop();
  }

  private requeuePending(): void {
    for (const p of this.informers.get('pods').list()) {
      if (wantsScheduling(p, this.opts.schedulerName) && !this.assumed.has(keyOf(p))) this.queue.add(keyOf(p));
    }
  }

  private async scheduleOne(key: string): Promise<void> {
    const pod = this.informers.get('pods').get(key);
    if (!pod || !wantsScheduling(pod, this.opts.schedulerName) || this.assumed.has(key)) return;
    const nodes = this.informers.get('nodes').list();
    const pods = this.informers
      .get('pods')
      .list()
      .filter((p) => !this.assumed.has(keyOf(p)));
    for (const { pod: ap, node } of this.assumed.values()) pods.push({ ...ap, spec: { ...ap.spec!, nodeName: node } });
    const result = schedulePod(pod, buildNodeInfos(nodes, pods).values());
    if (result.node === undefined) {
      this.log.info({ pod: key, reason: result.message }, 'pod unschedulable');
      await this.recordFailure(pod, result.message);
      throw new Unschedulable(result.message);
    }
    // Assume, then bind in the background (kube-scheduler's binding cycle): the next pod is scheduled against
    // the assumed placement at once instead of waiting for this pod's API round trip, so a burst of pods is
    // placed at the scheduler's speed, not at one binding round trip per pod.
    this.assumed.set(key, { pod, node: result.node });
    while (this.binding >= MAX_BINDINGS_IN_FLIGHT) await new Promise<void>((r) => this.bindSlots.push(r));
    this.binding++;
    void this.bind(key, pod, result.node).finally(() => {
      this.binding--;
      this.bindSlots.shift()?.();
    });
  }

  private async bind(key: string, pod: V1Pod, node: string): Promise<void> {
    const ns = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    try {
      await this.clients.core.createNamespacedPodBinding({
        name,
        namespace: ns,
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name, namespace: ns },
          target: { apiVersion: 'v1', kind: 'Node', name: node },
        },
      });
      this.log.info({ pod: key, node }, 'bound');
      this.events?.event(
        refTo('Pod', 'v1', pod),
        'Normal',
        'Scheduled',
        `Successfully assigned ${ns}/${name} to ${node}`,
      );
      // Forget the assumption if the informer never reports it (pod deleted in between, say).
      setTimeout(() => {
        const a = this.assumed.get(key);
        if (a && a.node === node) this.assumed.delete(key);
      }, 30_000).unref();
    } catch (err) {
      this.assumed.delete(key);
      if (isNotFound(err) || isConflict(err)) return; // gone, or bound by someone else meanwhile
      this.log.warn({ pod: key, node, err: describeError(err) }, 'binding failed; rescheduling');
      this.queue.addRateLimited(key);
    }
  }

  private async recordFailure(pod: V1Pod, message: string): Promise<void> {
    const ns = pod.metadata!.namespace!;
    const name = pod.metadata!.name!;
    const cur = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
    if (!(cur?.status === 'False' && cur.reason === 'Unschedulable' && cur.message === message)) {
      const conditions = [
        ...(pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled'),
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message,
          lastTransitionTime: new Date().toISOString(),
        },
      ];
      try {
        await this.clients.core.patchNamespacedPodStatus(
          { name, namespace: ns, body: { status: { conditions } } },
          mergePatch,
        );
      } catch (err) {
        if (!isNotFound(err))
          this.log.warn({ pod: `${ns}/${name}`, err: describeError(err) }, 'could not record PodScheduled condition');
      }
    }
    this.events?.event(refTo('Pod', 'v1', pod), 'Warning', 'FailedScheduling', message);
  }
}
