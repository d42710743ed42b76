import { describe, expect, it } from 'vitest';
import {
  cidrOverlap,
  clusterCidrs,
  members,
  nodeIP,
  nodeIPs,
  overlappingRoutes,
  serviceCidrs,
} from '../../../src/lab/addressing.js';
import { parseCidr } from '../../../src/net/cidr.js';
import { servedHostname } from '../../../src/lab/http.js';
import { labSchema } from '../../../src/lab/state.js';

describe('lab addressing', () => {
  it('follows the contract', () => {
    expect(members(2)).toEqual([
      { role: 'cp', ip: '198.18.0.1' },
      { role: 'node1', ip: '198.18.0.11' },
      { role: 'node2', ip: '198.18.0.12' },
      { role: 'client', ip: '198.18.0.100' },
    ]);
    expect(() => nodeIP(0)).toThrow();
    expect(() => nodeIP(51)).toThrow();
  });
  it('detects host routes overlapping the underlay, ignoring default', () => {
    expect(cidrOverlap('198.18.0.0/15', '198.18.0.0/24')).toBe(true);
    expect(cidrOverlap('198.18.1.0/24', '198.18.0.0/24')).toBe(false);
    expect(cidrOverlap('198.18.0.7', '198.18.0.0/24')).toBe(true);
    expect(overlappingRoutes(['default', '192.0.2.0/24', '198.16.0.0/12', 'fe80::/64'])).toEqual(['198.16.0.0/12']);
    expect(overlappingRoutes(['default', '192.0.2.0/24'])).toEqual([]);
  });
  it('parses served hostnames', () => {
    expect(servedHostname('Container Hostname: web-1\n')).toBe('web-1');
    expect(servedHostname('pod-a')).toBe('pod-a');
    expect(servedHostname(undefined)).toBeUndefined();
  });
  it('validates lab.json', () => {
    expect(
      labSchema.safeParse({
        version: 1,
        prefix: 'BAD PREFIX',
        stateDir: '/x',
        nodes: 1,
        cni: 'bridge',
        proxyMode: 'nftables',
        store: 'sqlite',
        createdAt: 'x',
      }).success,
    ).toBe(false);
    const ok = labSchema.parse({
      version: 1,
      prefix: 'sk0a1b2c',
      stateDir: '/x',
      nodes: 3,
      cni: 'vxlan',
      proxyMode: 'userspace',
      store: 'etcd',
      createdAt: 'x',
    });
    expect(ok.processes).toEqual([]);
    expect(ok.phase).toBe('creating');
  });
});

describe('progress display (non-TTY)', () => {
  it('prints one plain line per step and its outcome', async () => {
    const { Progress } = await import('../../../src/lab/progress.js');
    const { Writable } = await import('node:stream');
    const out: string[] = [];
    const sink = new Writable({
      write(c: Buffer, _e, cb) {
        out.push(c.toString());
        cb();
      },
    }) as unknown as NodeJS.WriteStream;
    const p = new Progress(sink);
    expect(await p.step('first', async () => 42)).toBe(42);
    await expect(
      p.step('second', async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const text = out.join('');
    expect(text).toMatch(/^==> first\n {4}ok first \(\d+\.\ds\)\n==> second\n {4}FAILED second/);
    expect(text).not.toContain('\x1b');
  });
});

describe('lab addressing, --ip-family', () => {
  it('mirrors the IPv4 plan in ULA space, primary family first', () => {
    expect(nodeIPs(1, 'ipv4')).toBe('198.18.0.11');
    expect(nodeIPs(1, 'dual')).toBe('198.18.0.11,fd00:198:18::11');
    expect(nodeIPs(2, 'ipv6')).toBe('fd00:198:18::12');
    expect(clusterCidrs('dual')).toBe('10.244.0.0/16,fd00:10:244::/56');
    expect(serviceCidrs('ipv6')).toBe('fd00:10:96::/112');
    // Unique local addresses only (RFC 4193 fc00::/7): nothing the lab sends can leave for a public range.
    const ula = parseCidr('fc00::/7');
    for (const c of [...clusterCidrs('dual').split(','), ...serviceCidrs('dual').split(',')])
      if (c.includes(':')) expect(ula.containsCidr(parseCidr(c))).toBe(true);
    expect(ula.contains(nodeIPs(3, 'ipv6'))).toBe(true);
  });
});
