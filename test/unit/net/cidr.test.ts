import { describe, expect, it } from 'vitest';
import { Cidr, compareCidr, isCidr, normalizeCidr, parseCidr, tryParseCidr } from '../../../src/net/cidr.js';
import { formatIp, parseIp } from '../../../src/net/ip.js';
import { parseIpRange } from '../../../src/net/range.js';

const text = (ips: Iterable<{ family: 4 | 6; value: bigint }>) => [...ips].map(formatIp);

describe('parseCidr', () => {
  it('keeps the address as written and gives the canonical network', () => {
    const c = parseCidr('10.244.1.7/24');
    expect(c.toString()).toBe('10.244.1.0/24');
    expect(c.toAddressString()).toBe('10.244.1.7/24');
    expect(c.hasHostBits).toBe(true);
    expect(c.masked.hasHostBits).toBe(false);
    expect(JSON.stringify({ c })).toBe('{"c":"10.244.1.0/24"}');
    expect(normalizeCidr('FD00:10:244:1::5/64')).toBe('fd00:10:244:1::/64');
  });

  it('gives a clear error for each kind of bad input', () => {
    expect(() => parseCidr('10.0.0.0')).toThrow('invalid CIDR "10.0.0.0": missing "/prefix-length"');
    expect(() => parseCidr('10.0.0/8')).toThrow('"10.0.0" is not an IP address');
    expect(() => parseCidr('10.0.0.0/33')).toThrow('prefix length must be a number from 0 to 32 for IPv4');
    expect(() => parseCidr('fd00::/129')).toThrow('from 0 to 128 for IPv6');
    expect(() => parseCidr('10.0.0.0/')).toThrow('prefix length');
    expect(() => parseCidr('10.0.0.0/-1')).toThrow('prefix length');
    expect(() => parseCidr('10.0.0.0/8/8')).toThrow('prefix length');
    expect(() => parseCidr('hello')).toThrow('not an address/prefix-length');
    expect(() => parseCidr('10.0.0.1/24', { strict: true })).toThrow('host bits are set (the network is 10.0.0.0/24)');
    expect(parseCidr('10.0.0.0/24', { strict: true }).toString()).toBe('10.0.0.0/24');
    expect(parseCidr('10.0.0.1', { allowBareAddress: true }).toString()).toBe('10.0.0.1/32');
    expect(parseCidr('fd00::1', { allowBareAddress: true }).toString()).toBe('fd00::1/128');
    expect(tryParseCidr('x')).toBeUndefined();
    expect(isCidr('::/0') && !isCidr('::') && !isCidr(undefined)).toBe(true);
    expect(() => Cidr.of(parseIp('10.0.0.0'), 33)).toThrow('outside 0-32');
  });
});

describe('Cidr', () => {
  it('answers network, broadcast, host range and size for IPv4', () => {
    const c = parseCidr('10.96.0.0/12');
    expect(formatIp(c.network)).toBe('10.96.0.0');
    expect(formatIp(c.last)).toBe('10.111.255.255');
    expect(formatIp(c.broadcast!)).toBe('10.111.255.255');
    expect(formatIp(c.firstHost)).toBe('10.96.0.1');
    expect(formatIp(c.lastHost)).toBe('10.111.255.254');
    expect(c.size).toBe(1n << 20n);
  });

  it('handles /0, /31 and /32', () => {
    const all = parseCidr('1.2.3.4/0');
    expect(all.toString()).toBe('0.0.0.0/0');
    expect(all.size).toBe(1n << 32n);
    expect(all.contains('255.255.255.255')).toBe(true);
    expect(all.contains('::1')).toBe(false);
    const one = parseCidr('10.0.0.5/32');
    expect(one.size).toBe(1n);
    expect(formatIp(one.firstHost)).toBe('10.0.0.5');
    expect(formatIp(one.lastHost)).toBe('10.0.0.5');
    expect(one.contains('10.0.0.5') && !one.contains('10.0.0.6')).toBe(true);
    const p2p = parseCidr('10.0.0.4/31');
    expect(text([p2p.firstHost, p2p.lastHost])).toEqual(['10.0.0.4', '10.0.0.5']);
  });

  it('handles IPv6, /0, /64 and /128 (no broadcast; the last address is a host)', () => {
    const c = parseCidr('fd00:10:96::/112');
    expect(c.broadcast).toBeUndefined();
    expect(formatIp(c.firstHost)).toBe('fd00:10:96::1');
    expect(formatIp(c.lastHost)).toBe('fd00:10:96::ffff');
    expect(c.size).toBe(65536n);
    const all = parseCidr('::/0');
    expect(all.size).toBe(1n << 128n);
    expect(formatIp(all.last)).toBe('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
    expect(all.contains('fd00::1') && !all.contains('10.0.0.1')).toBe(true);
    const host = parseCidr('fd00::1/128');
    expect(host.size).toBe(1n);
    expect(formatIp(host.firstHost)).toBe('fd00::1');
    expect(formatIp(parseCidr('fd00:10:244:1::/64').last)).toBe('fd00:10:244:1:ffff:ffff:ffff:ffff');
  });

  it('maps indexes to addresses and back', () => {
    const c = parseCidr('10.244.1.0/24');
    expect(formatIp(c.nth(0))).toBe('10.244.1.0');
    expect(formatIp(c.nth(255))).toBe('10.244.1.255');
    expect(() => c.nth(256)).toThrow(RangeError);
    expect(() => c.nth(-1)).toThrow(RangeError);
    expect(c.offsetOf('10.244.1.9')).toBe(9n);
    expect(c.offsetOf('10.244.2.9')).toBeUndefined();
    expect(c.offsetOf('fd00::1')).toBeUndefined();
    const v6 = parseCidr('fd00::/64');
    expect(formatIp(v6.nth(1n << 40n))).toBe('fd00::100:0:0');
    expect(v6.offsetOf(v6.nth(123456789n))).toBe(123456789n);
  });

  it('iterates a bounded number of addresses', () => {
    expect(text(parseCidr('10.0.0.0/30').addresses(10))).toEqual(['10.0.0.0', '10.0.0.1', '10.0.0.2', '10.0.0.3']);
    expect(text(parseCidr('fd00::/64').addresses(2, 5))).toEqual(['fd00::5', 'fd00::6']);
    expect(text(parseCidr('fd00::/64').addresses(0))).toEqual([]);
  });

  it('compares networks: contains, overlaps, equals, order', () => {
    const cluster = parseCidr('10.244.0.0/16');
    expect(cluster.containsCidr(parseCidr('10.244.3.0/24'))).toBe(true);
    expect(cluster.containsCidr(parseCidr('10.0.0.0/8'))).toBe(false);
    expect(cluster.overlaps(parseCidr('10.0.0.0/8')) && parseCidr('10.0.0.0/8').overlaps(cluster)).toBe(true);
    expect(cluster.overlaps(parseCidr('10.245.0.0/16'))).toBe(false);
    expect(cluster.overlaps(parseCidr('::/0'))).toBe(false);
    expect(parseCidr('10.244.9.9/16').equals(cluster)).toBe(true);
    expect(parseCidr('10.244.0.0/17').equals(cluster)).toBe(false);
    const sorted = ['fd00::/8', '10.0.0.0/16', '10.0.0.0/8', '9.0.0.0/8'].map((s) => parseCidr(s)).sort(compareCidr);
    expect(sorted.map(String)).toEqual(['9.0.0.0/8', '10.0.0.0/8', '10.0.0.0/16', 'fd00::/8']);
  });

  it('splits a cluster CIDR into node subnets, both families', () => {
    const v4 = parseCidr('10.244.0.0/16');
    expect(v4.subnetCount(24)).toBe(256n);
    expect(v4.subnet(24, 0).toString()).toBe('10.244.0.0/24');
    expect(v4.subnet(24, 255).toString()).toBe('10.244.255.0/24');
    expect(() => v4.subnet(24, 256)).toThrow(RangeError);
    expect(() => v4.subnetCount(15)).toThrow('/15 subnets do not fit in 10.244.0.0/16');
    expect(v4.subnetIndex(parseCidr('10.244.7.0/24'))).toBe(7n);
    expect(v4.subnetIndex(parseCidr('10.245.7.0/24'))).toBeUndefined();
    const v6 = parseCidr('fd00:10:244::/56');
    expect(v6.subnetCount(64)).toBe(256n);
    expect(v6.subnet(64, 3).toString()).toBe('fd00:10:244:3::/64');
    expect(v6.subnetIndex(parseCidr('fd00:10:244:ff::/64'))).toBe(255n);
    expect(parseCidr('::/0').subnet(1, 1).toString()).toBe('8000::/1');
    expect(parseCidr('10.0.0.0/32').subnet(32, 0).toString()).toBe('10.0.0.0/32');
  });
});

describe('parseIpRange', () => {
  it('reads "A-B", a CIDR or one address, both families', () => {
    const r = parseIpRange('198.18.0.200 - 198.18.0.250');
    expect(r.size).toBe(51n);
    expect(r.contains('198.18.0.250') && !r.contains('198.18.0.251') && !r.contains('::1')).toBe(true);
    expect(formatIp(r.nth(1))).toBe('198.18.0.201');
    expect(parseIpRange('10.0.0.8/30').toString()).toBe('10.0.0.8-10.0.0.11');
    expect(parseIpRange('fd00::10-fd00::1f').size).toBe(16n);
    expect(parseIpRange('fd00::5').size).toBe(1n);
    expect(text(parseIpRange('10.0.0.1-10.0.0.9').addresses(2))).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('rejects bad ranges with the reason', () => {
    expect(() => parseIpRange('10.0.0.9-10.0.0.1')).toThrow(
      'invalid address range "10.0.0.9-10.0.0.1": end before start',
    );
    expect(() => parseIpRange('10.0.0.1-fd00::1')).toThrow('mixes IPv4 and IPv6');
    expect(() => parseIpRange('10.0.0.1-x')).toThrow('"x" is not an IP address');
    expect(() => parseIpRange('1-2-3')).toThrow('more than one "-"');
    expect(() => parseIpRange('10.0.0.0/99')).toThrow('prefix length');
    expect(() => parseIpRange('nope')).toThrow('not an address, a CIDR or "first-last"');
  });
});
