import { describe, expect, it } from 'vitest';
import type { ProxyBackend, SyncStats } from '../../../src/proxy/backend.js';
import type { DesiredState } from '../../../src/proxy/model/types.js';
import { ProxyServer, type SideEffects } from '../../../src/proxy/server.js';
import { slice, svc } from '../../helpers/proxy/objects.js';

class RecordingBackend implements ProxyBackend {
  readonly mode = 'recording';
  calls: (string[] | 'full')[] = [];
  async init(): Promise<void> {}
  async sync(_desired: DesiredState, changed: ReadonlySet<string> | 'full'): Promise<SyncStats> {
    this.calls.push(changed === 'full' ? 'full' : [...changed].sort());
    return { full: changed === 'full', rules: 1, elements: 0, bytes: 0 };
  }
  async cleanup(): Promise<void> {}
}

/** Records what the side effects were asked to do; `failAnnounce` makes the announcer throw. */
function recordingSideEffects() {
  const announced: string[][] = [];
  let healthSyncs = 0;
  let failAnnounce = false;
  const side: SideEffects = {
    health: { sync: async () => void healthSyncs++, close: () => undefined },
    announcer: {
      sync: async (owned: ReadonlySet<string>) => {
        if (failAnnounce) throw new Error('RTNETLINK answers: Operation not permitted');
        announced.push([...owned].sort());
      },
      cleanup: async () => undefined,
    },
  };
  return {
    side,
    announced,
    healthSyncs: () => healthSyncs,
    failAnnounce: (v: boolean) => (failAnnounce = v),
  };
}

function lbServer() {
  const backend = new RecordingBackend();
  const fx = recordingSideEffects();
  const server = new ProxyServer(
    backend,
    {
      mode: 'recording',
      node: { nodeName: 'n1' },
      metricsPort: 0,
      minSyncIntervalMs: 0,
      fullSyncIntervalMs: 3_600_000,
    },
    fx.side,
  );
  server.tracker.updateService(svc('lb', { type: 'LoadBalancer', clusterIP: '10.96.0.10' }, ['198.18.0.200']));
  server.tracker.updateSlice(slice('lb', [{ ip: '10.244.1.2', node: 'n1' }]));
  return { backend, server, ...fx };
}

describe('proxy server: datapath and side effects run in separate loops', () => {
  it('a node-readiness flap re-runs the L2 announcement only, never an nft transaction', async () => {
    const { backend, server, announced } = lbServer();
    server.setReadyNodes(['n1']);
    server.start();
    await server.idle();
    expect(backend.calls).toEqual(['full']);
    expect(announced.at(-1)).toEqual(['198.18.0.200']);

    server.setReadyNodes([]); // n1 flaps NotReady: it must stop announcing
    await server.idle();
    expect(announced.at(-1)).toEqual([]);
    server.setReadyNodes(['n1']); // ...and Ready again
    await server.idle();
    expect(announced.at(-1)).toEqual(['198.18.0.200']);
    expect(backend.calls).toEqual(['full']); // no datapath sync at all for the flap
    await server.stop(false);
  });

  it('a failing announcer is retried on its own and not counted as a datapath sync failure', async () => {
    const { backend, server, announced, failAnnounce, healthSyncs } = lbServer();
    failAnnounce(true);
    server.setReadyNodes(['n1']);
    server.start();
    await server.runner.idle();
    await server.sideEffects.idle();
    expect(server.sideEffectErrors).toBeGreaterThanOrEqual(1);
    expect(server.runner.lastError).toBeUndefined();
    expect(server.runner.healthy().ok).toBe(true);
    expect(
      await server.metrics.registry.getSingleMetricAsString('kubeproxy_sync_proxy_rules_nftables_sync_failures_total'),
    ).toMatch(/ 0$/m);
    expect(backend.calls).toEqual(['full']);

    failAnnounce(false); // the retry (within a second) succeeds without another datapath sync
    const end = Date.now() + 5000;
    while (announced.length === 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    expect(announced.at(-1)).toEqual(['198.18.0.200']);
    expect(healthSyncs()).toBeGreaterThanOrEqual(2);
    expect(backend.calls).toEqual(['full']);
    await server.stop(false);
  });

  it('a datapath change runs the datapath sync and then the side effects', async () => {
    const { backend, server, announced } = lbServer();
    server.setReadyNodes(['n1']);
    server.start();
    await server.idle();
    const before = announced.length;
    server.tracker.updateService(svc('b', { clusterIP: '10.96.0.11' }));
    server.changed();
    await server.idle();
    expect(backend.calls).toEqual(['full', ['default/b']]);
    expect(announced.length).toBeGreaterThan(before);
    await server.stop(false);
  });
});
