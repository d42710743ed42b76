import * as dns from 'dns-packet';
import { describe, expect, it } from 'vitest';
import type { V1EndpointSlice, V1Pod, V1Service } from '@kubernetes/client-node';
import { answerQuery } from '../../../src/dns/server.js';
import { Zone, dashedIP, type ClusterObjects } from '../../../src/dns/zone.js';
import { clusterDnsIP } from '../../../src/lab/dns.js';
import { reverseName } from '../../../src/net/reverse.js';
import { parseDnsArgs, parseUpstream } from '../../../src/images/dns.js';

function svc(name: string, spec: V1Service['spec'], ns = 'default'): V1Service {
  return { metadata: { name, namespace: ns }, spec };
}

function slice(
  svcName: string,
  endpoints: { ip: string; ready?: boolean; hostname?: string }[],
  ns = 'default',
): V1EndpointSlice {
  return {
    metadata: { name: `${svcName}-abc`, namespace: ns, labels: { 'kubernetes.io/service-name': svcName } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: endpoints.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true },
      ...(e.hostname ? { hostname: e.hostname } : {}),
    })),
  };
}

function pod(name: string, ip: string, ns = 'default'): V1Pod {
  return { metadata: { name, namespace: ns }, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }] } };
}

const objects: ClusterObjects = {
  namespaces: [{ metadata: { name: 'default' } }, { metadata: { name: 'kube-system' } }],
  services: [
    svc('web', {
      clusterIP: '10.96.0.50',
      clusterIPs: ['10.96.0.50', 'fd00:96::50'],
      ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { port: 81 }],
    }),
    svc('db', { clusterIP: 'None', ports: [{ name: 'http', port: 8080 }] }),
    svc('ext', { type: 'ExternalName', externalName: 'web.default.svc.cluster.local' }),
    svc('big', { clusterIP: 'None' }),
  ],
  endpointSlices: [
    slice('db', [{ ip: '10.244.1.5', hostname: 'db-0' }, { ip: '10.244.2.7' }, { ip: '10.244.3.9', ready: false }]),
    slice(
      'big',
      Array.from({ length: 60 }, (_, i) => ({ ip: `10.244.9.${i + 1}` })),
    ),
  ],
  pods: [pod('db-0', '10.244.1.5'), pod('lonely', '10.244.4.4')],
};

const zone = new Zone('cluster.local', 5, objects);

function ask(name: string, type: dns.RecordType, opts: { udp?: boolean; upstream?: boolean; edns?: number } = {}) {
  const q = dns.encode({
    type: 'query',
    id: 4242,
    flags: dns.RECURSION_DESIRED,
    questions: [{ name, type, class: 'IN' }],
    additionals: opts.edns
      ? [
          {
            name: '.',
            type: 'OPT',
            udpPayloadSize: opts.edns,
            extendedRcode: 0,
            ednsVersion: 0,
            flags: 0,
            flag_do: false,
            options: [],
          } as never,
        ]
      : [],
  });
  const a = answerQuery(q, zone, opts.upstream ?? false, opts.udp ? 512 : undefined);
  if (!a || a.kind !== 'reply') return { forwarded: true as const };
  const r = dns.decode(a.packet);
  return {
    forwarded: false as const,
    size: a.packet.length,
    r,
    rcode: (r.flags ?? 0) & 0xf,
    data: (r.answers ?? []).map((x) => (x as { data: unknown }).data),
  };
}

describe('cluster zone records (DNS spec 1.1.0)', () => {
  it('A and AAAA of a ClusterIP Service, case-insensitive, with the TTL', () => {
    const a = ask('Web.Default.svc.cluster.local', 'A');
    expect(a.data).toEqual(['10.96.0.50']);
    expect(a.r?.answers?.[0]).toMatchObject({ name: 'Web.Default.svc.cluster.local', ttl: 5 });
    expect(a.r?.flag_aa).toBe(true);
    expect(ask('web.default.svc.cluster.local', 'AAAA').data).toEqual(['fd00:96::50']);
  });

  it('headless Services answer with the ready endpoints only', () => {
    expect(ask('db.default.svc.cluster.local', 'A').data?.sort()).toEqual(['10.244.1.5', '10.244.2.7']);
    expect(ask('db-0.db.default.svc.cluster.local', 'A').data).toEqual(['10.244.1.5']);
    expect(ask('10-244-2-7.db.default.svc.cluster.local', 'A').data).toEqual(['10.244.2.7']);
    expect(ask('10-244-3-9.db.default.svc.cluster.local', 'A').rcode).toBe(3);
  });

  it('SRV for named ports: the service name for ClusterIP, each endpoint for headless', () => {
    expect(ask('_http._tcp.web.default.svc.cluster.local', 'SRV').data).toEqual([
      { priority: 0, weight: 100, port: 80, target: 'web.default.svc.cluster.local' },
    ]);
    const h = ask('_http._tcp.db.default.svc.cluster.local', 'SRV');
    expect((h.data as { target: string; port: number }[]).map((d) => `${d.target}:${d.port}`).sort()).toEqual([
      '10-244-2-7.db.default.svc.cluster.local:8080',
      'db-0.db.default.svc.cluster.local:8080',
    ]);
    expect((h.r?.additionals ?? []).filter((x) => x.type === 'A')).toHaveLength(2);
    expect(ask('_nope._tcp.web.default.svc.cluster.local', 'SRV').rcode).toBe(3);
  });

  it('PTR for service, endpoint and pod addresses', () => {
    expect(ask(reverseName('10.96.0.50'), 'PTR').data).toEqual(['web.default.svc.cluster.local']);
    expect(ask(reverseName('fd00:96::50'), 'PTR').data).toEqual(['web.default.svc.cluster.local']);
    expect(ask(reverseName('10.244.1.5'), 'PTR').data).toEqual(['db-0.db.default.svc.cluster.local']);
    expect(ask(reverseName('10.244.4.4'), 'PTR').data).toEqual(['10-244-4-4.default.pod.cluster.local']);
    expect(ask(reverseName('10.1.2.3'), 'PTR').rcode).toBe(3);
    expect(ask(reverseName('10.1.2.3'), 'PTR', { upstream: true }).forwarded).toBe(true);
  });

  it('ExternalName is a CNAME, chased inside the zone', () => {
    const a = ask('ext.default.svc.cluster.local', 'A');
    expect(a.r?.answers?.map((x) => x.type)).toEqual(['CNAME', 'A']);
    expect(a.data).toEqual(['web.default.svc.cluster.local', '10.96.0.50']);
  });

  it('pod records exist only for pods that do (verified)', () => {
    expect(ask('10-244-4-4.default.pod.cluster.local', 'A').data).toEqual(['10.244.4.4']);
    expect(ask('10-244-4-5.default.pod.cluster.local', 'A').rcode).toBe(3);
  });

  it('NODATA (NOERROR, SOA) for existing names, NXDOMAIN (SOA) for missing ones', () => {
    for (const name of ['web.default.svc.cluster.local', 'default.svc.cluster.local', 'svc.cluster.local']) {
      const r = ask(name, name.startsWith('web') ? 'TXT' : 'A');
      expect(r.rcode, name).toBe(0);
      expect(r.data, name).toEqual([]);
      expect(r.r?.authorities?.[0]?.type, name).toBe('SOA');
    }
    const nx = ask('nope.default.svc.cluster.local', 'A');
    expect(nx.rcode).toBe(3);
    expect(nx.r?.authorities?.[0]).toMatchObject({ type: 'SOA', name: 'cluster.local', ttl: 5 });
    expect(ask('web.nons.svc.cluster.local', 'A').rcode).toBe(3);
    expect(ask('dns-version.cluster.local', 'TXT').data).toEqual([[Buffer.from('1.1.0')]]);
  });

  it('names outside the zone are forwarded when an upstream exists, else REFUSED', () => {
    expect(ask('example.com', 'A').rcode).toBe(5);
    expect(ask('example.com', 'A', { upstream: true }).forwarded).toBe(true);
  });

  it('large UDP answers are truncated (TC) unless EDNS allows them; TCP is never truncated', () => {
    const udp = ask('big.default.svc.cluster.local', 'A', { udp: true });
    expect(udp.r?.flag_tc).toBe(true);
    expect(udp.data).toEqual([]);
    expect(ask('big.default.svc.cluster.local', 'A').data).toHaveLength(60);
    const edns = ask('big.default.svc.cluster.local', 'A', { udp: true, edns: 4096 });
    expect(edns.r?.flag_tc).toBe(false);
    expect(edns.data).toHaveLength(60);
  });

  it('helpers and image flags', () => {
    expect(dashedIP('10.244.1.5')).toBe('10-244-1-5');
    expect(dashedIP('fd00::5')).toBe('fd00--5');
    expect(clusterDnsIP('10.96.0.0/12')).toBe('10.96.0.10');
    expect(clusterDnsIP('fd00:96::/108')).toBe('fd00:96::a');
    expect(parseUpstream('198.18.0.100')).toEqual({ host: '198.18.0.100', port: 53 });
    expect(parseUpstream('[fd00::1]:5353')).toEqual({ host: 'fd00::1', port: 5353 });
    expect(() => parseUpstream('nope')).toThrow(/IP\[:PORT\]/);
    expect(parseDnsArgs(['--domain', 'Example.Test.', '--ttl=30'])).toMatchObject({
      domain: 'example.test',
      ttl: 30,
      port: 53,
    });
    expect(() => parseDnsArgs(['--bogus'])).toThrow(/unknown image argument/);
  });
});
