import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  evictionDelayMs,
  heartbeatSignature,
  HeartbeatTracker,
  podNotReadyConditions,
  readyCondition,
  withUnreachableTaints,
} from '../../../src/controllers/nodelifecycle/logic.js';

const node = (
  o: {
    ready?: string;
    reason?: string;
    taints?: V1Node['spec'] extends infer S ? (S extends { taints?: infer T } ? T : never) : never;
  } = {},
): V1Node => ({
  metadata: { name: 'n1' },
  spec: { taints: o.taints },
  status: {
    conditions: [
      {
        type: 'Ready',
        status: o.ready ?? 'True',
        reason: o.reason,
        lastHeartbeatTime: '2026-01-01T00:00:00Z' as never,
      },
    ],
  },
});

describe('node lifecycle logic', () => {
  it('tracks silence on the local clock, resetting whenever the signature changes', () => {
    const t = new HeartbeatTracker();
    expect(t.observe('n1', 'a', 1000)).toBe(0);
    expect(t.observe('n1', 'a', 5000)).toBe(4000);
    expect(t.observe('n1', 'b', 6000)).toBe(0);
    expect(heartbeatSignature(node(), '2026-01-01T00:00:01Z')).not.toBe(
      heartbeatSignature(node(), '2026-01-01T00:00:02Z'),
    );
  });

  it('sets Ready Unknown when silent, and back to True only if it did so itself', () => {
    const unknown = readyCondition(node(), true, 'now')!;
    expect(unknown.find((c) => c.type === 'Ready')).toMatchObject({ status: 'Unknown', reason: 'NodeStatusUnknown' });
    expect(readyCondition(node({ ready: 'Unknown' }), true, 'now')).toBeUndefined();
    expect(
      readyCondition(node({ ready: 'Unknown', reason: 'NodeStatusUnknown' }), false, 'now')!.find(
        (c) => c.type === 'Ready',
      )!.status,
    ).toBe('True');
    expect(readyCondition(node({ ready: 'False', reason: 'KubeletNotReady' }), false, 'now')).toBeUndefined();
  });

  it('adds and removes only the unreachable taints', () => {
    const other = { key: 'dedicated', value: 'x', effect: 'NoSchedule' };
    const added = withUnreachableTaints(node({ taints: [other] }), true, 'now')!;
    expect(added.map((t) => `${t.key}:${t.effect}`)).toEqual([
      'dedicated:NoSchedule',
      'node.kubernetes.io/unreachable:NoSchedule',
      'node.kubernetes.io/unreachable:NoExecute',
    ]);
    expect(withUnreachableTaints(node({ taints: added }), true, 'now')).toBeUndefined();
    expect(withUnreachableTaints(node({ taints: added }), false, 'now')).toEqual([other]);
    expect(withUnreachableTaints(node({ taints: [other] }), false, 'now')).toBeUndefined();
  });

  it('eviction delay follows the pod toleration of the unreachable taint', () => {
    const pod = (tolerations?: object[]): V1Pod => ({ spec: { containers: [], tolerations: tolerations as never } });
    expect(evictionDelayMs(pod(), 60_000)).toBe(60_000);
    expect(
      evictionDelayMs(
        pod([{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 5 }]),
        60_000,
      ),
    ).toBe(5000);
    expect(evictionDelayMs(pod([{ operator: 'Exists' }]), 60_000)).toBe(Number.POSITIVE_INFINITY);
  });

  it('marks a ready pod not ready once', () => {
    const pod: V1Pod = {
      status: {
        conditions: [
          { type: 'Ready', status: 'True' },
          { type: 'ContainersReady', status: 'True' },
          { type: 'PodScheduled', status: 'True' },
        ],
      },
    };
    const conds = podNotReadyConditions(pod, 'now')!;
    expect(conds.map((c) => `${c.type}=${c.status}`).sort()).toEqual([
      'ContainersReady=False',
      'PodScheduled=True',
      'Ready=False',
    ]);
    expect(podNotReadyConditions({ status: { conditions: conds } }, 'now')).toBeUndefined();
  });
});
