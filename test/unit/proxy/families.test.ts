import { describe, expect, it } from 'vitest';
import { buildServiceState } from '../../../src/proxy/model/desired.js';
import { familyFacts, parseFamilyCidrs, proxyFamilies } from '../../../src/proxy/model/families.js';
import { renderService, staticChains } from '../../../src/proxy/nftables/layout.js';
import { renderUserspaceTable } from '../../../src/proxy/userspace/backend.js';
import { slice, svc } from '../../helpers/proxy/objects.js';

const node = {
  nodeName: 'n1',
  clusterCIDR: '10.244.0.0/16,fd00:10:244::/56',
  serviceCIDR: '10.96.0.0/12,fd00:10:96::/112',
};
const slice6 = (name: string, ips: string[]) => ({
  ...slice(
    name,
    ips.map((ip) => ({ ip, node: 'n1' })),
    undefined,
    `${name}-v6`,
  ),
  addressType: 'IPv6',
});

describe('dual stack in the proxy model', () => {
  const ds = svc(
    'ds',
    {
      type: 'LoadBalancer',
      clusterIP: '10.96.0.11',
      clusterIPs: ['10.96.0.11', 'fd00:10:96::11'],
      ipFamilies: ['IPv4', 'IPv6'],
      loadBalancerSourceRanges: ['198.18.0.0/24', 'fd00:198:18::/64'],
      ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' }],
    },
    ['198.18.0.200', 'fd00:198:18::200'],
  );
  const st = buildServiceState(
    ds,
    [slice('ds', [{ ip: '10.244.1.2', node: 'n1' }]), slice6('ds', ['fd00:10:244:1::2', 'fd00:10:244:1::3'])],
    node,
  )!;

  it('builds a port state per family, each with only its family’s addresses and endpoints', () => {
    const [v4, v6] = st.ports;
    expect(st.ports.map((p) => p.family)).toEqual([4, 6]);
    expect(v4!.clusterIPs).toEqual(['10.96.0.11']);
    expect(v4!.loadBalancerIPs).toEqual(['198.18.0.200']);
    expect(v4!.sourceRanges).toEqual(['198.18.0.0/24']);
    expect(v4!.clusterEndpoints.map((e) => e.ip)).toEqual(['10.244.1.2']);
    expect(v6!.clusterIPs).toEqual(['fd00:10:96::11']);
    expect(v6!.loadBalancerIPs).toEqual(['fd00:198:18::200']);
    expect(v6!.sourceRanges).toEqual(['fd00:198:18::/64']);
    expect(v6!.clusterEndpoints.map((e) => e.ip)).toEqual(['fd00:10:244:1::2', 'fd00:10:244:1::3']);
    expect(st.loadBalancerIPs).toEqual(['198.18.0.200', 'fd00:198:18::200']);
  });

  it('a single-stack IPv4 Service ignores IPv6 slices; no slice of its family means reject', () => {
    const v4only = buildServiceState(svc('a', { clusterIP: '10.96.0.5' }), [slice6('a', ['fd00:10:244:1::2'])], node)!;
    expect(v4only.ports.map((p) => [p.family, p.clusterDisposition])).toEqual([[4, 'reject']]);
  });

  it('renders the IPv6 table with the IPv6 words and only the IPv6 ports', () => {
    const o = { ...familyFacts(node, 6), family: 6 as const };
    const r = renderService(st, o);
    const keys = r.elems.map((e) => `${e.map} ${e.key}`);
    expect(keys).toContain('svc_ips fd00:10:96::11 . tcp . 80');
    expect(keys).toContain('fw_allow fd00:198:18::200 . tcp . 80 . fd00:198:18::/64');
    expect(keys.some((k) => k.includes('10.96.0.11'))).toBe(false);
    const rules = staticChains(o).flatMap(([, , rs]) => rs);
    expect(rules).toContain('ip6 daddr @cluster_ips goto reject-svc');
    expect(rules).toContain('ip6 daddr fd00:10:96::/112 drop');
    expect(rules.some((x) => /\bip (s|d)addr\b/.test(x))).toBe(false);
    const v4 = renderService(st, { ...familyFacts(node, 4), family: 4 });
    expect(v4.elems.some((e) => e.key.includes('fd00:'))).toBe(false);
  });

  it('the userspace table of a family is an ip6 table for IPv6', () => {
    const text = renderUserspaceTable([], [], { family: 6, clusterCIDR: 'fd00:10:244::/56' });
    expect(text).toContain('table ip6 skiff-userspace');
    expect(text).toContain('ip6 saddr fd00:10:244::/56');
    expect(text).not.toMatch(/\bip (s|d)addr\b/);
  });

  it('flags: one CIDR per family, the families served follow the service CIDRs', () => {
    expect(parseFamilyCidrs('10.96.0.0/12,fd00:10:96::/112')).toEqual(['10.96.0.0/12', 'fd00:10:96::/112']);
    expect(() => parseFamilyCidrs('10.96.0.0/12,10.97.0.0/16')).toThrow(/one CIDR per IP family/);
    expect(() => parseFamilyCidrs('10.96.0.1')).toThrow(/not a CIDR/);
    expect(proxyFamilies(node)).toEqual([4, 6]);
    expect(proxyFamilies({ serviceCIDR: 'fd00:10:96::/112' })).toEqual([6]);
    expect(proxyFamilies({})).toEqual([4]);
    expect(familyFacts({ ...node, nodePortIPs: ['198.18.0.11', 'fd00:198:18::11'] }, 6)).toMatchObject({
      clusterCIDR: 'fd00:10:244::/56',
      serviceCIDR: 'fd00:10:96::/112',
      nodePortIPs: ['fd00:198:18::11'],
    });
  });
});
