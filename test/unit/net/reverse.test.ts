import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../../src/net/cidr.js';
import { formatIp } from '../../../src/net/ip.js';
import { isReverseName, parseReverseName, reverseName, reverseZones } from '../../../src/net/reverse.js';

const V6_NAME = '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa';

describe('reverse DNS names', () => {
  it('names an address as dig -x does', () => {
    expect(reverseName('10.96.0.10')).toBe('10.0.96.10.in-addr.arpa');
    expect(reverseName('2001:db8::1')).toBe(V6_NAME);
    expect(reverseName('::ffff:1.2.3.4')).toMatch(/^4\.0\.3\.0\.2\.0\.1\.0\.f\.f\.f\.f\.0\./);
    expect(() => reverseName('nope')).toThrow('invalid IP address');
  });

  it('reads a name back, with or without the trailing dot, any case', () => {
    expect(formatIp(parseReverseName('10.0.96.10.in-addr.arpa')!)).toBe('10.96.0.10');
    expect(formatIp(parseReverseName('10.0.96.10.IN-ADDR.ARPA.')!)).toBe('10.96.0.10');
    expect(formatIp(parseReverseName(V6_NAME.toUpperCase() + '.')!)).toBe('2001:db8::1');
    for (const partial of [
      '0.96.10.in-addr.arpa',
      '256.0.96.10.in-addr.arpa',
      '01.0.96.10.in-addr.arpa',
      'in-addr.arpa',
    ])
      expect(parseReverseName(partial), partial).toBeUndefined();
    expect(parseReverseName(V6_NAME.slice(2))).toBeUndefined();
    expect(parseReverseName('x' + V6_NAME.slice(1))).toBeUndefined();
    expect(parseReverseName('example.com')).toBeUndefined();
  });

  it('recognises the reverse trees', () => {
    expect(isReverseName('in-addr.arpa') && isReverseName('1.10.in-addr.arpa.') && isReverseName('f.ip6.arpa')).toBe(
      true,
    );
    expect(isReverseName('notin-addr.arpa') || isReverseName('example.com')).toBe(false);
  });

  it('covers a CIDR with reverse zones, split at label boundaries', () => {
    expect(reverseZones(parseCidr('10.96.0.0/12'))).toHaveLength(16);
    expect(reverseZones(parseCidr('10.96.0.0/12'))[0]).toBe('96.10.in-addr.arpa');
    expect(reverseZones(parseCidr('10.244.0.0/16'))).toEqual(['244.10.in-addr.arpa']);
    expect(reverseZones(parseCidr('10.0.0.0/23'))).toEqual(['0.0.10.in-addr.arpa', '1.0.10.in-addr.arpa']);
    expect(reverseZones(parseCidr('0.0.0.0/0'))).toEqual(['in-addr.arpa']);
    expect(reverseZones(parseCidr('fd00:10:96::/112'))).toEqual([
      '0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f.ip6.arpa', // 28 nibbles,
    ]);
    expect(reverseZones(parseCidr('fd00::/7'))).toEqual(['c.f.ip6.arpa', 'd.f.ip6.arpa']);
    expect(reverseZones(parseCidr('10.0.0.0/9'))).toHaveLength(128);
    expect(() => reverseZones(parseCidr('10.0.0.0/9'), 64)).toThrow('spans 128 reverse zones (more than 64)');
  });
});
