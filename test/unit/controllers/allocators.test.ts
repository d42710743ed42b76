import { describe, expect, it } from 'vitest';
import { AddressPool, AddressPools } from '../../../src/controllers/loadbalancer/pool.js';
import { NodeCidrAllocator, nodeCidrAllocators } from '../../../src/controllers/nodeipam/cidr.js';
import { parseCidr } from '../../../src/net/cidr.js';

describe('NodeCidrAllocator', () => {
  it('hands out /24s lowest first, skipping used ones and foreign CIDRs', () => {
    const a = new NodeCidrAllocator('10.244.0.0/16');
    expect(a.count).toBe(256);
    expect(a.allocate([])).toBe('10.244.0.0/24');
    expect(a.allocate(['10.244.0.0/24', '10.244.2.0/24', '192.168.0.0/24'])).toBe('10.244.1.0/24');
    expect(a.indexOf('10.244.7.0/24')).toBe(7);
    expect(a.indexOf('10.245.0.0/24')).toBeUndefined();
    expect(a.indexOf('10.244.0.0/25')).toBeUndefined();
  });
  it('fails clearly when exhausted or misconfigured', () => {
    const a = new NodeCidrAllocator('10.244.0.0/23');
    expect(() => a.allocate(['10.244.0.0/24', '10.244.1.0/24'])).toThrow(/no free \/24/);
    expect(() => new NodeCidrAllocator('10.244.0.0/16', 8)).toThrow(/does not fit/);
    expect(() => parseCidr('10.244.0.0')).toThrow(/invalid CIDR/);
    expect(() => parseCidr('300.1.1.1/8')).toThrow(/invalid CIDR/);
    expect(() => new NodeCidrAllocator('10.0.0.0/8', 25)).toThrow(/more than 2\^16 subnets/);
  });
  it('cuts an IPv6 cluster CIDR into /64s, lowest free first', () => {
    const a = new NodeCidrAllocator('fd00:10:244::/56', 64);
    expect(a.count).toBe(256);
    expect(a.allocate([])).toBe('fd00:10:244::/64');
    expect(a.allocate(['fd00:10:244::/64', '10.244.0.0/24', 'fd00:10:244:2::/64'])).toBe('fd00:10:244:1::/64');
    expect(a.indexOf('fd00:10:244:ff::/64')).toBe(255);
    expect(a.indexOf('fd00:10:245::/64')).toBeUndefined();
    expect(() => new NodeCidrAllocator('fd00:10:244::/56', 48)).toThrow(/does not fit/);
  });
});

describe('AddressPool', () => {
  it('parses ranges and CIDRs', () => {
    expect(new AddressPool('198.18.0.200-198.18.0.250').size).toBe(51);
    expect(new AddressPool('198.18.0.0/30').size).toBe(4);
    expect(() => new AddressPool('198.18.0.9-198.18.0.1')).toThrow(/end before start/);
    expect(() => new AddressPool('x-y')).toThrow(/invalid address pool "x-y": "x" is not an IP address/);
    expect(new AddressPool('fd00:198:18::200-fd00:198:18::2ff').size).toBe(256);
    expect(new AddressPool('fd00:198:18::200-fd00:198:18::2ff').allocate(['fd00:198:18::200'])).toBe(
      'fd00:198:18::201',
    );
  });
  it('allocates lowest free, honours a wanted address only when free and inside', () => {
    const p = new AddressPool('198.18.0.200-198.18.0.202');
    expect(p.allocate([])).toBe('198.18.0.200');
    expect(p.allocate(['198.18.0.200'])).toBe('198.18.0.201');
    expect(p.allocate([], '198.18.0.202')).toBe('198.18.0.202');
    expect(p.allocate(['198.18.0.202'], '198.18.0.202')).toBeUndefined();
    expect(p.allocate([], '10.0.0.1')).toBeUndefined();
    expect(p.allocate(['198.18.0.200', '198.18.0.201', '198.18.0.202'])).toBeUndefined();
  });
});

describe('AddressPools (--lb-pool, dual stack)', () => {
  it('takes one range, or an IPv4 and an IPv6 one, and finds the pool of a family', () => {
    const dual = new AddressPools('198.18.0.200-198.18.0.250, fd00:198:18::200-fd00:198:18::250');
    expect(dual.families).toEqual([4, 6]);
    expect(dual.forFamily(6)?.allocate([])).toBe('fd00:198:18::200');
    expect([dual.contains('198.18.0.201'), dual.contains('fd00:198:18::201'), dual.contains('10.0.0.1')]).toEqual([
      true,
      true,
      false,
    ]);
    expect(new AddressPools('198.18.0.200-198.18.0.250').forFamily(6)).toBeUndefined();
    expect(() => new AddressPools('198.18.0.1-198.18.0.2,198.18.1.1-198.18.1.2')).toThrow(/different families/);
    expect(() => new AddressPools('')).toThrow(/one range, or one IPv4 and one IPv6 range/);
  });
});

describe('nodeCidrAllocators (--cluster-cidr, dual stack)', () => {
  it('takes one CIDR or two of different families, each cut at its own mask size', () => {
    const [v4, v6] = nodeCidrAllocators('10.244.0.0/16, fd00:10:244::/56', 24, 64);
    expect([v4!.family, v4!.allocate([]), v6!.family, v6!.allocate([])]).toEqual([
      4,
      '10.244.0.0/24',
      6,
      'fd00:10:244::/64',
    ]);
    expect(nodeCidrAllocators('fd00:10:244::/56')[0]!.maskSize).toBe(64);
    expect(() => nodeCidrAllocators('10.244.0.0/16,10.245.0.0/16')).toThrow(/different IP families/);
    expect(() => nodeCidrAllocators('10.244.0.0/16,fd00::/56,10.1.0.0/16')).toThrow(/one CIDR, or two/);
  });
});
