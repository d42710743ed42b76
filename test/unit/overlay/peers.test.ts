import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../../src/net/cidr.js';
import { formatIp } from '../../../src/net/ip.js';
import {
  desiredEntries,
  diffEntries,
  vtepMacFor,
  type OverlayEntries,
  type Peer,
} from '../../../src/overlay/vxlan/peers.js';

const self = { name: 'n1', podCIDR: '10.244.1.0/24', publicIP: '198.18.0.11' };
const n2: Peer = { name: 'n2', podCIDR: '10.244.2.0/24', publicIP: '198.18.0.12', vtepMAC: '0E:00:00:00:00:02' };
const n3: Peer = { name: 'n3', podCIDR: '10.244.3.0/24', publicIP: '198.18.0.13', vtepMAC: '0e:00:00:00:00:03' };
const empty: OverlayEntries = { fdb: [], neigh: [], routes: [] };

describe('cidr helpers', () => {
  it('parses and normalises', () => {
    expect(parseCidr('10.244.1.7/24').toString()).toBe('10.244.1.0/24');
    expect(formatIp(parseCidr('10.244.1.7/24').network)).toBe('10.244.1.0');
    expect(parseCidr('0.0.0.0/0').toString()).toBe('0.0.0.0/0');
    expect(formatIp(parseCidr('10.244.3.0/24').firstHost)).toBe('10.244.3.1');
    expect(parseCidr('10.244.0.0/16').containsCidr(parseCidr('10.244.9.0/24'))).toBe(true);
    expect(parseCidr('10.244.0.0/16').containsCidr(parseCidr('10.245.9.0/24'))).toBe(false);
    expect(parseCidr('10.244.1.0/24').containsCidr(parseCidr('10.244.0.0/16'))).toBe(false);
  });
  it('rejects garbage with a clear error', () => {
    expect(() => parseCidr('10.244.1.0')).toThrow(/invalid CIDR/);
    expect(() => parseCidr('10.244.1.300/24')).toThrow(/invalid CIDR/);
    expect(() => parseCidr('10.244.1.0/33')).toThrow(/invalid CIDR/);
  });
});

describe('desiredEntries', () => {
  it('builds neigh + fdb + onlink route per peer, skipping itself', () => {
    const { desired, skipped } = desiredEntries(self, [{ ...self }, n2, n3], '10.244.0.0/16');
    expect(skipped).toEqual([]);
    expect(desired.fdb).toEqual([
      { mac: '0e:00:00:00:00:02', dst: '198.18.0.12' },
      { mac: '0e:00:00:00:00:03', dst: '198.18.0.13' },
    ]);
    expect(desired.neigh).toEqual([
      { ip: '10.244.2.0', mac: '0e:00:00:00:00:02' },
      { ip: '10.244.3.0', mac: '0e:00:00:00:00:03' },
    ]);
    expect(desired.routes).toEqual([
      { dst: '10.244.2.0/24', via: '10.244.2.0' },
      { dst: '10.244.3.0/24', via: '10.244.3.0' },
    ]);
  });

  it('does not depend on list order', () => {
    const a = desiredEntries(self, [n3, n2], '10.244.0.0/16');
    const b = desiredEntries(self, [n2, n3], '10.244.0.0/16');
    expect(a).toEqual(b);
  });

  it('leaves out peers that are not ready or are inconsistent, saying why', () => {
    const peers: Peer[] = [
      n2,
      { name: 'nomac', podCIDR: '10.244.4.0/24', publicIP: '198.18.0.14' },
      { name: 'nocidr', publicIP: '198.18.0.15', vtepMAC: '0e:00:00:00:00:05' },
      { name: 'noip', podCIDR: '10.244.6.0/24', vtepMAC: '0e:00:00:00:00:06' },
      { name: 'outside', podCIDR: '10.9.0.0/24', publicIP: '198.18.0.17', vtepMAC: '0e:00:00:00:00:07' },
      { name: 'overlapself', podCIDR: '10.244.1.0/25', publicIP: '198.18.0.18', vtepMAC: '0e:00:00:00:00:08' },
      { name: 'overlapn2', podCIDR: '10.244.2.0/24', publicIP: '198.18.0.19', vtepMAC: '0e:00:00:00:00:09' },
      { name: 'samemac', podCIDR: '10.244.10.0/24', publicIP: '198.18.0.20', vtepMAC: '0e:00:00:00:00:02' },
      { name: 'myip', podCIDR: '10.244.11.0/24', publicIP: '198.18.0.11', vtepMAC: '0e:00:00:00:00:11' },
      { name: 'badmac', podCIDR: '10.244.12.0/24', publicIP: '198.18.0.21', vtepMAC: 'zz' },
    ];
    const { desired, skipped } = desiredEntries(self, peers, '10.244.0.0/16');
    expect(desired.routes).toEqual([{ dst: '10.244.2.0/24', via: '10.244.2.0' }]);
    const reasons = Object.fromEntries(skipped.map((s) => [s.name, s.reason]));
    expect(Object.keys(reasons).sort()).toEqual(
      ['badmac', 'myip', 'nocidr', 'noip', 'nomac', 'outside', 'overlapn2', 'overlapself', 'samemac'].sort(),
    );
    expect(reasons.nomac).toMatch(/no VTEP MAC/);
    expect(reasons.outside).toMatch(/outside the cluster network/);
    expect(reasons.overlapself).toMatch(/overlaps this node/);
    expect(reasons.overlapn2).toMatch(/overlaps node n2/);
    expect(reasons.samemac).toMatch(/already used by node n2/);
  });
});

describe('diffEntries', () => {
  const want = desiredEntries(self, [n2, n3]).desired;

  it('adds everything in order fdb → neigh → route on an empty device', () => {
    const ops = diffEntries(empty, want);
    expect(ops.map((o) => o.op)).toEqual([
      'fdb-replace',
      'fdb-replace',
      'neigh-replace',
      'neigh-replace',
      'route-replace',
      'route-replace',
    ]);
  });

  it('is empty when converged', () => {
    expect(diffEntries(want, want)).toEqual([]);
  });

  it('removes a peer that left: route, then neighbour, then fdb', () => {
    const after = desiredEntries(self, [n2]).desired;
    const ops = diffEntries(want, after);
    expect(ops).toEqual([
      { op: 'route-del', entry: { dst: '10.244.3.0/24', via: '10.244.3.0' } },
      { op: 'neigh-del', entry: { ip: '10.244.3.0', mac: '0e:00:00:00:00:03' } },
      { op: 'fdb-del', entry: { mac: '0e:00:00:00:00:03', dst: '198.18.0.13' } },
    ]);
  });

  it('replaces in place when a peer moves to another underlay IP or MAC', () => {
    const moved = desiredEntries(self, [n2, { ...n3, publicIP: '198.18.0.33' }]).desired;
    expect(diffEntries(want, moved)).toEqual([
      { op: 'fdb-replace', entry: { mac: '0e:00:00:00:00:03', dst: '198.18.0.33' } },
    ]);
    const newMac = desiredEntries(self, [n2, { ...n3, vtepMAC: '0e:00:00:00:00:33' }]).desired;
    const ops = diffEntries(want, newMac);
    expect(ops).toEqual([
      { op: 'fdb-replace', entry: { mac: '0e:00:00:00:00:33', dst: '198.18.0.13' } },
      { op: 'neigh-replace', entry: { ip: '10.244.3.0', mac: '0e:00:00:00:00:33' } },
      { op: 'fdb-del', entry: { mac: '0e:00:00:00:00:03', dst: '198.18.0.13' } },
    ]);
  });

  it('removes stale entries nobody wants (e.g. left over from a previous run)', () => {
    const actual: OverlayEntries = {
      fdb: [...want.fdb, { mac: '0e:99:99:99:99:99', dst: '198.18.0.99' }],
      neigh: [...want.neigh, { ip: '10.244.99.0', mac: '0e:99:99:99:99:99' }],
      routes: [...want.routes, { dst: '10.244.99.0/24', via: '10.244.99.0' }],
    };
    expect(diffEntries(actual, want).map((o) => o.op)).toEqual(['route-del', 'neigh-del', 'fdb-del']);
  });
});

describe('vtepMacFor', () => {
  it('is stable, unicast, locally administered and differs per node', () => {
    const a = vtepMacFor('node-a', 1);
    expect(vtepMacFor('node-a', 1)).toBe(a);
    expect(a).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
    const first = parseInt(a.slice(0, 2), 16);
    expect(first & 1).toBe(0);
    expect(first & 2).toBe(2);
    const macs = new Set(Array.from({ length: 200 }, (_, i) => vtepMacFor(`node-${i}`, 1)));
    expect(macs.size).toBe(200);
    expect(vtepMacFor('node-a', 2)).not.toBe(a);
  });
});
