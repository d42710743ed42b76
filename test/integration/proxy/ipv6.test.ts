import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { run } from '../../../src/os/exec.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { slice, svc } from '../../helpers/proxy/objects.js';
import {
  buildDriver,
  buildTopology,
  client,
  Driver,
  names,
  SERVICE_CIDR6,
  startServers,
  type Topology,
} from '../../helpers/proxy/netlab.js';

/**
 * IPv6 and dual-stack Services in both proxy modes, on a real kernel in lab namespaces: the proxy lab of
 * datapath.test.ts with an IPv6 plan beside the IPv4 one (nodes n1: p1, p2 and n2: p3, an external client),
 * each proxy serving both families (--service-cidr and --cluster-cidr with one CIDR per family). As
 * kube-proxy, each family has its own table (`ip skiff` and `ip6 skiff`, or `ip skiff-userspace` and
 * `ip6 skiff-userspace`) and an IPv6 Service is programmed from its IPv6 ClusterIP and IPv6 EndpointSlice.
 */
const http = [{ name: 'http', port: 8080 }];
const LB4 = '198.18.0.200';
const LB6 = 'fd00:198:18::200';
const LB6_FW = 'fd00:198:18::201';
const LB4_FW = '198.18.0.201';

describe.each(['nftables', 'userspace'])('IPv6 and dual-stack Services (%s mode)', (mode) => {
  const lab = new Lab(mode === 'nftables' ? 'p6n' : 'p6u');
  let topo: Topology;
  const drivers: Driver[] = [];
  const pod = (name: string) => topo.pods.find((p) => p.name === name)!;
  const ep4 = (name: string) => ({ ip: pod(name).ip, node: pod(name).node });
  const ep6 = (name: string) => ({ ip: pod(name).ip6, node: pod(name).node });
  const slice6 = (service: string, eps: { ip: string; node: string }[]): V1EndpointSlice => ({
    ...slice(service, eps, http, `${service}-v6`),
    addressType: 'IPv6',
  });
  const all = (op: Record<string, unknown>) => drivers.forEach((d) => d.send(op));
  const apply = async (objs: (V1Service | V1EndpointSlice)[]) => {
    for (const o of objs) all({ op: o.kind === 'Service' ? 'svc' : 'slice', obj: o });
    await Promise.all(drivers.map((d) => d.sync()));
  };
  const dual = { ipFamilies: ['IPv4', 'IPv6'], ipFamilyPolicy: 'RequireDualStack' };
  const holders = async (ip: string, prefix: number) => {
    const out: string[] = [];
    for (const n of topo.nodes) {
      const text = await run(['ip', '-n', n.ns, '-o', 'addr', 'show', 'dev', 'eth0']);
      if (text.includes(` ${ip}/${prefix} `)) out.push(n.name);
    }
    return out;
  };

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nft', 'conntrack', 'na6']);
    topo = await buildTopology(lab, undefined, { ipv6: true });
    await startServers(lab, topo);
    const driverPath = await buildDriver(lab);
    for (const n of topo.nodes) {
      const d = new Driver(driverPath, n.ns, [
        '--mode',
        mode,
        '--node-name',
        n.name,
        '--node-ip',
        `${n.ip},${n.ip6}`,
        '--cluster-cidr',
        '10.244.0.0/16,fd00:10:244::/56',
        '--service-cidr',
        `10.96.0.0/12,${SERVICE_CIDR6}`,
      ]);
      drivers.push(d);
      lab.onCleanup(() => d.kill());
    }
    all({ op: 'nodes', ready: topo.nodes.map((n) => n.name) });
    await apply([
      svc('v6', { clusterIP: 'fd00:10:96::10', clusterIPs: ['fd00:10:96::10'], ipFamilies: ['IPv6'] }),
      slice6('v6', [ep6('p1'), ep6('p2'), ep6('p3')]),
      svc('ds', { clusterIP: '10.96.0.11', clusterIPs: ['10.96.0.11', 'fd00:10:96::11'], ...dual }),
      slice('ds', [ep4('p1')], http),
      slice6('ds', [ep6('p3')]),
      svc(
        'lb',
        {
          type: 'LoadBalancer',
          clusterIP: '10.96.0.12',
          clusterIPs: ['10.96.0.12', 'fd00:10:96::12'],
          ...dual,
          ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' }],
        },
        [LB4, LB6],
      ),
      slice('lb', [ep4('p1'), ep4('p3')], http),
      slice6('lb', [ep6('p1'), ep6('p3')]),
      svc(
        'fw',
        {
          type: 'LoadBalancer',
          clusterIP: '10.96.0.13',
          clusterIPs: ['10.96.0.13', 'fd00:10:96::13'],
          ...dual,
          // the external client only, in each family: the nodes themselves are not listed
          loadBalancerSourceRanges: [`${topo.clientIP}/32`, `${topo.clientIP6}/128`],
          ports: [{ name: 'http', port: 80, nodePort: 30081, protocol: 'TCP' }],
        },
        [LB4_FW, LB6_FW],
      ),
      slice('fw', [ep4('p2')], http),
      slice6('fw', [ep6('p2')]),
      svc('aff6', {
        clusterIP: 'fd00:10:96::14',
        clusterIPs: ['fd00:10:96::14'],
        ipFamilies: ['IPv6'],
        sessionAffinity: 'ClientIP',
      }),
      slice6('aff6', [ep6('p1'), ep6('p2'), ep6('p3')]),
      svc('none6', { clusterIP: 'fd00:10:96::15', clusterIPs: ['fd00:10:96::15'], ipFamilies: ['IPv6'] }),
    ]);
  }, 120_000);

  afterAll(async () => {
    for (const d of drivers) await d.stop(true);
    await lab.cleanup();
  });

  it('programs one table per family, as kube-proxy', async () => {
    const tables = await run(['ip', 'netns', 'exec', topo.nodes[0]!.ns, 'nft', 'list', 'tables']);
    const name = mode === 'nftables' ? 'skiff' : 'skiff-userspace';
    expect(tables).toContain(`table ip ${name}\n`);
    expect(tables).toContain(`table ip6 ${name}\n`);
  });

  it('an IPv6 ClusterIP from a pod reaches endpoints on both nodes, source preserved (nftables)', async () => {
    const rs = await client(pod('p3').ns, 'tcp', 'fd00:10:96::10', 80, 24);
    const got = names(rs);
    expect(got.every((n) => ['p1', 'p2', 'p3'].includes(n))).toBe(true);
    expect(new Set(got).size).toBeGreaterThanOrEqual(2);
    const fromOther = rs.find((r) => r.ok && !r.text!.startsWith('p3 '))!;
    const source = fromOther.text!.split(' ')[1];
    if (mode === 'nftables') expect(source).toBe(pod('p3').ip6);
    else expect(source).not.toBe(pod('p3').ip6); // the userspace proxy connects from the node
  });

  it('an IPv6 ClusterIP from the node itself', async () => {
    const got = names(await client(topo.nodes[0]!.ns, 'tcp', 'fd00:10:96::10', 80, 6));
    expect(got.every((n) => ['p1', 'p2', 'p3'].includes(n))).toBe(true);
  });

  it('a dual-stack Service answers on both families, each from its own family’s endpoints', async () => {
    expect(names(await client(pod('p2').ns, 'tcp', '10.96.0.11', 80, 3))).toEqual(['p1', 'p1', 'p1']);
    expect(names(await client(pod('p2').ns, 'tcp', 'fd00:10:96::11', 80, 3))).toEqual(['p3', 'p3', 'p3']);
  });

  it('UDP over an IPv6 ClusterIP', async () => {
    const dns6 = svc('dns6', {
      clusterIP: 'fd00:10:96::53',
      clusterIPs: ['fd00:10:96::53'],
      ipFamilies: ['IPv6'],
      ports: [{ name: 'dns', port: 53, protocol: 'UDP' }],
    });
    const s = { ...slice6('dns6', [ep6('p2')]), ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }] };
    await apply([dns6, s]);
    expect(names(await client(pod('p1').ns, 'udp', 'fd00:10:96::53', 53, 3))).toEqual(['p2', 'p2', 'p2']);
  });

  it('NodePort over IPv6 from the external client on every node', async () => {
    for (const n of topo.nodes) {
      const got = names(await client(topo.client, 'tcp', n.ip6, 30080, 4));
      expect(got.every((x) => ['p1', 'p3'].includes(x))).toBe(true);
    }
  });

  it('an IPv6 LoadBalancer IP is announced by one node (NDP) and answers the external client', async () => {
    const owners = await holders(LB6, 128);
    expect(owners).toHaveLength(1);
    expect(await holders(LB4, 32)).toHaveLength(1);
    expect(names(await client(topo.client, 'tcp', `${LB6}`, 80, 4)).every((x) => ['p1', 'p3'].includes(x))).toBe(true);
    expect(names(await client(topo.client, 'tcp', LB4, 80, 2)).every((x) => ['p1', 'p3'].includes(x))).toBe(true);
    // the client resolved the address to the owner's underlay MAC
    const owner = topo.nodes.find((n) => n.name === owners[0])!;
    const mac = JSON.parse(await run(['ip', '-n', owner.ns, '-j', 'link', 'show', 'dev', 'eth0']))[0].address;
    const neigh = await run(['ip', '-n', topo.client, '-6', 'neigh', 'show', LB6]);
    expect(neigh).toContain(mac);
    // the VIP is deprecated on the owner: its own connections on the underlay keep leaving from its address
    const route = await run(['ip', '-n', owner.ns, '-6', 'route', 'get', topo.clientIP6]);
    expect(route).toContain(`src ${owner.ip6} `);
  });

  it('loadBalancerSourceRanges per family: the listed client passes, the node itself is dropped (filter-output)', async () => {
    expect(names(await client(topo.client, 'tcp', LB6_FW, 80, 2))).toEqual(['p2', 'p2']);
    expect(names(await client(topo.client, 'tcp', LB4_FW, 80, 2))).toEqual(['p2', 'p2']);
    for (const n of topo.nodes) {
      for (const ip of [LB6_FW, LB4_FW]) {
        const [r] = await client(n.ns, 'tcp', ip, 80, 1, 1500);
        expect(r!.ok, `${n.name} → ${ip}`).toBe(false);
        expect(r!.err).toBe('ETIMEDOUT'); // dropped, not refused
      }
    }
  });

  it('ClientIP affinity over IPv6 sticks to one endpoint', async () => {
    const got = names(await client(pod('p2').ns, 'tcp', 'fd00:10:96::14', 80, 10));
    expect(got[0]).toMatch(/^p[123]$/);
    expect(new Set(got).size).toBe(1);
  });

  it('the IPv6 service CIDR guard: no endpoints rejected, unserved port rejected, unallocated address dropped', async () => {
    const [noEp] = await client(pod('p1').ns, 'tcp', 'fd00:10:96::15', 80, 1, 3000);
    expect(noEp!.err).toBe('ECONNREFUSED');
    const [wrongPort] = await client(pod('p1').ns, 'tcp', 'fd00:10:96::10', 81, 1, 3000);
    expect(wrongPort!.err).toBe('ECONNREFUSED');
    const [unallocated] = await client(pod('p1').ns, 'tcp', 'fd00:10:96::99', 80, 1, 1500);
    expect(unallocated!.err).toBe('ETIMEDOUT');
  });
});
