import { describe, expect, it } from 'vitest';
import { liveMembers, nextExpiry, type Observed } from '../../../src/proxy/l2announce/membership.js';
import { ownedLoadBalancerIPs } from '../../../src/proxy/l2announce/owner.js';
import { buildServiceState } from '../../../src/proxy/model/desired.js';
import { slice, svc, type EpFix } from '../../helpers/proxy/objects.js';

const LB = '198.18.0.201';
const nodes = ['n1', 'n2', 'n3'];

function lb(eps: EpFix[], local = false) {
  const s = svc(
    'lb',
    { type: 'LoadBalancer', clusterIP: '10.96.0.9', ...(local ? { externalTrafficPolicy: 'Local' } : {}) },
    [LB],
  );
  const st = buildServiceState(s, [slice('lb', eps)], { nodeName: 'n1' })!;
  return new Map([[st.key, st]]);
}
const owners = (d: ReturnType<typeof lb>, members = nodes) =>
  nodes.filter((n) => ownedLoadBalancerIPs(d, n, members).has(LB));

describe('L2 announcer membership and ownership (MetalLB L2)', () => {
  it('a member is live while its renewal was seen within its lease duration', () => {
    const seen = new Map<string, Observed>([
      ['n1', { renewTime: 'a', atMs: 1000, durationMs: 2000 }],
      ['n2', { renewTime: 'b', atMs: 500, durationMs: 2000 }],
    ]);
    expect(liveMembers(seen, 2400)).toEqual(['n1', 'n2']);
    expect(liveMembers(seen, 2500)).toEqual(['n1']);
    expect(nextExpiry(seen, 2400)).toBe(2500);
    expect(nextExpiry(seen, 2600)).toBe(3000);
    expect(liveMembers(seen, 3000)).toEqual([]);
    expect(nextExpiry(seen, 3000)).toBeUndefined();
  });

  it('exactly one live member announces; only members count', () => {
    const d = lb([{ ip: '10.244.3.2', node: 'n3' }]);
    expect(owners(d)).toHaveLength(1);
    const [first] = owners(d);
    const rest = nodes.filter((n) => n !== first);
    expect(owners(d, rest)).toHaveLength(1);
    expect(owners(d, rest)[0]).not.toBe(first);
    expect(owners(d, [])).toEqual([]);
  });

  it('a Service with no ready endpoint is announced by nobody, serving-terminating ones included', () => {
    expect(owners(lb([]))).toEqual([]);
    expect(owners(lb([{ ip: '10.244.3.2', node: 'n3', ready: false, serving: true, terminating: true }]))).toEqual([]);
  });

  it('externalTrafficPolicy Local: only a live member with a ready endpoint', () => {
    const d = lb(
      [
        { ip: '10.244.3.2', node: 'n3' },
        { ip: '10.244.2.2', node: 'n2', ready: false },
      ],
      true,
    );
    expect(owners(d)).toEqual(['n3']);
    expect(owners(d, ['n1', 'n2'])).toEqual([]);
  });
});
