import { describe, expect, it } from 'vitest';
import { parseSubnetFile, renderSubnetFile } from '../../../src/overlay/vxlan/subnetfile.js';

describe('subnet file', () => {
  it('round-trips', () => {
    const s = {
      network: '10.244.0.0/16',
      subnet: '10.244.1.1/24',
      mtu: 1450,
      vni: 1,
      port: 8472,
      underlayIP: '198.18.0.11',
      vtepMAC: '0e:01:02:03:04:05',
    };
    expect(parseSubnetFile(renderSubnetFile(s))).toEqual(s);
  });

  it('accepts comments, quotes and defaults', () => {
    const s = parseSubnetFile(
      '# written by hand\nSKIFF_NETWORK="10.244.0.0/16"\n\nSKIFF_SUBNET=10.244.5.1/24\nSKIFF_MTU=1450\n',
    );
    expect(s).toEqual({ network: '10.244.0.0/16', subnet: '10.244.5.1/24', mtu: 1450, vni: 1, port: 8472 });
  });

  it('rejects bad input naming the key', () => {
    expect(() => parseSubnetFile('SKIFF_NETWORK=10.244.0.0/16\nSKIFF_MTU=1450\n', 'f.env')).toThrow(
      /f.env: SKIFF_SUBNET/,
    );
    expect(() => parseSubnetFile('SKIFF_NETWORK=10.244.0.0/16\nSKIFF_SUBNET=x\nSKIFF_MTU=1450\n')).toThrow(
      /SKIFF_SUBNET/,
    );
    expect(() => parseSubnetFile('this is not env\n', 'f.env')).toThrow(/f.env:1: expected KEY=VALUE/);
    expect(() => parseSubnetFile('SKIFF_NETWORK=10.244.0.0/16\nSKIFF_SUBNET=10.244.5.1/24\nSKIFF_MTU=9\n')).toThrow(
      /SKIFF_MTU/,
    );
  });
});
