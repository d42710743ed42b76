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
  startServers,
  type Topology,
} from '../../helpers/proxy/netlab.js';

/**
 * The same behavioural cases for both proxy modes, on a real kernel in lab namespaces: two nodes
 * (n1: p1, p2; n2: p3), each running a proxy; an external client on the underlay.
 */
const LB_IP = '198.18.0.200';
const http = [{ name: 'http', port: 8080 }];

describe.each(['nftables', 'userspace'])('service proxy datapath (%s mode)', (mode) => {
  const lab = new Lab(mode === 'nftables' ? 'pxn' : 'pxu');
  let topo: Topology;
  const drivers: Driver[] = [];
  const pod = (name: string) => topo.pods.find((p) => p.name === name)!;
  const ep = (name: string) => ({ ip: pod(name).ip, node: pod(name).node });
  const all = (op: Record<string, unknown>) => drivers.forEach((d) => d.send(op));
  const syncAll = () => Promise.all(drivers.map((d) => d.sync()));
  const apply = async (objs: (V1Service | V1EndpointSlice)[]) => {
    for (const o of objs) all({ op: o.kind === 'Service' ? 'svc' : 'slice', obj: o });
    await syncAll();
  };

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nft', 'conntrack']);
    topo = await buildTopology(lab);
    await startServers(lab, topo);
    const driverPath = await buildDriver(lab);
    for (const n of topo.nodes) {
      const d = new Driver(driverPath, n.ns, ['--mode', mode, '--node-name', n.name, '--node-ip', n.ip]);
      drivers.push(d);
      lab.onCleanup(() => d.kill());
    }
    all({ op: 'nodes', ready: topo.nodes.map((n) => n.name) });
    await apply([
      svc(
        'web',
        {
          type: 'LoadBalancer',
          clusterIP: '10.96.0.10',
          ports: [{ name: 'http', port: 80, nodePort: 30080, protocol: 'TCP' }],
        },
        [LB_IP],
      ),
      slice('web', [ep('p1'), ep('p2'), ep('p3')], http),
      svc('dns', { clusterIP: '10.96.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }),
      slice('dns', [ep('p1'), ep('p2')], [{ name: 'dns', port: 5353, protocol: 'UDP' }]),
      svc('aff', { clusterIP: '10.96.0.20', sessionAffinity: 'ClientIP' }),
      slice('aff', [ep('p1'), ep('p2'), ep('p3')], http),
      svc('hp', { clusterIP: '10.96.0.30' }),
      slice('hp', [ep('p1')], http),
      svc('loc', {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.40',
        externalTrafficPolicy: 'Local',
        healthCheckNodePort: 32100,
        ports: [{ name: 'http', port: 80, nodePort: 30090, protocol: 'TCP' }],
      }),
      slice('loc', [ep('p3')], http),
      svc('none', {
        type: 'NodePort',
        clusterIP: '10.96.0.50',
        ports: [{ name: 'http', port: 80, nodePort: 30099, protocol: 'TCP' }],
      }),
      svc(
        'fwok',
        {
          type: 'LoadBalancer',
          clusterIP: '10.96.0.70',
          loadBalancerSourceRanges: ['198.18.0.96/28'],
          ports: [{ name: 'http', port: 80, nodePort: 30070, protocol: 'TCP' }],
        },
        ['198.18.0.201'],
      ),
      slice('fwok', [ep('p1')], http),
      svc(
        'fwno',
        {
          type: 'LoadBalancer',
          clusterIP: '10.96.0.71',
          loadBalancerSourceRanges: ['198.18.1.0/24'],
          ports: [{ name: 'http', port: 80, nodePort: 30071, protocol: 'TCP' }],
        },
        ['198.18.0.202'],
      ),
      slice('fwno', [ep('p1')], http),
      svc('rm', { clusterIP: '10.96.0.60' }),
      slice('rm', [ep('p1'), ep('p2')], http),
    ]);
  });

  afterAll(async () => {
    for (const d of drivers) await d.stop(false);
    await lab.cleanup();
  });

  it('ClusterIP from a pod reaches several endpoints, including one on the other node', async () => {
    const got = new Set(names(await client(pod('p1').ns, 'tcp', '10.96.0.10', 80, 24)));
    expect([...got].every((n) => ['p1', 'p2', 'p3'].includes(n))).toBe(true);
    expect(got.size).toBeGreaterThanOrEqual(2);
  });

  it('ClusterIP from the node itself', async () => {
    const got = names(await client(topo.nodes[0]!.ns, 'tcp', '10.96.0.10', 80, 6));
    expect(got.every((n) => ['p1', 'p2', 'p3'].includes(n))).toBe(true);
  });

  it('NodePort from the external client on every node', async () => {
    for (const n of topo.nodes) {
      const got = names(await client(topo.client, 'tcp', n.ip, 30080, 4));
      expect(got.every((x) => ['p1', 'p2', 'p3'].includes(x))).toBe(true);
    }
  });

  it('LoadBalancer IP from the external client, announced by exactly one node', async () => {
    const holders: string[] = [];
    for (const n of topo.nodes) {
      const out = await run(['ip', '-n', n.ns, '-4', '-o', 'addr', 'show']);
      if (out.includes(` ${LB_IP}/32 `)) holders.push(n.name);
    }
    expect(holders).toHaveLength(1);
    const got = names(await client(topo.client, 'tcp', LB_IP, 80, 4));
    expect(got.every((x) => ['p1', 'p2', 'p3'].includes(x))).toBe(true);
  });

  it('hairpin: a pod reaches itself through its own service', async () => {
    expect(names(await client(pod('p1').ns, 'tcp', '10.96.0.30', 80, 3))).toEqual(['p1', 'p1', 'p1']);
  });

  it('UDP through a ClusterIP', async () => {
    const got = names(await client(pod('p3').ns, 'udp', '10.96.0.53', 53, 4));
    expect(got.every((x) => ['p1', 'p2'].includes(x))).toBe(true);
  });

  // userspace mode: the node's own datagrams are redirected to loopback, and the reply must leave from there
  it('UDP through a ClusterIP from the node itself', async () => {
    const got = names(await client(topo.nodes[1]!.ns, 'udp', '10.96.0.53', 53, 4));
    expect(got.every((x) => ['p1', 'p2'].includes(x))).toBe(true);
  });

  it('ClientIP affinity sticks to one endpoint', async () => {
    const got = names(await client(pod('p2').ns, 'tcp', '10.96.0.20', 80, 12));
    expect(got[0]).toMatch(/^p[123]$/);
    expect(new Set(got).size).toBe(1);
  });

  it('Local policy: source preserved where the endpoint is; dropped on a node without one', async () => {
    const [on, off] = [topo.nodes[1]!, topo.nodes[0]!]; // p3 lives on n2
    const r = await client(topo.client, 'tcp', on.ip, 30090, 2);
    expect(names(r)).toEqual(['p3', 'p3']);
    const source = r[0]!.text!.split(' ')[1];
    // nftables DNATs without SNAT; the userspace proxy opens its own connection from the node.
    if (mode === 'nftables') expect(source).toBe(topo.clientIP);
    else expect(source).not.toBe(topo.clientIP);
    const dropped = await client(topo.client, 'tcp', off.ip, 30090, 1, 1500);
    expect(dropped[0]!.ok).toBe(false);
  });

  it('healthCheckNodePort reports local endpoints (200 on the node with one, 503 elsewhere)', async () => {
    const code = async (ip: string) =>
      (
        await run([
          'ip',
          'netns',
          'exec',
          topo.client,
          'curl',
          '-s',
          '-m',
          '3',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code}',
          `http://${ip}:32100/healthz`,
        ])
      ).trim();
    expect(await code(topo.nodes[1]!.ip)).toBe('200');
    expect(await code(topo.nodes[0]!.ip)).toBe('503');
  });

  it('loadBalancerSourceRanges admit listed sources and drop others', async () => {
    expect(names(await client(topo.client, 'tcp', '198.18.0.201', 80, 2))).toEqual(['p1', 'p1']);
    // the blocked IP is announced (so the drop is the firewall's doing, not a missing ARP answer)
    let holders = 0;
    for (const n of topo.nodes)
      if ((await run(['ip', '-n', n.ns, '-4', '-o', 'addr', 'show'])).includes(' 198.18.0.202/32 ')) holders++;
    expect(holders).toBe(1);
    const [blocked] = await client(topo.client, 'tcp', '198.18.0.202', 80, 1, 1500);
    expect(blocked!.ok).toBe(false);
  });

  it('no endpoints: rejected at once (TCP reset / refused), on the VIP and the NodePort', async () => {
    const [viaVip] = await client(pod('p1').ns, 'tcp', '10.96.0.50', 80, 1, 5000);
    expect(viaVip!.err).toBe('ECONNREFUSED');
    const [viaNodePort] = await client(topo.client, 'tcp', topo.nodes[0]!.ip, 30099, 1, 5000);
    expect(viaNodePort!.err).toBe('ECONNREFUSED');
  });

  it('a removed endpoint gets no new connections', async () => {
    const before = new Set(names(await client(pod('p3').ns, 'tcp', '10.96.0.60', 80, 16)));
    expect([...before].every((n) => n === 'p1' || n === 'p2')).toBe(true);
    await apply([slice('rm', [ep('p1')], http)]);
    expect(new Set(names(await client(pod('p3').ns, 'tcp', '10.96.0.60', 80, 16)))).toEqual(new Set(['p1']));
  });

  it('a deleted service leaves no rule behind', async () => {
    all({ op: 'delsvc', obj: svc('web') });
    all({ op: 'delslice', obj: slice('web', []) });
    await syncAll();
    const table = mode === 'nftables' ? 'skiff' : 'skiff-userspace';
    for (const n of topo.nodes) {
      const text = await run(['ip', 'netns', 'exec', n.ns, 'nft', 'list', 'table', 'ip', table]);
      expect(text).not.toContain('10.96.0.10 ');
      expect(text).not.toContain(LB_IP);
      expect(text).not.toContain('30080');
      const addrs = await run(['ip', '-n', n.ns, '-4', '-o', 'addr', 'show']);
      expect(addrs).not.toContain(LB_IP);
    }
    const [r] = await client(pod('p1').ns, 'tcp', '10.96.0.10', 80, 1, 1500);
    expect(r!.ok).toBe(false);
  });
});
