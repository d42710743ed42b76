import { describe, expect, it } from 'vitest';
import { AllocationError, Allocator } from '../../../src/apiserver/alloc.js';

describe('service allocator', () => {
  it('hands out distinct cluster IPs from the range and reuses released ones', () => {
    const a = new Allocator('10.96.0.0/29', { min: 30000, max: 30002 });
    const ips = [1, 2, 3, 4, 5, 6].map(() => a.allocateIP());
    expect(new Set(ips).size).toBe(6);
    expect(ips.every((ip) => /^10\.96\.0\.[1-6]$/.test(ip))).toBe(true);
    expect(() => a.allocateIP()).toThrow(/range is full/);
    a.releaseIP(ips[2]);
    expect(a.allocateIP()).toBe(ips[2]);
  });
  it('honours requested IPs and ports, refusing duplicates and out-of-range values', () => {
    const a = new Allocator('10.96.0.0/12', { min: 30000, max: 30002 });
    expect(a.allocateIP('10.96.0.10')).toBe('10.96.0.10');
    expect(() => a.allocateIP('10.96.0.10')).toThrow(/already allocated/);
    expect(() => a.allocateIP('10.0.0.1')).toThrow(/not in the valid range/);
    expect(a.allocatePort(30001)).toBe(30001);
    expect(() => a.allocatePort(30001)).toThrow(AllocationError);
    expect(() => a.allocatePort(80)).toThrow(/valid range/);
    const p = [a.allocatePort(), a.allocatePort()];
    expect(p.sort()).toEqual([30000, 30002]);
    expect(() => a.allocatePort()).toThrow(/range is full/);
  });
  it('rejects bad configuration', () => {
    expect(() => new Allocator('nonsense', { min: 1, max: 2 })).toThrow(AllocationError);
    expect(() => new Allocator('10.96.0.0/12', { min: 5, max: 2 })).toThrow(AllocationError);
  });
});
