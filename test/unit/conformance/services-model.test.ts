import { describe, expect, it } from 'vitest';
import { addressOf } from '../../../src/conformance/services/agent.js';
import {
  type Cell,
  type CellFacts,
  cellName,
  cellsFor,
  expectNftables,
  expectUserspace,
  judge,
  SERVICE_SHAPES,
  serviceName,
  type ServiceShape,
  type Try,
} from '../../../src/conformance/services/model.js';

const shape = (type: ServiceShape['type'], o: Partial<ServiceShape> = {}): ServiceShape => ({
  type,
  itp: 'Cluster',
  affinity: 'None',
  ...(type === 'ClusterIP' ? {} : { etp: 'Cluster' }),
  ...o,
});
const cell = (service: ServiceShape, source: Cell['source'], entry?: Cell['entry']): Cell => ({
  service,
  proto: 'TCP',
  family: 4,
  source,
  ...(entry ? { entry } : {}),
});

// be-a, be-b on node1; be-c on node2; node3 has none
const facts = (o: Partial<CellFacts> = {}): CellFacts => ({
  endpointNode: new Map([
    ['be-a', 'node1'],
    ['be-b', 'node1'],
    ['be-c', 'node2'],
  ]),
  nodeAddrs: new Map([
    ['node1', new Set(['198.18.0.11', '10.244.1.1'])],
    ['node2', new Set(['198.18.0.12', '10.244.2.1'])],
    ['node3', new Set(['198.18.0.13', '10.244.3.1'])],
  ]),
  endpointNodeName: 'node1',
  clientIP: '198.18.0.100',
  ...o,
});
const ok = (backend: string, seen: string): Try => ({ ok: true, backend, seen });

describe('services matrix: the cells', () => {
  it('covers type × policy × affinity × protocol × source, and the client through both entry nodes', () => {
    expect(SERVICE_SHAPES).toHaveLength(4 + 3 * 8);
    expect(new Set(SERVICE_SHAPES.map(serviceName)).size).toBe(SERVICE_SHAPES.length);
    expect(serviceName(shape('NodePort', { etp: 'Local', affinity: 'ClientIP' }))).toBe('np-el-ic-ac');
    const cells = cellsFor({ otherNode: true, families: [4], lbFamilies: [4] });
    // ClusterIP: 4 shapes × 2 protocols × 5 in-cluster sources; NodePort and external IPs: 8 × 2 × (5 + 2
    // entries for the client); LoadBalancer: 8 × 2 × 6
    expect(cells).toHaveLength(40 + 112 + 112 + 96);
    expect(new Set(cells.map(cellName)).size).toBe(cells.length);
    expect(cells.some((c) => c.service.type === 'ClusterIP' && c.source === 'client')).toBe(false);
    // one node: no "other node" cells; dual stack doubles; no LB address of a family: no LB cells of it
    const one = cellsFor({ otherNode: false, families: [4], lbFamilies: [4] });
    expect(one.some((c) => c.source.endsWith('other-node') || c.entry === 'other-node')).toBe(false);
    const dual = cellsFor({ otherNode: true, families: [4, 6], lbFamilies: [4] });
    expect(dual).toHaveLength(2 * cells.length - 96);
  });
});

describe('services matrix: what kube-proxy does', () => {
  it('ClusterIP: pods unmasqueraded, the node masqueraded, ITP Local drops where no endpoint is', () => {
    expect(expectNftables(cell(shape('ClusterIP'), 'pod-other-node'))).toMatchObject({
      answers: true,
      backends: { kind: 'all' },
      seenAs: 'source',
    });
    expect(expectNftables(cell(shape('ClusterIP'), 'host-other-node'))).toMatchObject({ seenAs: 'source-node' });
    expect(expectNftables(cell(shape('ClusterIP', { itp: 'Local' }), 'pod-other-node')).answers).toBe(false);
    expect(expectNftables(cell(shape('ClusterIP', { itp: 'Local' }), 'host-other-node')).answers).toBe(false);
    expect(expectNftables(cell(shape('ClusterIP', { itp: 'Local' }), 'pod-endpoint-node'))).toMatchObject({
      backends: { kind: 'node', node: 'source-node' },
    });
  });

  it('external destinations: Cluster masquerades; Local keeps the client, short-circuits pods and nodes', () => {
    expect(expectNftables(cell(shape('NodePort'), 'client', 'other-node'))).toMatchObject({
      answers: true,
      seenAs: 'entry-node',
    });
    expect(expectNftables(cell(shape('LoadBalancer'), 'client'))).toMatchObject({ seenAs: 'some-node' });
    expect(expectNftables(cell(shape('NodePort'), 'pod-self'))).toMatchObject({ seenAs: 'source-node' });
    const local = shape('NodePort', { etp: 'Local' });
    expect(expectNftables(cell(local, 'client', 'other-node')).answers).toBe(false);
    expect(expectNftables(cell(local, 'client', 'endpoint-node'))).toMatchObject({
      backends: { kind: 'node', node: 'endpoint-node' },
      seenAs: 'client',
    });
    expect(expectNftables(cell(local, 'pod-other-node'))).toMatchObject({
      backends: { kind: 'all' },
      seenAs: 'source',
    });
    expect(expectNftables(cell(local, 'host-other-node'))).toMatchObject({
      backends: { kind: 'all' },
      seenAs: 'source-node',
    });
    expect(expectNftables(cell(shape('LoadBalancer', { etp: 'Local' }), 'client'))).toMatchObject({
      backends: { kind: 'one-node' },
      seenAs: 'client',
    });
    // ITP does not apply to external destinations
    expect(expectNftables(cell(shape('ExternalIP', { itp: 'Local' }), 'pod-other-node')).answers).toBe(true);
    expect(expectNftables(cell(shape('NodePort', { affinity: 'ClientIP' }), 'client', 'endpoint-node'))).toMatchObject({
      sticky: true,
    });
  });

  it('userspace: the same endpoints, always seen from the proxy’s node', () => {
    expect(expectUserspace(cell(shape('ClusterIP'), 'pod-other-node'))).toMatchObject({ seenAs: 'source-node' });
    expect(expectUserspace(cell(shape('NodePort', { etp: 'Local' }), 'client', 'endpoint-node'))).toMatchObject({
      backends: { kind: 'node', node: 'endpoint-node' },
      seenAs: 'entry-node',
    });
    expect(expectUserspace(cell(shape('NodePort', { etp: 'Local' }), 'client', 'other-node')).answers).toBe(false);
  });
});

describe('services matrix: the judge', () => {
  const clusterFromPod = expectNftables(cell(shape('ClusterIP'), 'pod-endpoint-node'));
  const podFacts = facts({ sourceNode: 'node1', sourceIP: '10.244.1.7', sourcePod: 'cl-e' });

  it('passes what kube-proxy does and names what differs', () => {
    expect(judge(clusterFromPod, [ok('be-a', '10.244.1.7'), ok('be-c', '10.244.1.7')], podFacts).pass).toBe(true);
    const masq = judge(clusterFromPod, [ok('be-c', '198.18.0.11')], podFacts);
    expect(masq).toMatchObject({ pass: false, detail: 'be-c saw 198.18.0.11, expected source' });
    expect(judge(clusterFromPod, [ok('web-x', '10.244.1.7')], podFacts).detail).toContain('not an endpoint');
    expect(judge(clusterFromPod, [ok('be-a', '10.244.1.7'), { ok: false, err: 'timeout' }], podFacts).pass).toBe(false);
  });

  it('hairpin: a pod reaching itself is seen from its node, reaching another endpoint with its own address', () => {
    const e = expectNftables(cell(shape('ClusterIP'), 'pod-self'));
    const f = facts({ sourceNode: 'node1', sourceIP: '10.244.1.5', sourcePod: 'be-a' });
    expect(judge(e, [ok('be-a', '10.244.1.1'), ok('be-b', '10.244.1.5')], f).pass).toBe(true);
    expect(judge(e, [ok('be-a', '10.244.1.5')], f).pass).toBe(false);
  });

  it('Local: only the right node’s endpoints; affinity: one endpoint; a drop is a timeout, not a reject', () => {
    const local = expectNftables(cell(shape('NodePort', { etp: 'Local' }), 'client', 'endpoint-node'));
    const f = facts({ entryNode: 'node1' });
    expect(judge(local, [ok('be-a', '198.18.0.100'), ok('be-b', '198.18.0.100')], f).pass).toBe(true);
    expect(judge(local, [ok('be-c', '198.18.0.100')], f).detail).toContain('answered from node2');
    expect(judge(local, [ok('be-a', '198.18.0.11')], f).detail).toContain('expected client');
    const sticky = expectNftables(cell(shape('NodePort', { affinity: 'ClientIP' }), 'client', 'endpoint-node'));
    expect(judge(sticky, [ok('be-a', '10.244.1.1'), ok('be-b', '10.244.1.1')], f).detail).toContain('affinity');
    const lb = expectNftables(cell(shape('LoadBalancer', { etp: 'Local' }), 'client'));
    expect(judge(lb, [ok('be-a', '198.18.0.100'), ok('be-c', '198.18.0.100')], f).detail).toContain('several');
    const drop = expectNftables(cell(shape('NodePort', { etp: 'Local' }), 'client', 'other-node'));
    expect(judge(drop, [{ ok: false, err: 'timeout' }], f).pass).toBe(true);
    expect(judge(drop, [{ ok: false, err: 'refused' }], f).detail).toContain('kube-proxy drops');
    expect(judge(drop, [ok('be-a', '198.18.0.100')], f).pass).toBe(false);
  });

  it('reads the agent’s peer addresses of both families', () => {
    expect(addressOf('10.244.1.7:40000')).toBe('10.244.1.7');
    expect(addressOf('[fd00:10:244:1::7]:40000')).toBe('fd00:10:244:1::7');
    expect(addressOf('fd00::7')).toBe('fd00::7');
  });
});
