import { describe, expect, it } from 'vitest';
import { peerFromNode, peerKey, vtepAnnotationPatch } from '../../../src/overlay/vxlan/nodes.js';
import { parsePeersFile } from '../../../src/overlay/vxlan/file-source.js';
import { bridgeConf, vxlanConfSchema } from '../../../plugins/vxlan/plugin.js';
import { parseDuration } from '../../../src/cmd/vxlan-agent.js';

describe('peerFromNode', () => {
  it('reads podCIDR, annotations and falls back to the InternalIP', () => {
    const node = {
      metadata: {
        name: 'n2',
        annotations: { 'skiff.io/vtep-mac': '0e:00:00:00:00:02', 'skiff.io/public-ip': '198.18.0.12' },
      },
      spec: { podCIDR: '10.244.2.0/24' },
      status: { addresses: [{ type: 'InternalIP', address: '198.18.0.99' }] },
    };
    expect(peerFromNode(node)).toEqual({
      name: 'n2',
      podCIDR: '10.244.2.0/24',
      publicIP: '198.18.0.12',
      vtepMAC: '0e:00:00:00:00:02',
    });
    const bare = {
      metadata: { name: 'n3' },
      spec: { podCIDRs: ['fd00::/64', '10.244.3.0/24'] },
      status: {
        addresses: [
          { type: 'Hostname', address: 'n3' },
          { type: 'InternalIP', address: '198.18.0.13' },
        ],
      },
    };
    expect(peerFromNode(bare)).toEqual({ name: 'n3', podCIDR: '10.244.3.0/24', publicIP: '198.18.0.13' });
    expect(peerFromNode({ metadata: {} })).toBeUndefined();
  });

  it('keys ignore everything but overlay data', () => {
    const a = peerFromNode({ metadata: { name: 'n2' }, spec: { podCIDR: '10.244.2.0/24' } });
    const b = peerFromNode({
      metadata: { name: 'n2', annotations: { other: 'x' } },
      spec: { podCIDR: '10.244.2.0/24' },
    });
    expect(peerKey(a)).toBe(peerKey(b));
    expect(peerKey(a)).not.toBe(peerKey({ ...a!, vtepMAC: '0e:00:00:00:00:02' }));
  });

  it('builds the merge patch', () => {
    expect(vtepAnnotationPatch('0e:00:00:00:00:01', '198.18.0.11')).toEqual({
      metadata: { annotations: { 'skiff.io/vtep-mac': '0e:00:00:00:00:01', 'skiff.io/public-ip': '198.18.0.11' } },
    });
  });
});

describe('peers file', () => {
  it('parses a list', () => {
    const text = JSON.stringify([{ name: 'n1', podCIDR: '10.244.1.0/24', publicIP: '198.18.0.11' }, { name: 'n2' }]);
    expect(parsePeersFile(text)).toEqual([
      { name: 'n1', podCIDR: '10.244.1.0/24', publicIP: '198.18.0.11' },
      { name: 'n2' },
    ]);
  });
  it('rejects bad input clearly', () => {
    expect(() => parsePeersFile('{', 'p.json')).toThrow(/p.json: not JSON/);
    expect(() => parsePeersFile('{"name":"x"}', 'p.json')).toThrow(/p.json: \(root\)/);
    expect(() => parsePeersFile('[{"podCIDR":"10.244.1.0/24"}]', 'p.json')).toThrow(/0.name/);
    expect(() => parsePeersFile('[{"name":"a"},{"name":"a"}]', 'p.json')).toThrow(/listed twice/);
  });
});

describe('vxlan plugin delegate config', () => {
  const subnet = { network: '10.244.0.0/16', subnet: '10.244.1.1/24', mtu: 1450, vni: 1, port: 8472 };

  it('delegates to bridge with host-local over the node subnet and a cluster route', () => {
    const conf = vxlanConfSchema.parse({ cniVersion: '1.0.0', name: 'skiff-vxlan', type: 'vxlan' });
    expect(conf.subnetFile).toBe('/run/skiff/subnet.env');
    expect(bridgeConf(conf, subnet)).toEqual({
      cniVersion: '1.0.0',
      name: 'skiff-vxlan',
      type: 'bridge',
      bridge: 'cni0',
      isGateway: true,
      isDefaultGateway: true,
      ipMasq: false,
      hairpinMode: true,
      mtu: 1450,
      ipam: {
        type: 'host-local',
        ranges: [[{ subnet: '10.244.1.0/24', gateway: '10.244.1.1' }]],
        routes: [{ dst: '10.244.0.0/16', gw: '10.244.1.1' }],
      },
    });
  });

  it('applies delegate overrides, ipam one level deep', () => {
    const conf = vxlanConfSchema.parse({
      cniVersion: '1.0.0',
      name: 'n',
      type: 'vxlan',
      bridge: 'br9',
      delegate: { hairpinMode: false, ipam: { dataDir: '/tmp/x' } },
    });
    const d = bridgeConf(conf, subnet);
    expect(d.bridge).toBe('br9');
    expect(d.hairpinMode).toBe(false);
    expect(d.ipam).toMatchObject({
      type: 'host-local',
      dataDir: '/tmp/x',
      routes: [{ dst: '10.244.0.0/16', gw: '10.244.1.1' }],
    });
  });

  it('rejects a bad device name', () => {
    expect(vxlanConfSchema.safeParse({ cniVersion: '1.0.0', name: 'n', type: 'vxlan', device: 'a b' }).success).toBe(
      false,
    );
  });
});

describe('agent flags', () => {
  it('parses durations', () => {
    expect(parseDuration('10s')).toBe(10_000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('3')).toBe(3000);
    expect(() => parseDuration('soon')).toThrow(/not a duration/);
    expect(() => parseDuration('1ms')).toThrow(/out of range/);
  });
});
