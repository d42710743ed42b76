import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { rankPodsForDeletion } from '../../../src/controllers/replicaset/ranking.js';

function pod(
  name: string,
  o: { node?: string; phase?: string; ready?: boolean; readyAt?: string; created?: string; restarts?: number } = {},
): V1Pod {
  return {
    metadata: { name, creationTimestamp: (o.created ?? '2026-01-01T00:00:00Z') as never },
    spec: { containers: [], nodeName: o.node },
    status: {
      phase: o.phase ?? 'Running',
      conditions: [
        {
          type: 'Ready',
          status: o.ready ? 'True' : 'False',
          lastTransitionTime: (o.readyAt ?? '2026-01-01T00:00:00Z') as never,
        },
      ],
      containerStatuses: [{ name: 'c', restartCount: o.restarts ?? 0, ready: !!o.ready, image: '', imageID: '' }],
    },
  };
}

describe('rankPodsForDeletion', () => {
  it('orders unscheduled, pending, not ready, recently ready, restarted, newer first', () => {
    const pods = [
      pod('ready-old', { node: 'n1', ready: true, readyAt: '2026-01-01T00:00:00Z' }),
      pod('ready-new', { node: 'n1', ready: true, readyAt: '2026-01-02T00:00:00Z' }),
      pod('notready', { node: 'n1' }),
      pod('pending', { node: 'n1', phase: 'Pending' }),
      pod('unscheduled', { phase: 'Pending' }),
      pod('restarted', { node: 'n1', restarts: 3 }),
      pod('newer', { node: 'n1', created: '2026-02-01T00:00:00Z' }),
    ];
    expect(rankPodsForDeletion(pods).map((p) => p.metadata!.name)).toEqual([
      'unscheduled',
      'pending',
      'restarted',
      'newer',
      'notready',
      'ready-new',
      'ready-old',
    ]);
  });
});

describe('msUntilAvailable', () => {
  it('honours minReadySeconds from the Ready transition time', async () => {
    const { msUntilAvailable } = await import('../../../src/controllers/objects.js');
    const p = pod('a', { node: 'n1', ready: true, readyAt: '2026-01-01T00:00:00Z' });
    const t0 = Date.parse('2026-01-01T00:00:00Z');
    expect(msUntilAvailable(p, 0, t0)).toBe(0);
    expect(msUntilAvailable(p, 10, t0 + 4000)).toBe(6000);
    expect(msUntilAvailable(p, 10, t0 + 10_000)).toBe(0);
    expect(msUntilAvailable(pod('b', { node: 'n1' }), 0, t0)).toBe(-1);
  });
});
