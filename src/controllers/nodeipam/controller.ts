import { mergePatch } from '../../client/apis.js';
import { isNotFound } from '../../client/errors.js';
import { keyOf } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { logSyncError, type Controller, type ControllerContext } from '../types.js';
import { type NodeCidrAllocator, nodeCidrAllocators } from './cidr.js';

/**
 * Gives every Node without spec.podCIDR the lowest free /N of the cluster CIDR, one per family on a
 * dual-stack cluster (spec.podCIDRs, primary family first; spec.podCIDR is the first). The used set is read
 * from all Nodes each time (plus allocations whose update we have not seen yet), so restarts never
 * produce duplicates. One worker: allocations are serial.
 */
export class NodeIpamController implements Controller {
  readonly name = 'nodeipam';
  private readonly queue: WorkQueue;
  private readonly allocators: NodeCidrAllocator[];
  /** node name → CIDRs written but not yet observed through the informer. */
  private readonly inFlight = new Map<string, string[]>();

  constructor(
    private readonly ctx: ControllerContext,
    clusterCidr: string,
    maskSize: number,
    maskSizeV6 = 64,
  ) {
    this.allocators = nodeCidrAllocators(clusterCidr, maskSize, maskSizeV6);
    const log = ctx.log.child({ controller: this.name });
    this.queue = new WorkQueue(
      (key) => this.sync(key),
      (key, err) => logSyncError(log, key, err),
    );
    ctx.informers.get('nodes').on((type, node) => {
      if (type === 'delete' || node.spec?.podCIDR) this.inFlight.delete(node.metadata?.name ?? '');
      if (type !== 'delete') this.queue.add(keyOf(node));
    });
  }

  start(): void {
    this.queue.run();
    for (const n of this.ctx.informers.get('nodes').list()) this.queue.add(keyOf(n));
  }

  stop(): void {
    this.queue.stop();
  }

  private async sync(name: string): Promise<void> {
    const nodes = this.ctx.informers.get('nodes');
    const node = nodes.get(name);
    if (!node || node.spec?.podCIDR || this.inFlight.has(name)) return;
    const used = new Set<string>([...this.inFlight.values()].flat());
    for (const n of nodes.list()) {
      for (const c of [n.spec?.podCIDR, ...(n.spec?.podCIDRs ?? [])]) if (c) used.add(c);
    }
    const cidrs = this.allocators.map((a) => a.allocate(used));
    this.inFlight.set(name, cidrs);
    try {
      // resourceVersion guard: if the Node changed meanwhile (maybe someone set a CIDR), we get 409 and retry.
      await this.ctx.clients.core.patchNode(
        {
          name,
          body: {
            metadata: { resourceVersion: node.metadata?.resourceVersion },
            spec: { podCIDR: cidrs[0], podCIDRs: cidrs },
          },
        },
        mergePatch,
      );
      this.ctx.log.info({ controller: this.name, node: name, podCIDRs: cidrs }, 'allocated pod CIDRs');
    } catch (err) {
      this.inFlight.delete(name);
      if (!isNotFound(err)) throw err;
    }
  }
}
