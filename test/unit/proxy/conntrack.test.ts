import { describe, expect, it } from 'vitest';
import { conntrackDeleteArgv, parseConntrackUdp, type UdpFlow } from '../../../src/os/conntrack.js';
import { reconcileUdpConntrack, servingFrontends, staleFlowFilters } from '../../../src/proxy/conntrack.js';
import { buildServiceState } from '../../../src/proxy/model/desired.js';
import type { DesiredState } from '../../../src/proxy/model/types.js';
import { slice, svc, type EpFix } from '../../helpers/proxy/objects.js';

const node = { nodeName: 'n1', clusterCIDR: '10.244.0.0/16' };
const udpPorts = [{ name: 'dns', port: 53, protocol: 'UDP', nodePort: 30053 }];

function dns(eps: EpFix[], spec: Record<string, unknown> = {}): DesiredState {
  const s = svc('dns', { type: 'LoadBalancer', clusterIP: '10.96.0.53', ports: udpPorts, ...spec }, ['198.18.0.200']);
  const st = buildServiceState(s, [slice('dns', eps, [{ name: 'dns', port: 5353, protocol: 'UDP' }])], node);
  return new Map([[st!.key, st!]]);
}

const flow = (origDst: string, origDport: number, replySrc: string, replySport = 5353): UdpFlow => ({
  origSrc: '10.244.2.7',
  origDst,
  origSport: 41000,
  origDport,
  replySrc,
  replySport,
});

describe('UDP conntrack reconciliation (kube-proxy CleanStaleEntries)', () => {
  it('parses conntrack -L: the original and the reply tuple', () => {
    const text = [
      'udp      17 27 src=10.244.2.7 dst=10.96.0.53 sport=41000 dport=53 [UNREPLIED] src=10.244.1.3 dst=10.244.2.7 ' +
        'sport=5353 dport=41000 mark=0 use=1',
      'tcp      6 431999 ESTABLISHED src=1.1.1.1 dst=2.2.2.2 sport=1 dport=2 src=2.2.2.2 dst=1.1.1.1 sport=2 dport=1',
      'conntrack v1.4.7 (conntrack-tools): 1 flow entries have been shown.',
    ].join('\n');
    expect(parseConntrackUdp(text)).toEqual([flow('10.96.0.53', 53, '10.244.1.3')]);
  });

  it('removes flows to a service IP or NodePort whose reply source is not a serving endpoint', () => {
    const f = servingFrontends(dns([{ ip: '10.244.1.2' }]));
    const flows = [
      flow('10.96.0.53', 53, '10.244.1.2'), // serving: kept
      flow('10.96.0.53', 53, '10.244.1.3'), // gone: removed
      flow('198.18.0.200', 53, '10.244.1.3'), // LoadBalancer IP: removed
      flow('198.18.0.11', 30053, '10.244.1.3'), // NodePort on any address: removed
      flow('10.96.0.53', 53, '10.96.0.53'), // un-NATed (made while the Service had no endpoint): removed
      flow('10.96.0.53', 54, '10.244.1.3'), // another port: not a frontend
      flow('10.244.1.3', 5353, '10.244.1.3'), // straight to the pod: not a frontend
    ];
    expect(staleFlowFilters(flows, f, 'source-ip')).toEqual([
      { family: 'ipv4', origDst: '10.96.0.53', origPortDst: 53, replySrc: '10.244.1.3' },
      { family: 'ipv4', origDst: '198.18.0.200', origPortDst: 53, replySrc: '10.244.1.3' },
      { family: 'ipv4', origPortDst: 30053, replySrc: '10.244.1.3' },
      { family: 'ipv4', origDst: '10.96.0.53', origPortDst: 53, replySrc: '10.96.0.53' },
    ]);
  });

  it('keeps flows to serving endpoints whatever the policies and terminating state', () => {
    const d = dns(
      [
        { ip: '10.244.1.2', node: 'n2' },
        { ip: '10.244.1.3', node: 'n1', ready: false, serving: true, terminating: true },
      ],
      { externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Local' },
    );
    const flows = [flow('10.96.0.53', 53, '10.244.1.2'), flow('10.96.0.53', 53, '10.244.1.3')];
    expect(staleFlowFilters(flows, servingFrontends(d), 'source-ip')).toEqual([]);
  });

  it('leaves a Service with no serving endpoint alone, as kube-proxy', () => {
    const d = dns([{ ip: '10.244.1.2', ready: false, serving: false }]);
    expect(servingFrontends(d).ips.size).toBe(0);
    expect(staleFlowFilters([flow('10.96.0.53', 53, '10.244.1.2')], servingFrontends(d), 'source-ip')).toEqual([]);
  });

  it('userspace mode compares the reply source port with the listener', async () => {
    const f = { ips: new Map([['10.96.0.53|53', new Set(['40123'])]]), nodePorts: new Map<number, Set<string>>() };
    const flows = [flow('10.96.0.53', 53, '10.244.1.1', 40123), flow('10.96.0.53', 53, '10.244.1.1', 39999)];
    const deleted: unknown[] = [];
    const n = await reconcileUdpConntrack(
      { list: async () => flows, delete: async (x) => (deleted.push(x), 1) },
      f,
      'source-port',
    );
    expect(n).toBe(1);
    expect(deleted).toEqual([{ family: 'ipv4', origDst: '10.96.0.53', origPortDst: 53, replyPortSrc: 39999 }]);
    expect(conntrackDeleteArgv(deleted[0] as never)).toEqual([
      'conntrack',
      '-D',
      '-f',
      'ipv4',
      '-p',
      'udp',
      '--orig-dst',
      '10.96.0.53',
      '--orig-port-dst',
      '53',
      '--reply-port-src',
      '39999',
    ]);
  });

  it('lists nothing when there is no UDP frontend', async () => {
    let listed = 0;
    const ops = { list: async () => (listed++, []), delete: async () => 0 };
    await reconcileUdpConntrack(ops, { ips: new Map(), nodePorts: new Map() }, 'source-ip');
    expect(listed).toBe(0);
  });
});
