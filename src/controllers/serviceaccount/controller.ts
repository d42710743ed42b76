import { isAlreadyExists } from '../../client/errors.js';
import { keyOf } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { logSyncError, type Controller, type ControllerContext } from '../types.js';

/**
 * kube-controller-manager's serviceaccount controller: every active namespace has a `default` ServiceAccount;
 * a deleted one comes back. Keyed by namespace; level-triggered from the namespace and ServiceAccount caches.
 */
export class ServiceAccountController implements Controller {
  readonly name = 'serviceaccount';
  static readonly DEFAULT = 'default';
  private readonly queue: WorkQueue;

  constructor(private readonly ctx: ControllerContext) {
    const log = ctx.log.child({ controller: this.name });
    this.queue = new WorkQueue(
      (ns) => this.sync(ns),
      (ns, err) => logSyncError(log, ns, err),
    );
    ctx.informers.get('namespaces').on((type, ns) => {
      if (type !== 'delete') this.queue.add(keyOf(ns));
    });
    ctx.informers.get('serviceAccounts').on((type, sa) => {
      if (type === 'delete' && sa.metadata?.name === ServiceAccountController.DEFAULT)
        this.queue.add(sa.metadata.namespace ?? '');
    });
  }

  start(): void {
    this.queue.run();
    for (const ns of this.ctx.informers.get('namespaces').list()) this.queue.add(keyOf(ns));
  }

  stop(): void {
    this.queue.stop();
  }

  private async sync(namespace: string): Promise<void> {
    const ns = this.ctx.informers.get('namespaces').get(namespace);
    if (!ns || ns.metadata?.deletionTimestamp || ns.status?.phase === 'Terminating') return;
    const have = this.ctx.informers
      .get('serviceAccounts')
      .list()
      .some((sa) => sa.metadata?.namespace === namespace && sa.metadata?.name === ServiceAccountController.DEFAULT);
    if (have) return;
    try {
      await this.ctx.clients.core.createNamespacedServiceAccount({
        namespace,
        body: { metadata: { name: ServiceAccountController.DEFAULT } },
      });
      this.ctx.log.info({ controller: this.name, namespace }, 'created the default ServiceAccount');
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
  }
}
