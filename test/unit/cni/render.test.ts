import { describe, expect, it } from 'vitest';
import { attachTx } from '../../../src/cni/nftattach.js';
import { attachmentComment, hostVethName, macFromSeed, parseAttachmentComment } from '../../../src/cni/names.js';
import { renderNetOp } from '../../../src/os/net.js';
import { ipArgv, nsFromPath } from '../../../src/os/ns.js';

describe('os/net rendering', () => {
  it('renders ip batch lines', () => {
    expect(
      renderNetOp({
        op: 'veth-add',
        name: 'veth1',
        mac: '02:00:00:00:00:01',
        peer: 'eth0',
        peerMac: '02:00:00:00:00:02',
        mtu: 1400,
        peerNs: 'pod1',
      }),
    ).toBe(
      'link add name veth1 address 02:00:00:00:00:01 mtu 1400 type veth peer name eth0 address 02:00:00:00:00:02 mtu 1400 netns pod1',
    );
    expect(renderNetOp({ op: 'addr-add', dev: 'eth0', cidr: 'fd00::2/64' })).toBe('addr add fd00::2/64 dev eth0 nodad');
    expect(renderNetOp({ op: 'route-add', dev: 'eth0', dst: '::/0', via: 'fd00::1' })).toBe(
      'route add ::/0 via fd00::1 dev eth0',
    );
    expect(renderNetOp({ op: 'link-set', name: 'cni0', up: true, promisc: true })).toBe(
      'link set dev cni0 promisc on up',
    );
  });

  it('reaches a netns by name or by path', () => {
    expect(ipArgv(nsFromPath('/run/netns/p1'), ['link'])).toEqual(['ip', '-n', 'p1', 'link']);
    expect(ipArgv(nsFromPath('/proc/42/ns/net'), ['link'])).toEqual(['nsenter', '--net=/proc/42/ns/net', 'ip', 'link']);
  });
});

describe('per-attachment nft objects', () => {
  it('one transaction: idempotent layout, a commented chain, map elements jumping to it', () => {
    const tx = attachTx(
      {
        table: { family: 'inet', name: 't' },
        maps: [{ name: 'm4', spec: 'type ipv4_addr : verdict;' }],
        baseChains: [{ name: 'post', spec: 'type nat hook postrouting priority 100;', rules: ['ip saddr vmap @m4'] }],
      },
      {
        chain: 'masq-1',
        comment: attachmentComment('net', 'ctr', 'eth0'),
        rules: ['masquerade'],
        elements: [{ map: 'm4', key: '10.0.0.2' }],
      },
    );
    expect(tx.render().trim().split('\n')).toEqual([
      'add table inet t',
      'add map inet t m4 { type ipv4_addr : verdict; }',
      'add chain inet t post { type nat hook postrouting priority 100; }',
      'flush chain inet t post',
      'add rule inet t post ip saddr vmap @m4',
      'add chain inet t masq-1',
      'flush chain inet t masq-1',
      'add rule inet t masq-1 masquerade comment "net=net ctr=ctr if=eth0"',
      'add element inet t m4 { 10.0.0.2 : jump masq-1 }',
    ]);
  });

  it('names and comments are deterministic and parse back', () => {
    expect(hostVethName('n', 'c', 'eth0')).toMatch(/^veth[0-9a-f]{10}$/);
    expect(hostVethName('n', 'c', 'eth0')).toBe(hostVethName('n', 'c', 'eth0'));
    expect(hostVethName('n', 'c', 'eth1')).not.toBe(hostVethName('n', 'c', 'eth0'));
    expect(parseInt(macFromSeed('x').slice(0, 2), 16) & 0x03).toBe(0x02); // local, unicast
    expect(parseAttachmentComment(attachmentComment('net', 'ctr', 'eth0'))).toEqual({
      network: 'net',
      containerId: 'ctr',
      ifname: 'eth0',
    });
  });
});
