import { isAlreadyExists, isNotFound } from '../../client/errors.js';
import { keyOf } from '../../client/informer.js';
import { WorkQueue } from '../../client/workqueue.js';
import { logSyncError, type Controller, type ControllerContext } from '../types.js';

const ROOT_CA_CONFIGMAP = 'kube-root-ca.crt';

/**
 * kube-controller-manager's root-ca-cert-publisher: a `kube-root-ca.crt` ConfigMap with the cluster CA
 * (`ca.crt`) in every active namespace, put back when deleted or edited; pods' ServiceAccount volumes read it.
 */
export class RootCaPublisher implements Controller {
  readonly name = 'root-ca-cert-publisher';
  private readonly queue: WorkQueue;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly caPem: string,
  ) {
    const log = ctx.log.child({ controller: this.name });
    this.queue = new WorkQueue(
      (ns) => this.sync(ns),
      (ns, err) => logSyncError(log, ns, err),
    );
    ctx.informers.get('namespaces').on((type, ns) => {
      if (type !== 'delete') this.queue.add(keyOf(ns));
    });
  }

  start(): void {
    this.queue.run();
    for (const ns of this.ctx.informers.get('namespaces').list()) this.queue.add(keyOf(ns));
    // level-triggered against edits and deletions of the ConfigMap too (no ConfigMap informer: resync)
    this.timer = setInterval(() => {
      for (const ns of this.ctx.informers.get('namespaces').list()) this.queue.add(keyOf(ns));
    }, 30_000);
  }

  private timer?: NodeJS.Timeout;

  stop(): void {
    clearInterval(this.timer);
    this.queue.stop();
  }

  private async sync(namespace: string): Promise<void> {
    const ns = this.ctx.informers.get('namespaces').get(namespace);
    if (!ns || ns.metadata?.deletionTimestamp || ns.status?.phase === 'Terminating') return;
    const core = this.ctx.clients.core;
    const data = { 'ca.crt': this.caPem };
    try {
      const cur = await core.readNamespacedConfigMap({ name: ROOT_CA_CONFIGMAP, namespace });
      if (cur.data?.['ca.crt'] === this.caPem) return;
      await core.replaceNamespacedConfigMap({
        name: ROOT_CA_CONFIGMAP,
        namespace,
        body: { ...cur, data },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      try {
        await core.createNamespacedConfigMap({ namespace, body: { metadata: { name: ROOT_CA_CONFIGMAP }, data } });
        this.ctx.log.info({ controller: this.name, namespace }, 'published the cluster CA');
      } catch (e) {
        if (!isAlreadyExists(e)) throw e;
      }
    }
  }
}
