import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { tolerates, termMatches } from '../../../src/scheduler/filters.js';
import { bytes, milliCpu, parseQuantity } from '../../../src/scheduler/quantity.js';
import { buildNodeInfos, fitErrorMessage, schedulePod, wantsScheduling } from '../../../src/scheduler/schedule.js';

function node(
  name: string,
  o: {
    ready?: boolean;
    cpu?: string;
    memory?: string;
    pods?: string;
    labels?: Record<string, string>;
    taints?: { key: string; value?: string; effect: string }[];
    unschedulable?: boolean;
  } = {},
): V1Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { taints: o.taints, unschedulable: o.unschedulable },
    status: {
      allocatable: { cpu: o.cpu ?? '2', memory: o.memory ?? '4Gi', pods: o.pods ?? '110' },
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
}

function pod(
  name: string,
  o: {
    cpu?: string;
    memory?: string;
    node?: string;
    owner?: string;
    nodeSelector?: Record<string, string>;
    tolerations?: V1Pod['spec'] extends infer S ? (S extends { tolerations?: infer T } ? T : never) : never;
  } = {},
): V1Pod {
  return {
    metadata: {
      name,
      namespace: 'default',
      ownerReferences: o.owner
        ? [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: o.owner, uid: o.owner, controller: true }]
        : undefined,
    },
    spec: {
      nodeName: o.node,
      nodeSelector: o.nodeSelector,
      tolerations: o.tolerations,
      containers: [
        {
          name: 'c',
          resources: { requests: { ...(o.cpu ? { cpu: o.cpu } : {}), ...(o.memory ? { memory: o.memory } : {}) } },
        },
      ],
    },
    status: { phase: o.node ? 'Running' : 'Pending' },
  };
}

describe('quantities', () => {
  it('parses the suffixes Kubernetes uses', () => {
    expect(milliCpu('100m')).toBe(100);
    expect(milliCpu('1.5')).toBe(1500);
    expect(milliCpu(2)).toBe(2000);
    expect(bytes('128Mi')).toBe(128 * 2 ** 20);
    expect(bytes('1G')).toBe(1e9);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(() => parseQuantity('12 cows')).toThrow(/invalid quantity/);
  });
});

describe('filters', () => {
  it('tolerations follow Kubernetes rules', () => {
    const taint = { key: 'k', value: 'v', effect: 'NoSchedule' };
    expect(tolerates({ key: 'k', operator: 'Equal', value: 'v' }, taint)).toBe(true);
    expect(tolerates({ key: 'k', operator: 'Equal', value: 'x' }, taint)).toBe(false);
    expect(tolerates({ key: 'k', operator: 'Exists', effect: 'NoExecute' }, taint)).toBe(false);
    expect(tolerates({ operator: 'Exists' }, taint)).toBe(true);
  });
  it('node affinity terms: expressions and metadata.name fields', () => {
    const n = node('n1', { labels: { zone: 'a', size: '5' } });
    expect(termMatches({ matchExpressions: [{ key: 'zone', operator: 'In', values: ['a', 'b'] }] }, n)).toBe(true);
    expect(termMatches({ matchExpressions: [{ key: 'size', operator: 'Gt', values: ['3'] }] }, n)).toBe(true);
    expect(termMatches({ matchExpressions: [{ key: 'zone', operator: 'DoesNotExist' }] }, n)).toBe(false);
    expect(termMatches({ matchFields: [{ key: 'metadata.name', operator: 'In', values: ['n1'] }] }, n)).toBe(true);
    expect(termMatches({}, n)).toBe(false);
  });
});

describe('schedulePod', () => {
  it('explains per reason why no node fits', () => {
    const nodes = [
      node('n1', { taints: [{ key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' }] }),
      node('n2', { cpu: '500m' }),
      node('n3', { cpu: '500m' }),
    ];
    const res = schedulePod(pod('p', { cpu: '1' }), buildNodeInfos(nodes, []).values());
    expect(res.node).toBeUndefined();
    expect(res.node === undefined && res.message).toBe(
      '0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }, 2 Insufficient cpu.',
    );
    expect(fitErrorMessage(0, {})).toBe('0/0 nodes are available.');
  });

  it('filters not-ready, unschedulable, selector mismatch, and full nodes', () => {
    const nodes = [
      node('a', { ready: false }),
      node('b', { unschedulable: true }),
      node('c', { labels: { disk: 'hdd' } }),
      node('d', { pods: '1' }),
      node('e', { labels: { disk: 'ssd' } }),
    ];
    const bound = [pod('x', { node: 'd' })];
    const res = schedulePod(pod('p', { nodeSelector: { disk: 'ssd' } }), buildNodeInfos(nodes, bound).values());
    expect(res).toEqual({ node: 'e' });
    const none = schedulePod(pod('p', { nodeSelector: { disk: 'nvme' } }), buildNodeInfos(nodes, bound).values());
    expect(none.node === undefined && none.reasons).toEqual({
      'node(s) were not ready': 1,
      "node(s) didn't match Pod's node affinity/selector": 5,
      'node(s) were unschedulable': 1,
      'Too many pods': 1,
    });
  });

  it('tolerated taints are fine; counts requests of pods already there', () => {
    const nodes = [
      node('n1', { cpu: '1', taints: [{ key: 'dedicated', value: 'x', effect: 'NoExecute' }] }),
      node('n2', { cpu: '1' }),
    ];
    const bound = [pod('big', { node: 'n2', cpu: '800m' })];
    const p = pod('p', { cpu: '300m', tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'x' }] });
    expect(schedulePod(p, buildNodeInfos(nodes, bound).values())).toEqual({ node: 'n1' });
  });

  it('spreads pods of one owner, then prefers the least allocated node', () => {
    const nodes = [node('n1'), node('n2'), node('n3')];
    const bound = [
      pod('r1', { node: 'n1', owner: 'rs1' }),
      pod('r2', { node: 'n2', owner: 'rs1' }),
      pod('other', { node: 'n3', cpu: '1', owner: 'rs2' }),
    ];
    // n3 is the busiest but has none of rs1's pods.
    expect(schedulePod(pod('p', { owner: 'rs1' }), buildNodeInfos(nodes, bound).values())).toEqual({ node: 'n3' });
    // Without an owner, least allocated wins: n1 and n2 are equal, name breaks the tie.
    expect(schedulePod(pod('q'), buildNodeInfos(nodes, bound).values())).toEqual({ node: 'n1' });
  });

  it('wantsScheduling only for unbound pods of this scheduler', () => {
    expect(wantsScheduling(pod('p'))).toBe(true);
    expect(wantsScheduling(pod('p', { node: 'n1' }))).toBe(false);
    const other = pod('p');
    other.spec!.schedulerName = 'other';
    expect(wantsScheduling(other)).toBe(false);
  });
});
