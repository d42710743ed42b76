import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseCidr } from '../../../src/net/cidr.js';
import { formatIp, parseIp, tryParseIp } from '../../../src/net/ip.js';
import { candidates, nextFree } from '../../../src/cni/ipam/allocator.js';
import { canonicalRange, rangeSets } from '../../../src/cni/ipam/config.js';
import { hostLocalAdd, hostLocalDel, hostLocalGc } from '../../../src/cni/ipam/hostlocal.js';
import { CniError } from '../../../src/cni/errors.js';

describe('addr', () => {
  it('parses and formats IPv4 and IPv6 like Go net.IP.String()', () => {
    expect(formatIp(parseIp('10.244.1.7'))).toBe('10.244.1.7');
    expect(formatIp(parseIp('fd00:0:0:0:0:0:0:5'))).toBe('fd00::5');
    expect(formatIp(parseIp('2001:db8:0:0:1:0:0:1'))).toBe('2001:db8::1:0:0:1');
    expect(formatIp(parseIp('::'))).toBe('::');
    expect(formatIp(parseIp('1:2:3:4:5:6:7:8'))).toBe('1:2:3:4:5:6:7:8');
    expect(tryParseIp('10.0.0.256')).toBeUndefined();
    expect(tryParseIp('1::2::3')).toBeUndefined();
    expect(() => parseCidr('10.0.0.0/33')).toThrow();
  });
});

describe('allocator', () => {
  const set = [canonicalRange({ subnet: '10.1.0.0/29' })];

  it('defaults: start .1, end broadcast-1, gateway .1 which is never handed out', () => {
    const r = set[0]!;
    expect([formatIp(r.start), formatIp(r.end), formatIp(r.gateway)]).toEqual(['10.1.0.1', '10.1.0.6', '10.1.0.1']);
    expect([...candidates(set)].map((c) => formatIp(c.ip))).toEqual([
      '10.1.0.2',
      '10.1.0.3',
      '10.1.0.4',
      '10.1.0.5',
      '10.1.0.6',
    ]);
  });

  it('round-robins after the last reserved address and wraps', () => {
    expect([...candidates(set, parseIp('10.1.0.5'))].map((c) => formatIp(c.ip))).toEqual([
      '10.1.0.6',
      '10.1.0.2',
      '10.1.0.3',
      '10.1.0.4',
      '10.1.0.5',
    ]);
    expect(formatIp(nextFree(set, new Set(['10.1.0.6', '10.1.0.2']), parseIp('10.1.0.5'))!.ip)).toBe('10.1.0.3');
  });

  it('returns undefined when full', () => {
    expect(nextFree(set, new Set(['10.1.0.2', '10.1.0.3', '10.1.0.4', '10.1.0.5', '10.1.0.6']))).toBeUndefined();
  });

  it('honours rangeStart/rangeEnd and walks a multi-range set', () => {
    const s = [
      canonicalRange({ subnet: '10.2.0.0/24', rangeStart: '10.2.0.10', rangeEnd: '10.2.0.11' }),
      canonicalRange({ subnet: '10.3.0.0/30' }),
    ];
    expect([...candidates(s)].map((c) => formatIp(c.ip))).toEqual(['10.2.0.10', '10.2.0.11', '10.3.0.2']);
  });

  it('IPv6 ranges include the last address', () => {
    const r = canonicalRange({ subnet: 'fd00::/126' });
    expect(formatIp(r.end)).toBe('fd00::3');
  });

  it('rejects bad ranges with a config error', () => {
    expect(() => canonicalRange({ subnet: '10.0.0.0/24', rangeStart: '10.0.1.1' })).toThrow(/not in network/);
    expect(() => canonicalRange({ subnet: '10.0.0.0/31' })).toThrow(/too small/);
    expect(() =>
      rangeSets({ type: 'host-local', ranges: [[{ subnet: '10.0.0.0/24' }], [{ subnet: '10.0.0.0/25' }]] }),
    ).toThrow(/overlap/);
    expect(() =>
      rangeSets({ type: 'host-local', ranges: [[{ subnet: '10.0.0.0/24' }, { subnet: 'fd00::/64' }]] }),
    ).toThrow(/mixed/);
  });
});

describe('host-local disk store', () => {
  const dirs: string[] = [];
  const tmp = () => {
    const d = mkdtempSync(join(tmpdir(), 'skiff-ipam-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('writes one file per address in the reference format, dual stack, idempotent per attachment', async () => {
    const dataDir = tmp();
    const ipam = {
      type: 'host-local',
      dataDir,
      ranges: [[{ subnet: '10.5.0.0/24' }], [{ subnet: 'fd05::/64' }]],
      routes: [{ dst: '0.0.0.0/0' }],
    };
    const req = { network: 'n1', cniVersion: '1.0.0', ipam, containerId: 'c1', ifname: 'eth0' };
    const r = await hostLocalAdd(req);
    expect(r.ips).toEqual([
      { address: '10.5.0.2/24', gateway: '10.5.0.1' },
      { address: 'fd05::2/64', gateway: 'fd05::1' },
    ]);
    expect(r.routes).toEqual([{ dst: '0.0.0.0/0' }]);
    expect(readFileSync(join(dataDir, 'n1', '10.5.0.2'), 'utf8')).toBe('c1\r\neth0');
    expect(readFileSync(join(dataDir, 'n1', 'last_reserved_ip.1'), 'utf8')).toBe('fd05::2');
    expect((await hostLocalAdd(req)).ips).toEqual(r.ips); // retry returns the same
    expect(await hostLocalDel(req)).toEqual(expect.arrayContaining(['10.5.0.2', 'fd05::2']));
    expect(readdirSync(join(dataDir, 'n1')).sort()).toEqual(['last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
    expect(await hostLocalDel(req)).toEqual([]); // DEL twice is fine
  });

  it('concurrent in-process ADDs get distinct addresses; a full range is a clear CniError', async () => {
    const dataDir = tmp();
    const ipam = { type: 'host-local', dataDir, ranges: [[{ subnet: '10.6.0.0/28' }]] };
    const adds = Array.from({ length: 13 }, (_, i) =>
      hostLocalAdd({ network: 'n', cniVersion: '1.0.0', ipam, containerId: `c${i}`, ifname: 'eth0' }),
    );
    const ips = (await Promise.all(adds)).map((r) => r.ips![0]!.address);
    expect(new Set(ips).size).toBe(13);
    const err = await hostLocalAdd({
      network: 'n',
      cniVersion: '1.0.0',
      ipam,
      containerId: 'full',
      ifname: 'eth0',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CniError);
    expect((err as CniError).message).toMatch(/no IP addresses available in range set: 10\.6\.0\.1-10\.6\.0\.14/);
  });

  it('GC releases allocations not in the valid list', async () => {
    const dataDir = tmp();
    const ipam = { type: 'host-local', dataDir, ranges: [[{ subnet: '10.7.0.0/24' }]] };
    for (const c of ['a', 'b', 'c'])
      await hostLocalAdd({ network: 'g', cniVersion: '1.1.0', ipam, containerId: c, ifname: 'eth0' });
    const freed = await hostLocalGc('g', ipam, [{ containerID: 'b', ifname: 'eth0' }]);
    expect(freed.sort()).toEqual(['10.7.0.2', '10.7.0.4']);
    expect(readdirSync(join(dataDir, 'g')).filter((f) => f.startsWith('10.'))).toEqual(['10.7.0.3']);
  });
});
