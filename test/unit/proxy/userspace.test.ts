import { describe, expect, it } from 'vitest';
import { lbOwner, ownedLoadBalancerIPs } from '../../../src/proxy/l2announce/owner.js';
import { buildServiceState } from '../../../src/proxy/model/desired.js';
import type { Endpoint } from '../../../src/proxy/model/types.js';
import { RoundRobin } from '../../../src/proxy/userspace/balancer.js';
import { renderUserspaceTable } from '../../../src/proxy/userspace/backend.js';
import { slice, svc } from '../../helpers/proxy/objects.js';

const ep = (ip: string): Endpoint => ({ ip, port: 8080, local: false, ready: true, serving: true, terminating: false });

describe('userspace balancer', () => {
  it('round-robins, skips failed endpoints and keeps ClientIP affinity until it expires', () => {
    const rr = new RoundRobin();
    rr.update([ep('a'), ep('b'), ep('c')], 0);
    expect([0, 1, 2, 3].map(() => rr.pick('1.1.1.1', 0)!.ip)).toEqual(['a', 'b', 'c', 'a']);
    expect(rr.pick('1.1.1.1', 0, new Set(['b:8080']))!.ip).toBe('c');
    rr.update([ep('a'), ep('b'), ep('c')], 10);
    const first = rr.pick('2.2.2.2', 0)!.ip;
    expect([1, 2, 3].map(() => rr.pick('2.2.2.2', 1000)!.ip)).toEqual([first, first, first]);
    const x = rr.pick('4.4.4.4', 0)!.ip;
    expect(rr.pick('4.4.4.4', 9_000)!.ip).toBe(x); // refreshed: now expires at 19 s
    expect(rr.pick('4.4.4.4', 30_000)!.ip).not.toBe(x); // expired: round robin moves on
    // the remembered endpoint goes away: a new one is chosen
    rr.update(
      [ep('a'), ep('b'), ep('c')].filter((e) => e.ip !== first),
      10,
    );
    expect(rr.pick('2.2.2.2', 2000)!.ip).not.toBe(first);
    rr.update([], 0);
    expect(rr.pick('2.2.2.2', 0)).toBeUndefined();
  });

  it('renders its redirect table in one transaction', () => {
    const text = renderUserspaceTable(
      ['10.96.0.10 . tcp . 80 : 40001'],
      [{ map: 'noep_ips', key: '10.96.0.50 . tcp . 80', value: 'goto reject-svc' }],
    );
    expect(
      text.startsWith('add table ip skiff-userspace\ndelete table ip skiff-userspace\nadd table ip skiff-userspace\n'),
    ).toBe(true);
    expect(text).toContain('meta l4proto { tcp, udp } redirect to : ip daddr . meta l4proto . th dport map @portals');
    expect(text).toContain('add element ip skiff-userspace portals { 10.96.0.10 . tcp . 80 : 40001 }');
    expect(text).toContain('add element ip skiff-userspace noep_ips { 10.96.0.50 . tcp . 80 : goto reject-svc }');
    expect(text).not.toContain('add element ip skiff-userspace fw_ips');
  });
});

describe('L2 announcement ownership', () => {
  it('picks exactly one owner deterministically, only among nodes with endpoints for Local', () => {
    const nodes = ['n1', 'n2', 'n3'];
    const owner = lbOwner('198.18.0.200', nodes)!;
    expect(nodes).toContain(owner);
    expect(lbOwner('198.18.0.200', [...nodes].reverse())).toBe(owner);
    expect(lbOwner('198.18.0.200', [])).toBeUndefined();
    const owners = new Set(Array.from({ length: 40 }, (_, i) => lbOwner(`198.18.0.${200 + i}`, nodes)));
    expect(owners.size).toBeGreaterThan(1); // spread across nodes

    const cluster = buildServiceState(
      svc('lb', { type: 'LoadBalancer', clusterIP: '10.96.0.9' }, ['198.18.0.201']),
      [slice('lb', [{ ip: '10.244.3.2', node: 'n3' }])],
      { nodeName: 'n1' },
    )!;
    const local = buildServiceState(
      svc('lb', { type: 'LoadBalancer', clusterIP: '10.96.0.9', externalTrafficPolicy: 'Local' }, ['198.18.0.201']),
      [slice('lb', [{ ip: '10.244.3.2', node: 'n3' }])],
      { nodeName: 'n1' },
    )!;
    const per = (st: typeof cluster) =>
      nodes.filter((n) => ownedLoadBalancerIPs(new Map([[st.key, st]]), n, nodes).has('198.18.0.201'));
    expect(per(cluster)).toHaveLength(1);
    expect(per(local)).toEqual(['n3']);
  });
});
