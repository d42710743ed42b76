import type { V1Node } from '@kubernetes/client-node';
import { mergePatch } from '../../client/apis.js';
import { describeError, isNotFound } from '../../client/errors.js';
import type { Controller, ControllerContext } from '../types.js';
import { refTo, type EventRecorder } from '../../events/index.js';
import {
  evictionDelayMs,
  heartbeatSignature,
  HeartbeatTracker,
  podNotReadyConditions,
  readyCondition,
  withUnreachableTaints,
} from './logic.js';

export interface NodeLifecycleOptions {
  /** How often every node is checked. */
  monitorPeriodMs: number;
  /** No heartbeat for this long → Ready Unknown, unreachable taints, pods not ready. */
  gracePeriodMs: number;
  /** Unreachable for this long → its pods are deleted (force) so their controllers recreate them elsewhere. */
  podEvictionTimeoutMs: number;
}

/**
 * Node lifecycle: watches each node's heartbeat (Lease kube-node-lease/NAME and the Ready condition's
 * lastHeartbeatTime); marks silent nodes unreachable (Ready=Unknown, node.kubernetes.io/unreachable
 * NoSchedule+NoExecute taints, their pods' Ready=False so endpoints drop them), evicts their pods after
 * the eviction timeout, and clears all that when heartbeats resume.
 */
export class NodeLifecycleController implements Controller {
  private readonly events: EventRecorder;
  readonly name = 'nodelifecycle';
  private readonly tracker = new HeartbeatTracker();
  /** node → local time it was found unreachable. */
  private readonly unreachableSince = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: NodeLifecycleOptions,
  ) {
    this.events = ctx.recorder('node-controller');
    ctx.informers.get('nodes').on((type, node) => {
      if (type === 'delete') {
        this.tracker.forget(node.metadata?.name ?? '');
        this.unreachableSince.delete(node.metadata?.name ?? '');
      }
    });
    ctx.informers.get('nodeLeases');
    ctx.informers.get('pods');
  }

  start(): void {
    this.stopped = false;
    this.schedule();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), this.opts.monitorPeriodMs);
  }

  private async tick(): Promise<void> {
    try {
      for (const node of this.ctx.informers.get('nodes').list()) {
        if (this.stopped) return;
        try {
          await this.check(node);
        } catch (err) {
          this.ctx.log.warn(
            { controller: this.name, node: node.metadata?.name, err: describeError(err) },
            'node check failed',
          );
        }
      }
    } finally {
      this.schedule();
    }
  }

  private async check(node: V1Node): Promise<void> {
    const name = node.metadata!.name!;
    const lease = this.ctx.informers.get('nodeLeases').get(`kube-node-lease/${name}`);
    const now = Date.now();
    const silentFor = this.tracker.observe(name, heartbeatSignature(node, lease?.spec?.renewTime), now);
    const unreachable = silentFor > this.opts.gracePeriodMs;
    const iso = new Date(now).toISOString();
    const log = this.ctx.log.child({ controller: this.name, node: name });
    const { core } = this.ctx.clients;

    const conditions = readyCondition(node, unreachable, iso);
    if (conditions) {
      log.info(
        { ready: unreachable ? 'Unknown' : 'True' },
        unreachable ? 'node stopped heartbeating' : 'node heartbeats resumed',
      );
      await core.patchNodeStatus({ name, body: { status: { conditions } } }, mergePatch);
      // nodeutil.RecordNodeStatusChange: node events carry the node's name as uid, in namespace default.
      if (unreachable)
        this.events.event(
          { kind: 'Node', name, uid: name, namespace: '' },
          'Normal',
          'NodeNotReady',
          `Node ${name} status is now: NodeNotReady`,
        );
    }
    const taints = withUnreachableTaints(node, unreachable, iso);
    if (taints) await core.patchNode({ name, body: { spec: { taints } } }, mergePatch);

    if (!unreachable) {
      this.unreachableSince.delete(name);
      return;
    }
    if (!this.unreachableSince.has(name)) this.unreachableSince.set(name, now);
    const since = this.unreachableSince.get(name)!;
    const pods = this.ctx.informers
      .get('pods')
      .list()
      .filter((p) => p.spec?.nodeName === name && p.status?.phase !== 'Succeeded' && p.status?.phase !== 'Failed');
    for (const pod of pods) {
      const ns = pod.metadata!.namespace!;
      const podName = pod.metadata!.name!;
      try {
        if (now - since >= evictionDelayMs(pod, this.opts.podEvictionTimeoutMs)) {
          log.info({ pod: `${ns}/${podName}` }, 'evicting pod from unreachable node');
          await core.deleteNamespacedPod({ name: podName, namespace: ns, gracePeriodSeconds: 0 });
          continue;
        }
        const conds = podNotReadyConditions(pod, iso);
        if (conds) {
          await core.patchNamespacedPodStatus(
            { name: podName, namespace: ns, body: { status: { conditions: conds } } },
            mergePatch,
          );
          this.events.event(refTo('Pod', 'v1', pod), 'Warning', 'NodeNotReady', 'Node is not ready');
        }
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }
}
