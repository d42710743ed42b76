import type { V1Pod, V1Service } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  addressTypesFor,
  computeSlices,
  computeSubsets,
  sliceSignature,
} from '../../../src/controllers/endpointslice/compute.js';

const svc = (
  ports: { name?: string; port: number; targetPort?: number | string; protocol?: string }[],
  extra: Partial<V1Service['spec']> = {},
): V1Service => ({
  metadata: { name: 'web', namespace: 'default' },
  // As the API server stores it: ipFamilies is always set on a Service with a ClusterIP.
  spec: { selector: { app: 'web' }, ports: ports as never, ipFamilies: ['IPv4'], ...extra },
});

function pod(
  name: string,
  ip: string | undefined,
  o: {
    ready?: boolean;
    terminating?: boolean;
    labels?: Record<string, string>;
    portName?: string;
    node?: string;
    ns?: string;
    phase?: string;
  } = {},
): V1Pod {
  return {
    metadata: {
      name,
      namespace: o.ns ?? 'default',
      uid: `uid-${name}`,
      labels: o.labels ?? { app: 'web' },
      ...(o.terminating ? { deletionTimestamp: '2026-01-01T00:00:00Z' as never } : {}),
    },
    spec: {
      nodeName: o.node ?? 'n1',
      containers: [{ name: 'c', ports: o.portName ? [{ name: o.portName, containerPort: 9000 }] : [] }],
    },
    status: {
      phase: o.phase ?? 'Running',
      podIP: ip,
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
}

describe('computeSlices', () => {
  it("carries a pod's hostname only for the Service its subdomain names (DNS spec)", () => {
    const named = (subdomain: string | undefined): V1Pod => {
      const p = pod('db-0', '10.244.0.9');
      p.spec = { ...p.spec, hostname: 'db-0', ...(subdomain ? { subdomain } : {}) } as V1Pod['spec'];
      return p;
    };
    const hostOf = (p: V1Pod): string | undefined =>
      computeSlices(svc([{ port: 80 }]), [p])[0]?.endpoints[0]?.hostname ?? undefined;
    expect(hostOf(named('web'))).toBe('db-0');
    expect(hostOf(named('other'))).toBeUndefined();
    expect(hostOf(named(undefined))).toBeUndefined();
  });

  it('lists selected pods with IPs, conditions, node and targetRef', () => {
    const slices = computeSlices(svc([{ name: 'http', port: 80, targetPort: 8080 }]), [
      pod('b', '10.244.1.3', { ready: false }),
      pod('a', '10.244.0.2'),
      pod('c', '10.244.0.4', { terminating: true }),
      pod('noip', undefined),
      pod('other', '10.244.0.9', { labels: { app: 'db' } }),
      pod('otherns', '10.244.0.10', { ns: 'kube-system' }),
      pod('done', '10.244.0.11', { phase: 'Succeeded' }),
    ]);
    expect(slices).toHaveLength(1);
    const s = slices[0]!;
    expect(s.addressType).toBe('IPv4');
    expect(s.ports).toEqual([{ name: 'http', port: 8080, protocol: 'TCP' }]);
    expect(s.endpoints.map((e) => [e.targetRef?.name, e.addresses[0], e.conditions])).toEqual([
      ['a', '10.244.0.2', { ready: true, serving: true, terminating: false }],
      ['b', '10.244.1.3', { ready: false, serving: false, terminating: false }],
      ['c', '10.244.0.4', { ready: false, serving: true, terminating: true }],
    ]);
    expect(s.endpoints[0]!.nodeName).toBe('n1');
  });

  it('resolves named target ports per pod and groups pods by resolved ports', () => {
    const slices = computeSlices(svc([{ port: 80, targetPort: 'web' }]), [
      pod('a', '10.244.0.2', { portName: 'web' }),
      pod('b', '10.244.0.3'), // no such named port: not an endpoint
    ]);
    expect(slices).toHaveLength(1);
    expect(slices[0]!.ports).toEqual([{ port: 9000, protocol: 'TCP' }]);
    expect(slices[0]!.endpoints.map((e) => e.targetRef?.name)).toEqual(['a']);
  });

  it('defaults targetPort to port, cuts slices at the maximum, and keeps one empty slice', () => {
    const pods = Array.from({ length: 7 }, (_, i) => pod(`p${i}`, `10.244.0.${i + 2}`));
    const slices = computeSlices(svc([{ port: 80 }]), pods, 3);
    expect(slices.map((s) => s.endpoints.length)).toEqual([3, 3, 1]);
    expect(slices[0]!.ports[0]!.port).toBe(80);
    expect(computeSlices(svc([{ port: 80 }]), [])).toEqual([{ addressType: 'IPv4', ports: [], endpoints: [] }]);
  });

  it('publishNotReadyAddresses reports every endpoint ready', () => {
    const [s] = computeSlices(svc([{ port: 80 }], { publishNotReadyAddresses: true }), [
      pod('a', '10.244.0.2', { ready: false }),
    ]);
    expect(s!.endpoints[0]!.conditions?.ready).toBe(true);
  });

  it('mirrors into Endpoints subsets and signatures change with readiness', () => {
    const pods = [
      pod('a', '10.244.0.2'),
      pod('b', '10.244.0.3', { ready: false }),
      pod('c', '10.244.0.4', { terminating: true }),
    ];
    const slices = computeSlices(svc([{ name: 'http', port: 80 }]), pods);
    const subsets = computeSubsets(slices);
    expect(subsets).toHaveLength(1);
    expect(subsets[0]!.addresses!.map((a) => a.ip)).toEqual(['10.244.0.2']);
    expect(subsets[0]!.notReadyAddresses!.map((a) => a.ip)).toEqual(['10.244.0.3']);
    expect(subsets[0]!.ports).toEqual([{ name: 'http', port: 80, protocol: 'TCP' }]);
    const before = sliceSignature(slices[0]!);
    const after = sliceSignature(
      computeSlices(svc([{ name: 'http', port: 80 }]), [
        pod('a', '10.244.0.2', { ready: false }),
        pods[1]!,
        pods[2]!,
      ])[0]!,
    );
    expect(after).not.toBe(before);
  });
});

describe('computeSlices, dual stack', () => {
  const dualPod = (name: string, v4: string, v6: string): V1Pod => {
    const p = pod(name, v4);
    p.status!.podIPs = [{ ip: v4 }, { ip: v6 }];
    return p;
  };
  it('publishes one slice per address family of the Service, each with that family of pod IPs', () => {
    const s = svc([{ port: 80 }], { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' });
    const slices = computeSlices(s, [
      dualPod('a', '10.244.1.5', 'fd00:10:244:1::5'),
      dualPod('b', '10.244.2.5', 'fd00:10:244:2::5'),
    ]);
    expect(slices.map((x) => [x.addressType, x.endpoints.map((e) => e.addresses[0])])).toEqual([
      ['IPv4', ['10.244.1.5', '10.244.2.5']],
      ['IPv6', ['fd00:10:244:1::5', 'fd00:10:244:2::5']],
    ]);
    const v6only = computeSlices(svc([{ port: 80 }], { ipFamilies: ['IPv6'] }), [
      dualPod('a', '10.244.1.5', 'fd00::5'),
    ]);
    expect(v6only.map((x) => [x.addressType, x.endpoints.length])).toEqual([['IPv6', 1]]);
  });
  it('keeps an empty slice per family with no endpoints, and infers families as Kubernetes does', () => {
    const s = svc([{ port: 80 }], { ipFamilies: ['IPv6', 'IPv4'] });
    expect(computeSlices(s, [pod('a', '10.244.1.5')]).map((x) => [x.addressType, x.endpoints.length])).toEqual([
      ['IPv4', 1],
      ['IPv6', 0],
    ]);
    expect(addressTypesFor({ spec: { clusterIP: 'fd00:10:96::5' } })).toEqual(['IPv6']);
    expect(addressTypesFor({ spec: { clusterIP: 'None' } })).toEqual(['IPv4', 'IPv6']);
  });
});
