import { describe, expect, it } from 'vitest';
import { buildDesired, buildServiceState, normalizeCIDR, selectEndpoints } from '../../../src/proxy/model/desired.js';
import { ProxyTracker } from '../../../src/proxy/model/tracker.js';
import { slice, svc } from '../../helpers/proxy/objects.js';

const node = { nodeName: 'n1', clusterCIDR: '10.244.0.0/16' };

describe('proxy model', () => {
  it('resolves multiple ports, named target ports per slice and protocols', () => {
    const s = svc('web', {
      clusterIP: '10.96.0.10',
      ports: [
        { name: 'http', port: 80, protocol: 'TCP', targetPort: 'web' as unknown as number },
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'sig', port: 9, protocol: 'SCTP' },
      ],
    });
    // Two slices: the named target port resolved to different numbers per slice.
    const a = slice(
      'web',
      [{ ip: '10.244.1.2', node: 'n1' }],
      [
        { name: 'http', port: 8080 },
        { name: 'dns', port: 5353, protocol: 'UDP' },
        { name: 'sig', port: 99, protocol: 'SCTP' },
      ],
      'web-a',
    );
    const b = slice('web', [{ ip: '10.244.2.2', node: 'n2' }], [{ name: 'http', port: 9090 }], 'web-b');
    const st = buildServiceState(s, [a, b], node)!;
    expect(st.ports.map((p) => [p.protocol, p.port, p.clusterEndpoints.map((e) => `${e.ip}:${e.port}`)])).toEqual([
      ['TCP', 80, ['10.244.1.2:8080', '10.244.2.2:9090']],
      ['UDP', 53, ['10.244.1.2:5353']],
      ['SCTP', 9, ['10.244.1.2:99']],
    ]);
  });

  it('uses terminating endpoints only when no ready one exists', () => {
    const eps = buildServiceState(
      svc('x', { clusterIP: '10.96.0.1' }),
      [
        slice('x', [
          { ip: '10.244.1.2', ready: false, serving: true, terminating: true },
          { ip: '10.244.1.3', ready: true },
          { ip: '10.244.1.4', ready: false, serving: false, terminating: true },
        ]),
      ],
      node,
    )!.ports[0]!;
    expect(eps.clusterEndpoints.map((e) => e.ip)).toEqual(['10.244.1.3']);
    const onlyTerm = selectEndpoints(
      eps.clusterEndpoints.length
        ? [
            { ip: 'a', port: 1, local: false, ready: false, serving: true, terminating: true },
            { ip: 'b', port: 1, local: false, ready: false, serving: false, terminating: true },
          ]
        : [],
      false,
    );
    expect(onlyTerm.map((e) => e.ip)).toEqual(['a']);
  });

  it('applies Local policies and picks reject vs drop', () => {
    const s = svc(
      'lb',
      {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.20',
        externalTrafficPolicy: 'Local',
        internalTrafficPolicy: 'Cluster',
        healthCheckNodePort: 32000,
        ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' }],
        loadBalancerSourceRanges: ['198.18.0.0/24', 'bogus', '198.18.1.5'],
      },
      ['198.18.0.200'],
    );
    const remoteOnly = slice('lb', [{ ip: '10.244.2.2', node: 'n2' }]);
    const st = buildServiceState(s, [remoteOnly], node)!;
    const p = st.ports[0]!;
    expect(p.clusterDisposition).toBe('balance');
    expect(p.externalDisposition).toBe('drop');
    expect(p.externalMasquerade).toBe(false);
    expect(p.nodePort).toBe(30080);
    expect(p.loadBalancerIPs).toEqual(['198.18.0.200']);
    expect(p.sourceRanges).toEqual(['198.18.0.0/24', '198.18.1.5/32']);
    expect(st.healthCheckNodePort).toBe(32000);
    expect(st.localEndpoints).toBe(0);
    const none = buildServiceState(s, [], node)!.ports[0]!;
    expect([none.clusterDisposition, none.externalDisposition]).toEqual(['reject', 'reject']);
    const local = buildServiceState(
      s,
      [
        slice('lb', [
          { ip: '10.244.1.9', node: 'n1' },
          { ip: '10.244.2.2', node: 'n2' },
        ]),
      ],
      node,
    )!;
    expect(local.ports[0]!.externalEndpoints.map((e) => e.ip)).toEqual(['10.244.1.9']);
    expect(local.ports[0]!.clusterEndpoints.length).toBe(2);
    expect(local.localEndpoints).toBe(1);
  });

  it('reads affinity, external IPs and skips headless and ExternalName services', () => {
    const st = buildServiceState(
      svc('a', {
        clusterIP: '10.96.0.30',
        sessionAffinity: 'ClientIP',
        externalIPs: ['198.18.0.50', 'fe80::1'],
      }),
      [],
      node,
    )!;
    expect(st.ports[0]!.affinitySeconds).toBe(10800);
    expect(st.ports[0]!.externalIPs).toEqual(['198.18.0.50']);
    const custom = buildServiceState(
      svc('a', {
        clusterIP: '10.96.0.30',
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
      }),
      [],
      node,
    )!;
    expect(custom.ports[0]!.affinitySeconds).toBe(60);
    expect(buildServiceState(svc('h', { clusterIP: 'None' }), [], node)).toBeUndefined();
    expect(buildServiceState(svc('e', { type: 'ExternalName', externalName: 'x.example' }), [], node)).toBeUndefined();
    expect(normalizeCIDR('10.0.0.0/33')).toBeUndefined();
  });

  it('tracks changed services across services and slices', () => {
    const t = new ProxyTracker();
    t.updateService(svc('a', { clusterIP: '10.96.0.1' }));
    t.updateService(svc('b', { clusterIP: '10.96.0.2' }));
    expect([...t.takeChanges()].sort()).toEqual(['default/a', 'default/b']);
    t.updateService(svc('a', { clusterIP: '10.96.0.1' }));
    expect(t.pending).toBe(0); // no-op update
    const sl = slice('a', [{ ip: '10.244.1.2' }]);
    t.updateSlice(sl);
    expect([...t.takeChanges()]).toEqual(['default/a']);
    // relabelled to service b: both change
    t.updateSlice({ ...sl, metadata: { ...sl.metadata, labels: { 'kubernetes.io/service-name': 'b' } } });
    expect([...t.takeChanges()].sort()).toEqual(['default/a', 'default/b']);
    const d = buildDesired(t, node);
    expect(d.get('default/b')!.ports[0]!.clusterEndpoints.length).toBe(1);
    expect(d.get('default/a')!.ports[0]!.clusterDisposition).toBe('reject');
    t.deleteService(svc('a'));
    buildDesired(t, node, d, t.takeChanges());
    expect(d.has('default/a')).toBe(false);
  });
});
