import { describe, expect, it } from 'vitest';
import { buildServiceState } from '../../../src/proxy/model/desired.js';
import type { DesiredState } from '../../../src/proxy/model/types.js';
import { NftablesBackend, type NftDriver } from '../../../src/proxy/nftables/backend.js';
import { classRules, renderService, staticChains } from '../../../src/proxy/nftables/layout.js';
import { slice, svc } from '../../helpers/proxy/objects.js';
import type { UdpFlow } from '../../../src/os/conntrack.js';

const node = { nodeName: 'n1', clusterCIDR: '10.244.0.0/16' };

function recorder(existing?: { chains: string[]; maps: string[]; sets: string[] }) {
  const sent: string[] = [];
  const conntrack: unknown[] = [];
  const flows: UdpFlow[] = [];
  const drv: NftDriver = {
    apply: async (t) => void sent.push(t),
    listObjects: async () => existing,
    conntrack: {
      // The kernel's table: one flow to each of the two endpoints, as if both had answered.
      list: async () => flows,
      delete: async (f) => (conntrack.push(f), 1),
    },
  };
  return { sent, conntrack, flows, drv };
}

function state(...pairs: [ReturnType<typeof svc>, ReturnType<typeof slice>[]][]): DesiredState {
  const d: DesiredState = new Map();
  for (const [s, sl] of pairs) {
    const st = buildServiceState(s, sl, node);
    if (st) d.set(st.key, st);
  }
  return d;
}

const web = svc('web', { clusterIP: '10.96.0.10' });
const webEps = [
  slice('web', [
    { ip: '10.244.1.2', node: 'n1' },
    { ip: '10.244.1.3', node: 'n1' },
  ]),
];

describe('nftables layout', () => {
  it('renders a ClusterIP service as map elements and one shared class chain', () => {
    const r = renderService(state([web, webEps]).get('default/web')!, node);
    expect(r.elems.map((e) => `${e.map} ${e.key}${e.value ? ` : ${e.value}` : ''}`)).toEqual([
      'cluster_ips 10.96.0.10',
      'svc_ips 10.96.0.10 . tcp . 80 : goto ip-n2-o',
      'eps_ip_0 10.96.0.10 . tcp . 80 : 10.244.1.2 . 8080',
      'eps_ip_1 10.96.0.10 . tcp . 80 : 10.244.1.3 . 8080',
      'hairpin 10.244.1.2 . 10.244.1.2',
      'hairpin 10.244.1.3 . 10.244.1.3',
    ]);
    // no scratch register: the packet mark is only ever OR-ed with the masquerade bit
    expect(classRules(r.classes[0]!, node)).toEqual([
      'ip saddr != 10.244.0.0/16 jump mark-for-masquerade',
      'numgen random mod 2 vmap { 0 : goto ip-b0, 1 : goto ip-b1 }',
    ]);
    expect(staticChains({ masqueradeBit: 3 }).find(([n]) => n === 'masquerading')![2]).toEqual([
      'meta mark & 0x00000008 == 0 return',
      'meta mark set meta mark ^ 0x00000008',
      'masquerade fully-random',
    ]);
  });

  it('renders NodePort, LB with source ranges, affinity, Local drop and no-endpoint reject', () => {
    const lb = svc(
      'lb',
      {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.20',
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } },
        loadBalancerSourceRanges: ['198.18.0.0/24'],
        ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' }],
      },
      ['198.18.0.200'],
    );
    const r = renderService(
      state([
        lb,
        webEps.map((s) => ({ ...s, metadata: { ...s.metadata, labels: { 'kubernetes.io/service-name': 'lb' } } })),
      ]).get('default/lb')!,
    );
    const text = r.elems.map((e) => `${e.map} ${e.key}${e.value ? ` : ${e.value}` : ''}`);
    // affinity: kube-proxy's shape, one chain and one affinity set per endpoint, shared by every destination
    const internal = text.find((t) => t.startsWith('svc_ips 10.96.0.20 . tcp . 80 : goto internal-'))!;
    const external = text.find((t) => t.startsWith('svc_ips 198.18.0.200 . tcp . 80 : goto external-'))!;
    expect(internal).toMatch(/internal-[A-Z0-9x]{8}-default\/lb\/tcp\/http$/);
    expect(external).toMatch(/external-[A-Z0-9x]{8}-default\/lb\/tcp\/http$/);
    expect(text.find((t) => t.startsWith('svc_nodeports tcp . 30080 : goto external-'))).toBe(
      external.replace('svc_ips 198.18.0.200 . tcp . 80', 'svc_nodeports tcp . 30080'),
    );
    expect(r.sets.map((x) => x.spec)).toEqual([
      'type ipv4_addr; flags dynamic,timeout; timeout 60s;',
      'type ipv4_addr; flags dynamic,timeout; timeout 60s;',
    ]);
    const ep = r.chains.find((c) => c.name.endsWith('__10.244.1.3/8080'))!;
    expect(ep.rules).toEqual([
      `update @${r.sets[1]!.name} { ip saddr }`,
      'meta l4proto tcp dnat ip to 10.244.1.3:8080',
    ]);
    const cluster = r.chains.find((c) => c.name.startsWith('service-'))!;
    expect(cluster.rules[1]).toBe(`ip saddr @${r.sets[1]!.name} goto ${ep.name}`);
    expect(r.chains.find((c) => c.name.startsWith('external-'))!.rules).toEqual([
      'jump mark-for-masquerade',
      `goto ${cluster.name}`,
    ]);
    expect(text).toContain('fw_allow 198.18.0.200 . tcp . 80 . 198.18.0.0/24');

    const none = renderService(
      state([
        svc('none', {
          clusterIP: '10.96.0.30',
          type: 'NodePort',
          ports: [{ name: 'http', port: 80, nodePort: 30081 }],
        }),
        [],
      ]).get('default/none')!,
    );
    expect(none.elems.map((e) => `${e.map} ${e.key} : ${e.value}`)).toEqual([
      'cluster_ips 10.96.0.30 : ',
      'noep_ips 10.96.0.30 . tcp . 80 : goto reject-svc',
      'noep_nodeports tcp . 30081 : goto reject-svc',
    ]);
    const local = renderService(
      state([
        svc('loc', {
          clusterIP: '10.96.0.40',
          type: 'NodePort',
          externalTrafficPolicy: 'Local',
          ports: [{ name: 'http', port: 80, nodePort: 30082 }],
        }),
        [slice('loc', [{ ip: '10.244.2.5', node: 'n2' }])],
      ]).get('default/loc')!,
    );
    // Local with no endpoint here: the entry still goes to its class chain (pods and the node short-circuit
    // to the cluster-wide endpoint there); what falls through un-DNATed meets the no-endpoints drop.
    expect(local.elems.filter((e) => e.key === 'tcp . 30082').map((e) => `${e.map} ${e.value}`)).toEqual([
      'svc_nodeports goto np-n0-l-c1',
      'noep_nodeports drop',
      'epc_np_0 10.244.2.5 . 8080',
    ]);
    expect(
      classRules(
        local.classes.find((c) => c.masq === 'l')!,
        node,
      ),
    ).toEqual([
      'ip saddr 10.244.0.0/16 goto np-sc-n1',
      'fib saddr type local jump mark-for-masquerade',
      'fib saddr type local goto np-sc-n1',
    ]);
    expect(
      classRules(
        local.classes.find((c) => c.masq === 's')!,
        node,
      ),
    ).toEqual(['numgen random mod 1 vmap { 0 : goto np-scb0 }']);
  });
});

describe('nftables backend transactions', () => {
  it('full sync builds the table in one transaction; partial sends only changed elements', async () => {
    const rec = recorder();
    const b = new NftablesBackend({ node }, rec.drv);
    await b.init();
    const d = state(
      [web, webEps],
      [svc('other', { clusterIP: '10.96.0.11' }), [slice('other', [{ ip: '10.244.1.7' }])]],
    );
    const full = await b.sync(d, 'full');
    expect(full.full).toBe(true);
    expect(rec.sent).toHaveLength(1);
    const first = rec.sent[0]!;
    expect(first).toContain('add table ip skiff\n');
    expect(first).not.toContain('delete table');
    expect(first).toContain(
      'add chain ip skiff nat-prerouting { type nat hook prerouting priority -100; policy accept; }',
    );
    expect(first).toMatch(
      /add element ip skiff svc_ips \{ 10\.96\.0\.10 \. tcp \. 80 : goto ip-n2-o, 10\.96\.0\.11 \. tcp \. 80 : goto ip-n1-o \}/,
    );
    // class chains precede the elements that jump to them
    expect(first.indexOf('add chain ip skiff ip-n2-o')).toBeLessThan(first.indexOf('add element ip skiff svc_ips'));

    // one endpoint of web goes away: only its elements change, nothing about "other"
    const d2 = state(
      [web, [slice('web', [{ ip: '10.244.1.2', node: 'n1' }])]],
      [svc('other', { clusterIP: '10.96.0.11' }), [slice('other', [{ ip: '10.244.1.7' }])]],
    );
    await b.sync(d2, new Set(['default/web']));
    expect(rec.sent[1]).toBe(
      'delete element ip skiff svc_ips { 10.96.0.10 . tcp . 80 }\n' +
        'delete element ip skiff eps_ip_1 { 10.96.0.10 . tcp . 80 }\n' +
        'delete element ip skiff hairpin { 10.244.1.3 . 10.244.1.3 }\n' +
        'add element ip skiff svc_ips { 10.96.0.10 . tcp . 80 : goto ip-n1-o }\n',
    );
    // nothing changed: nothing sent
    await b.sync(d2, new Set(['default/web']));
    expect(rec.sent).toHaveLength(2);
    // deleting the service removes every element it owned
    d2.delete('default/web');
    await b.sync(d2, new Set(['default/web']));
    expect(rec.sent[2]).toBe(
      'delete element ip skiff cluster_ips { 10.96.0.10 }\n' +
        'delete element ip skiff svc_ips { 10.96.0.10 . tcp . 80 }\n' +
        'delete element ip skiff eps_ip_0 { 10.96.0.10 . tcp . 80 }\n' +
        'delete element ip skiff hairpin { 10.244.1.2 . 10.244.1.2 }\n',
    );
  });

  it('a full sync after partial ones, or after a failed apply, sends exactly the wanted elements', async () => {
    const sent: string[] = [];
    let fail = false;
    const drv: NftDriver = {
      apply: async (t) => {
        if (fail) throw new Error('nft: refused');
        sent.push(t);
      },
      listObjects: async () => undefined,
      conntrack: { list: async () => [], delete: async () => 0 },
    };
    const elements = (t: string) =>
      t
        .split('\n')
        .filter((l) => l.startsWith('add element'))
        .flatMap((l) => {
          const [head, body] = l.split(' { ');
          return body!
            .replace(/ }$/, '')
            .split(', ')
            .map((e) => `${head!.split(' ')[4]} ${e}`);
        })
        .sort();
    const other: [ReturnType<typeof svc>, ReturnType<typeof slice>[]] = [
      svc('other', { clusterIP: '10.96.0.11' }),
      [slice('other', [{ ip: '10.244.1.7' }])],
    ];
    const two = state([web, webEps], other);
    const one = state([web, [slice('web', [{ ip: '10.244.1.2', node: 'n1' }])]], other);
    const b = new NftablesBackend({ node }, drv);
    await b.init();
    await b.sync(two, 'full');
    const fresh = elements(sent[0]!);
    // a periodic full sync with nothing changed re-sends the same elements (from the cached renders)
    await b.sync(two, 'full');
    expect(elements(sent[1]!)).toEqual(fresh);
    // a partial sync the kernel refuses, then the full sync that follows it
    fail = true;
    await expect(b.sync(one, new Set(['default/web']))).rejects.toThrow('refused');
    fail = false;
    await b.sync(one, 'full');
    expect(elements(sent[2]!)).toContain('svc_ips 10.96.0.10 . tcp . 80 : goto ip-n1-o');
    expect(elements(sent[2]!)).not.toContain('eps_ip_1 10.96.0.10 . tcp . 80 : 10.244.1.3 . 8080');
    // the mirror of the kernel was rebuilt: going back to two endpoints is a correct diff
    await b.sync(two, new Set(['default/web']));
    expect(sent[3]).toBe(
      'delete element ip skiff svc_ips { 10.96.0.10 . tcp . 80 }\n' +
        'add element ip skiff svc_ips { 10.96.0.10 . tcp . 80 : goto ip-n2-o }\n' +
        'add element ip skiff eps_ip_1 { 10.96.0.10 . tcp . 80 : 10.244.1.3 . 8080 }\n' +
        'add element ip skiff hairpin { 10.244.1.3 . 10.244.1.3 }\n',
    );
    // and a full sync now matches a fresh one
    await b.sync(two, 'full');
    expect(elements(sent[4]!)).toEqual(fresh);
  });

  it('adopts an existing table by flushing in place and deleting stale objects, in one transaction', async () => {
    const rec = recorder({
      chains: ['services', 'nat-prerouting', 'ip-n12-o'],
      maps: ['svc_ips', 'aff_ip_99'],
      sets: [],
    });
    const b = new NftablesBackend({ node }, rec.drv);
    await b.init();
    await b.sync(state([web, webEps]), 'full');
    const t = rec.sent[0]!;
    expect(t).toContain('flush map ip skiff svc_ips\n');
    expect(t).toContain('flush chain ip skiff nat-prerouting\n');
    expect(t).toContain('delete chain ip skiff ip-n12-o\n');
    expect(t).toContain('delete map ip skiff aff_ip_99\n');
    expect(t).not.toContain('delete table');
  });

  it('clears conntrack for UDP endpoints that went away', async () => {
    const rec = recorder();
    const b = new NftablesBackend({ node }, rec.drv);
    await b.init();
    const dns = svc('dns', { clusterIP: '10.96.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] });
    const two = slice(
      'dns',
      [{ ip: '10.244.1.2' }, { ip: '10.244.1.3' }],
      [{ name: 'dns', port: 53, protocol: 'UDP' }],
    );
    const one = slice('dns', [{ ip: '10.244.1.2' }], [{ name: 'dns', port: 53, protocol: 'UDP' }]);
    const flow = (ep: string, sport: number): UdpFlow => ({
      origSrc: '10.244.2.5',
      origDst: '10.96.0.53',
      origSport: sport,
      origDport: 53,
      replySrc: ep,
      replySport: 53,
    });
    rec.flows.push(flow('10.244.1.2', 40000), flow('10.244.1.3', 40001));
    await b.sync(state([dns, [two]]), 'full');
    expect(rec.conntrack).toEqual([]); // both endpoints serve
    await b.sync(state([dns, [one]]), new Set(['default/dns']));
    expect(rec.conntrack).toEqual([{ family: 'ipv4', origDst: '10.96.0.53', origPortDst: 53, replySrc: '10.244.1.3' }]);
  });
});
