import { describe, expect, it } from 'vitest';
import {
  addToIp,
  compareIpText,
  formatIp,
  ipFamilyOf,
  ipFromBytes,
  ipToBytes,
  isIPv4,
  isIPv6,
  isIp,
  isV4Mapped,
  mapV4,
  normalizeIp,
  parseIp,
  sortIps,
  tryParseIp,
  unmapV4,
} from '../../../src/net/ip.js';

describe('parseIp / formatIp', () => {
  it('parses dotted quads and rejects leading zeros, out-of-range octets and junk', () => {
    expect(parseIp('10.244.1.7')).toEqual({ family: 4, value: 0x0af40107n });
    expect(parseIp('0.0.0.0').value).toBe(0n);
    expect(parseIp('255.255.255.255').value).toBe(0xffffffffn);
    for (const bad of [
      '01.2.3.4',
      '256.1.1.1',
      '1.2.3',
      '1.2.3.4.5',
      ' 1.2.3.4',
      '1.2.3.4 ',
      '',
      'a.b.c.d',
      '1.2.3.4/32',
    ])
      expect(tryParseIp(bad), bad).toBeUndefined();
    expect(() => parseIp('10.0.0.256')).toThrow('invalid IP address "10.0.0.256"');
  });

  it('parses IPv6 in every spelling and prints RFC 5952 text', () => {
    expect(normalizeIp('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(normalizeIp('::')).toBe('::');
    expect(normalizeIp('::1')).toBe('::1');
    expect(normalizeIp('1::')).toBe('1::');
    expect(normalizeIp('1:0:2:3:4:5:6:7')).toBe('1:0:2:3:4:5:6:7'); // one zero group is not "::"
    expect(normalizeIp('1:0:0:2:0:0:0:3')).toBe('1:0:0:2::3'); // the longest run
    expect(normalizeIp('fd00:10:244:0001::0a')).toBe('fd00:10:244:1::a');
    expect(parseIp('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff').value).toBe((1n << 128n) - 1n);
    for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', 'fe80::1%eth0', ':1', 'g::1', '::1.2.3'])
      expect(tryParseIp(bad), bad).toBeUndefined();
  });

  it('reads an embedded dotted quad as the last 32 bits, and prints v4-mapped addresses as ::ffff:a.b.c.d', () => {
    expect(parseIp('::1.2.3.4').value).toBe(0x01020304n); // not ::ffff:1.2.3.4 (ipaddr.js reads it so)
    expect(normalizeIp('::1.2.3.4')).toBe('::102:304');
    const mapped = parseIp('::FFFF:10.0.0.1');
    expect(mapped.family).toBe(6);
    expect(isV4Mapped(mapped)).toBe(true);
    expect(formatIp(mapped)).toBe('::ffff:10.0.0.1');
    expect(formatIp(unmapV4(mapped))).toBe('10.0.0.1');
    expect(formatIp(mapV4(parseIp('10.0.0.1')))).toBe('::ffff:10.0.0.1');
    expect(isV4Mapped(parseIp('::1'))).toBe(false);
    expect(unmapV4(parseIp('2001:db8::1'))).toEqual(parseIp('2001:db8::1'));
  });

  it('tells the family', () => {
    expect(ipFamilyOf('10.0.0.1')).toBe(4);
    expect(ipFamilyOf('fd00::1')).toBe(6);
    expect(ipFamilyOf('::ffff:1.2.3.4')).toBe(6);
    expect(ipFamilyOf('nope')).toBeUndefined();
    expect(ipFamilyOf(undefined)).toBeUndefined();
    expect(isIPv4('10.0.0.1') && !isIPv4('::1') && !isIPv4(undefined)).toBe(true);
    expect(isIPv6('::1') && !isIPv6('10.0.0.1')).toBe(true);
    expect(isIp('::1') && isIp('1.1.1.1') && !isIp('x')).toBe(true);
  });

  it('converts to and from bytes', () => {
    expect(ipToBytes(parseIp('10.1.2.3'))).toEqual([10, 1, 2, 3]);
    expect(formatIp(ipFromBytes([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]))).toBe('2001:db8::1');
    expect(() => ipFromBytes([1, 2, 3])).toThrow('4 or 16 bytes');
  });

  it('adds within the family and refuses to wrap', () => {
    expect(formatIp(addToIp(parseIp('10.0.0.255'), 1))).toBe('10.0.1.0');
    expect(formatIp(addToIp(parseIp('fd00::ffff'), 1n))).toBe('fd00::1:0');
    expect(() => addToIp(parseIp('255.255.255.255'), 1)).toThrow(RangeError);
    expect(() => addToIp(parseIp('::'), -1)).toThrow(RangeError);
  });

  it('sorts numerically, IPv4 first, junk last', () => {
    expect(sortIps(['10.0.0.10', 'fd00::2', 'x', '10.0.0.9', '::1', '9.0.0.0'])).toEqual([
      '9.0.0.0',
      '10.0.0.9',
      '10.0.0.10',
      '::1',
      'fd00::2',
      'x',
    ]);
    expect(compareIpText('10.0.0.1', '10.0.0.1')).toBe(0);
  });
});
