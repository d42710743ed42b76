import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { Clients } from '../../../src/client/apis.js';
import type { InformerFactory } from '../../../src/client/informers.js';
import { Scheduler } from '../../../src/scheduler/scheduler.js';
import { createLogger } from '../../../src/util/log.js';

type Handler<T> = (type: 'add' | 'update' | 'delete', obj: T, old?: T) => void;

/** The part of an informer the scheduler uses, over a plain map. */
function fakeInformer<T extends { metadata?: { name?: string; namespace?: string } }>(items: T[]) {
  const byKey = new Map(
    items.map((o) => [`${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`, o]),
  );
  const handlers: Handler<T>[] = [];
  return {
    on: (h: Handler<T>) => void handlers.push(h),
    list: () => [...byKey.values()],
    get: (key: string) => byKey.get(key),
  };
}

const node = (name: string): V1Node => ({
  metadata: { name, labels: { 'kubernetes.io/hostname': name } },
  status: {
    allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
    conditions: [{ type: 'Ready', status: 'True' }],
  },
});
const pod = (name: string): V1Pod => ({
  metadata: { name, namespace: 'default', uid: name },
  spec: { containers: [{ name: 'c', image: 'x' }] },
  status: { phase: 'Pending' },
});

describe('scheduler binding', () => {
  it('binds in the background: a burst is placed without waiting for each binding, spread across nodes', async () => {
    const pods = Array.from({ length: 30 }, (_, i) => pod(`p${i}`));
    const informers = { pods: fakeInformer(pods), nodes: fakeInformer(['n1', 'n2', 'n3'].map(node)) };
    const bindings: { pod: string; node: string }[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const clients = {
      core: {
        createNamespacedPodBinding: async (req: { name: string; body: { target: { name: string } } }) => {
          bindings.push({ pod: req.name, node: req.body.target.name });
          await gate; // the API server is slow: no binding returns until released
        },
      },
    } as unknown as Clients;
    const s = new Scheduler(
      clients,
      { get: (kind: 'pods' | 'nodes') => informers[kind] } as unknown as InformerFactory,
      createLogger('scheduler'),
      { schedulerName: 'default-scheduler', backoffInitialMs: 10, backoffMaxMs: 100 },
    );
    s.start();
    const end = Date.now() + 5000;
    while (bindings.length < 16 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    // 16 bindings in flight at once although none has returned (one at a time would stop at 1)
    expect(bindings).toHaveLength(16);
    release();
    while (bindings.length < 30 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    expect(new Set(bindings.map((b) => b.pod)).size).toBe(30);
    const perNode = ['n1', 'n2', 'n3'].map((n) => bindings.filter((b) => b.node === n).length);
    expect(perNode).toEqual([10, 10, 10]); // assumed placements count, so the burst spreads evenly
    s.stop();
  });
});
