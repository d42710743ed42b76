import { describe, expect, it } from 'vitest';
import { AddressPool } from '../../../src/controllers/loadbalancer/pool.js';
import { NodeCidrAllocator, parseCidr } from '../../../src/controllers/nodeipam/cidr.js';

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
    expect(() => parseCidr('10.244.0.0')).toThrow(/invalid IPv4 CIDR/);
    expect(() => parseCidr('300.1.1.1/8')).toThrow(/invalid IPv4 CIDR/);
  });
});

describe('AddressPool', () => {
  it('parses ranges and CIDRs', () => {
    expect(new AddressPool('198.18.0.200-198.18.0.250').size).toBe(51);
    expect(new AddressPool('198.18.0.0/30').size).toBe(4);
    expect(() => new AddressPool('198.18.0.9-198.18.0.1')).toThrow(/end before start/);
    expect(() => new AddressPool('x-y')).toThrow(/not an IPv4 address/);
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
