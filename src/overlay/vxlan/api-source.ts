/**
 * Peers from Node objects through the API server: an informer (list + watch) over /api/v1/nodes, and a
 * JSON merge patch on this node's own Node to publish its VTEP. Only changes to what the overlay uses
 * (podCIDR, public IP, VTEP MAC, membership) wake the agent, not the status heartbeats.
 */
import * as k8s from '@kubernetes/client-node';
import type { Logger } from '../../util/log.js';
import { errorMessage } from '../../util/errors.js';
import type { PeerSource } from './agent.js';
import { peerFromNode, peerKey, vtepAnnotationPatch, type NodeLike } from './nodes.js';
import type { Peer } from './peers.js';

const RESTART_DELAY_MS = 3000;

export class ApiPeerSource implements PeerSource {
  private readonly kc = new k8s.KubeConfig();
  private readonly core: k8s.CoreV1Api;
  private informer: k8s.Informer<k8s.V1Node> & k8s.ObjectCache<k8s.V1Node>;
  private onChange: (() => void) | undefined;
  private lastKey = '';
  private stopped = false;
  private restartTimer: NodeJS.Timeout | undefined;

  constructor(
    kubeconfigPath: string,
    private readonly log: Logger,
  ) {
    this.kc.loadFromFile(kubeconfigPath);
    this.core = this.kc.makeApiClient(k8s.CoreV1Api);
    this.informer = k8s.makeInformer<k8s.V1Node>(this.kc, '/api/v1/nodes', () => this.core.listNode());
  }

  async start(onChange: () => void): Promise<void> {
    this.onChange = onChange;
    const changed = () => this.maybeChanged();
    this.informer.on('add', changed);
    this.informer.on('update', changed);
    this.informer.on('delete', changed);
    this.informer.on('error', (err: unknown) => {
      if (this.stopped) return;
      this.log.warn({ err: errorMessage(err) }, 'node watch failed; restarting');
      this.restartTimer = setTimeout(() => {
        if (!this.stopped)
          this.informer
            .start()
            .catch((e: unknown) => this.log.warn({ err: errorMessage(e) }, 'node watch restart failed'));
      }, RESTART_DELAY_MS);
    });
    await this.informer.start();
    this.maybeChanged();
  }

  peers(): Peer[] {
    return this.informer
      .list()
      .map((n) => peerFromNode(n as NodeLike))
      .filter((p): p is Peer => p !== undefined);
  }

  async publish(nodeName: string, vtepMAC: string, publicIP: string): Promise<void> {
    await this.core.patchNode(
      { name: nodeName, body: vtepAnnotationPatch(vtepMAC, publicIP) },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    await this.informer.stop();
  }

  private maybeChanged(): void {
    const key = this.peers().map(peerKey).sort().join('\n');
    if (key === this.lastKey) return;
    this.lastKey = key;
    this.onChange?.();
  }
}
