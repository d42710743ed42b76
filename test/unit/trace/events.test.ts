import { describe, expect, it } from 'vitest';
import { evalKey, mapLookup, parseTrace, parseTraceLine } from '../../../src/trace/events.js';
import { parseConntrack } from '../../../src/os/conntrack.js';
import { parseSs } from '../../../src/os/probe.js';
import { traceTableText } from '../../../src/os/nfttrace.js';
import { parseServiceRef, pickPort } from '../../../src/trace/target.js';

// Lines as nft 1.0.6's `nft monitor` printed them for a probe DNATed by a vmap (recorded in a namespace).
const LINES = [
  'add table ip skiff-trace-1-ab',
  'trace id 03872698 ip skiff-trace-1-ab prerouting packet: iif "veth1" ether saddr ae:07:a3:55:f0:8c ip saddr 10.244.1.5 ' +
    'ip daddr 10.96.0.50 ip dscp 0x2d ip ecn not-ect ip ttl 64 ip id 27476 ip length 60 tcp sport 23456 tcp dport 80 ' +
    'tcp flags == syn tcp window 64240 ',
  'trace id 03872698 ip skiff-trace-1-ab prerouting unknown rule handle 2 (verdict continue)',
  'trace id 03872698 ip skiff nat-prerouting packet: iif "veth1" ip saddr 10.244.1.5 ip daddr 10.96.0.50 ip dscp 0x2d ' +
    'tcp sport 23456 tcp dport 80 tcp flags == syn ',
  'trace id 03872698 ip skiff nat-prerouting rule jump services (verdict jump services)',
  'trace id 03872698 ip skiff services rule ip daddr . meta l4proto . th dport vmap @svc_ips (verdict goto ip-n3-o)',
  'trace id 03872698 ip skiff ip-b1 rule dnat ip to ip daddr . meta l4proto . th dport map @eps_ip_1 (verdict accept)',
  'trace id 03872698 ip skiff filter-input policy accept ',
  'trace id 92ef9150 ip skiff reject-svc rule meta l4proto tcp reject with tcp reset (verdict drop)',
  'trace id 92ef9150 ip skiff masquerading verdict continue meta mark 0x00004000',
];

describe('nft trace lines', () => {
  it('parses packets, rules, policies and returns, and leaves out the trace table and other lines', () => {
    const ev = parseTrace(LINES, 'skiff-trace-1-ab');
    expect(ev.map((e) => `${e.chain}:${e.kind}`)).toEqual([
      'nat-prerouting:packet',
      'nat-prerouting:rule',
      'services:rule',
      'ip-b1:rule',
      'filter-input:policy',
      'reject-svc:rule',
      'masquerading:return',
    ]);
    const p = ev[0];
    expect(p?.kind === 'packet' && p.packet).toEqual({
      iif: 'veth1',
      saddr: '10.244.1.5',
      daddr: '10.96.0.50',
      proto: 'tcp',
      sport: 23456,
      dport: 80,
      tcpFlags: 'syn',
    });
    const svc = ev[2];
    expect(svc?.kind === 'rule' && [svc.rule, svc.verdict]).toEqual([
      'ip daddr . meta l4proto . th dport vmap @svc_ips',
      'goto ip-n3-o',
    ]);
    expect(parseTraceLine(LINES[2] as string)).toMatchObject({ kind: 'rule', rule: 'handle 2', verdict: 'continue' });
    expect(parseTraceLine('add element ip skiff svc_ips { 1.2.3.4 . tcp . 80 : drop }')).toBeUndefined();
  });

  it('finds the map a rule looks up and evaluates its key for the packet', () => {
    const pkt = { saddr: '10.244.1.5', daddr: '10.96.0.50', proto: 'tcp', sport: 23456, dport: 80 };
    const vmap = mapLookup('ip daddr . meta l4proto . th dport vmap @svc_ips');
    expect(vmap).toEqual({ key: 'ip daddr . meta l4proto . th dport', map: 'svc_ips' });
    expect(evalKey(vmap!.key, pkt)).toBe('10.96.0.50 . tcp . 80');
    expect(mapLookup('dnat ip to ip daddr . meta l4proto . th dport map @eps_ip_1')).toEqual({
      key: 'ip daddr . meta l4proto . th dport',
      map: 'eps_ip_1',
    });
    const np = mapLookup('fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @noep_nodeports');
    expect(np).toEqual({ key: 'meta l4proto . th dport', map: 'noep_nodeports' });
    expect(evalKey(np!.key, pkt)).toBe('tcp . 80');
    // nft prints the redirect's map without a space after the colon
    expect(mapLookup('meta l4proto { tcp, udp } redirect to :ip daddr . meta l4proto . th dport map @portals')).toEqual(
      {
        key: 'ip daddr . meta l4proto . th dport',
        map: 'portals',
      },
    );
    expect(mapLookup('jump services')).toBeUndefined();
    expect(evalKey('ip daddr . ct mark', pkt)).toBeUndefined();
  });
});

describe('conntrack and ss output', () => {
  it('reads the original and reply tuples of a DNATed, masqueraded flow', () => {
    const out =
      'tcp      6 118 TIME_WAIT src=198.18.0.100 dst=198.18.0.11 sport=23456 dport=30080 ' +
      'src=10.244.2.7 dst=198.18.0.11 sport=8080 dport=61234 [ASSURED] mark=0 use=1\n' +
      'udp      17 29 src=10.244.1.5 dst=10.96.0.10 sport=24000 dport=53 [UNREPLIED] ' +
      'src=10.244.3.4 dst=10.244.1.5 sport=53 dport=24000 mark=0 use=1\n';
    const [tcp, udp] = parseConntrack(out);
    expect(tcp).toEqual({
      proto: 'tcp',
      state: 'TIME_WAIT',
      orig: { src: '198.18.0.100', dst: '198.18.0.11', sport: 23456, dport: 30080 },
      reply: { src: '10.244.2.7', dst: '198.18.0.11', sport: 8080, dport: 61234 },
      flags: ['ASSURED'],
    });
    expect(udp?.flags).toEqual(['UNREPLIED']);
    expect(udp?.reply.src).toBe('10.244.3.4');
  });

  it('reads sockets with their owners', () => {
    const s = parseSs(
      'ESTAB 0 0 10.244.1.1:41234 10.244.2.7:8080 users:(("node",pid=321,fd=25))\n' +
        'LISTEN 0 511 0.0.0.0:30080 0.0.0.0:*\n',
    );
    expect(s[0]).toEqual({
      state: 'ESTAB',
      local: '10.244.1.1:41234',
      peer: '10.244.2.7:8080',
      pids: [321],
      fds: [25],
    });
    expect(s[1]?.pids).toEqual([]);
  });
});

describe('trace targets and the trace table', () => {
  const ports = [
    { name: 'http', port: 80, protocol: 'TCP' },
    { name: 'dns', port: 53, protocol: 'UDP' },
    { name: 'dns-tcp', port: 53, protocol: 'TCP' },
  ];

  it('reads svc/NAME[:PORT] and svc/NS/NAME[:PORT]', () => {
    expect(parseServiceRef('svc/web')).toEqual({ namespace: 'default', name: 'web', port: undefined });
    expect(parseServiceRef('svc/kube-system/kube-dns:dns-tcp')).toEqual({
      namespace: 'kube-system',
      name: 'kube-dns',
      port: 'dns-tcp',
    });
    expect(() => parseServiceRef('pod/web')).toThrow(/--to is svc\/NAME/);
  });

  it('picks the Service port by number or name and protocol', () => {
    expect(pickPort(ports, undefined, undefined).name).toBe('http');
    expect(pickPort(ports, '53', undefined).name).toBe('dns');
    expect(pickPort(ports, '53', 'TCP').name).toBe('dns-tcp');
    expect(pickPort(ports, 'dns-tcp', undefined).port).toBe(53);
    expect(() => pickPort(ports, '8080', undefined)).toThrow(/no port 8080 \(ports: http=80\/TCP, dns=53\/UDP/);
  });

  it('renders a trace table that marks only the probe, before conntrack and NAT, in both hooks', () => {
    const t = { family: 'ip' as const, name: 'skiff-trace-1-ab' };
    const text = traceTableText(t, 'ip dscp 0x2d meta l4proto udp');
    expect(text.split('\n').filter(Boolean)).toEqual([
      'add table ip skiff-trace-1-ab',
      'delete table ip skiff-trace-1-ab',
      'add table ip skiff-trace-1-ab',
      'add chain ip skiff-trace-1-ab prerouting { type filter hook prerouting priority -350; policy accept; }',
      'add rule ip skiff-trace-1-ab prerouting ip dscp 0x2d meta l4proto udp meta nftrace set 1',
      'add chain ip skiff-trace-1-ab output { type filter hook output priority -350; policy accept; }',
      'add rule ip skiff-trace-1-ab output ip dscp 0x2d meta l4proto udp meta nftrace set 1',
    ]);
  });
});
