import { describe, expect, it } from 'vitest';
import {
  findInterfaceByAddress,
  masqueradeTransaction,
  parseFdb,
  parseNeigh,
  parseRoutes,
  parseVxlanLink,
  renderOverlayOp,
  vxlanIncompat,
  type VxlanDeviceSpec,
} from '../../../src/os/vxlan.js';

// Captured from iproute2 6.1 on Debian 12 (ip -json -d link show dev skiff.1, etc.).
const LINK =
  `[{"ifindex":3,"ifname":"skiff.1","flags":["BROADCAST","MULTICAST","UP","LOWER_UP"],"mtu":1450` +
  `,"qdisc":"noqueue","operstate":"UNKNOWN","linkmode":"DEFAULT","group":"default","txqlen":1000` +
  `,"link_type":"ether","address":"02:11:22:33:44:55","broadcast":"ff:ff:ff:ff:ff:ff"` +
  `,"promiscuity":0,"allmulti":0,"min_mtu":68,"max_mtu":65535,"linkinfo":{"info_kind":"vxlan"` +
  `,"info_data":{"id":1,"local":"198.18.0.11","link":"u0","port_range":{"low":0,"high":0}` +
  `,"port":8472,"learning":false,"ttl":0,"df":"unset","ageing":300,"udp_csum":true}}` +
  `,"num_tx_queues":1}]`;

const spec: VxlanDeviceSpec = {
  name: 'skiff.1',
  vni: 1,
  port: 8472,
  localIP: '198.18.0.11',
  mtu: 1450,
  mac: '02:11:22:33:44:55',
};

describe('device JSON', () => {
  it('parses a vxlan link', () => {
    expect(parseVxlanLink(LINK)).toEqual({
      name: 'skiff.1',
      ifindex: 3,
      mac: '02:11:22:33:44:55',
      mtu: 1450,
      up: true,
      vni: 1,
      port: 8472,
      localIP: '198.18.0.11',
      underlayDev: 'u0',
      learning: false,
    });
    expect(parseVxlanLink('[]')).toBeUndefined();
  });

  it('refuses a non-vxlan device of the same name', () => {
    const veth =
      `[{"ifindex":4,"ifname":"skiff.1","flags":["UP"],"mtu":1500,"address":"aa:bb:cc:dd:ee:ff"` +
      `,"linkinfo":{"info_kind":"veth"}}]`;
    expect(() => parseVxlanLink(veth)).toThrow(/not a vxlan device/);
  });

  it('says why an existing device is incompatible', () => {
    const cur = parseVxlanLink(LINK)!;
    expect(vxlanIncompat(spec, cur)).toBe('');
    expect(vxlanIncompat({ ...spec, mtu: 1400 }, cur)).toBe(''); // MTU is fixed in place
    expect(vxlanIncompat({ ...spec, vni: 2, mac: '02:00:00:00:00:01' }, cur)).toMatch(/vni 1 != 2.*mac/);
    expect(vxlanIncompat(spec, { ...cur, learning: true })).toMatch(/learning/);
  });

  it('finds the underlay interface by address', () => {
    const addrs =
      `[{"ifindex":1,"ifname":"lo","mtu":65536,"addr_info":[{"family":"inet","local":"127.0.0.1"` +
      `,"prefixlen":8}]},{"ifindex":2,"ifname":"u0","mtu":1500,"addr_info":[{"family":"inet"` +
      `,"local":"198.18.0.11","prefixlen":24},{"family":"inet6","local":"fe80::1","prefixlen":64}]}]`;
    expect(findInterfaceByAddress(addrs, '198.18.0.11')).toEqual({ name: 'u0', mtu: 1500 });
    expect(findInterfaceByAddress(addrs, '198.18.0.99')).toBeUndefined();
  });
});

describe('entry JSON', () => {
  it('keeps only remote fdb entries, permanent neighbours and gatewayed routes', () => {
    expect(
      parseFdb(
        `[{"mac":"0E:AA:BB:CC:DD:EE","dst":"198.18.0.12","flags":["self"],"state":"permanent"}` +
          `,{"mac":"33:33:00:00:00:01","flags":["self"],"state":"permanent"}]`,
      ),
    ).toEqual([{ mac: '0e:aa:bb:cc:dd:ee', dst: '198.18.0.12' }]);
    expect(
      parseNeigh(
        `[{"dst":"10.244.2.0","lladdr":"0e:aa:bb:cc:dd:ee","state":["PERMANENT"]},{"dst":"10.244.7.0","state":["FAILED"]}]`,
      ),
    ).toEqual([{ ip: '10.244.2.0', mac: '0e:aa:bb:cc:dd:ee' }]);
    expect(
      parseRoutes(`[{"dst":"10.244.2.0/24","gateway":"10.244.2.0","flags":["onlink"]},{"dst":"10.9.9.9","flags":[]}]`),
    ).toEqual([{ dst: '10.244.2.0/24', via: '10.244.2.0' }]);
  });

  it('renders batch lines', () => {
    expect(
      renderOverlayOp({ op: 'fdb-replace', entry: { mac: '0e:aa:bb:cc:dd:ee', dst: '198.18.0.12' } }, 'skiff.1'),
    ).toEqual({
      tool: 'bridge',
      line: 'fdb replace 0e:aa:bb:cc:dd:ee dev skiff.1 dst 198.18.0.12 self permanent',
    });
    expect(
      renderOverlayOp({ op: 'route-replace', entry: { dst: '10.244.2.0/24', via: '10.244.2.0' } }, 'skiff.1').line,
    ).toBe('route replace 10.244.2.0/24 via 10.244.2.0 dev skiff.1 onlink');
    expect(
      renderOverlayOp({ op: 'neigh-replace', entry: { ip: '10.244.2.0', mac: '0e:aa:bb:cc:dd:ee' } }, 'skiff.1').line,
    ).toBe('neigh replace 10.244.2.0 lladdr 0e:aa:bb:cc:dd:ee dev skiff.1 nud permanent');
  });
});

describe('masquerade', () => {
  it('masquerades only pod traffic leaving the cluster network, in one atomic rebuild', () => {
    const text = masqueradeTransaction('10.244.0.0/16', '10.244.1.0/24').render();
    expect(text).toContain('add table ip skiff-vxlan');
    expect(text).toContain('delete table ip skiff-vxlan');
    expect(text).toMatch(/ip saddr 10\.244\.1\.0\/24 ip daddr != 10\.244\.0\.0\/16 .*masquerade/);
  });
});
