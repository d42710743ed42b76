import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { podNetnsName } from '../../src/kubelet/pod.js';
import { httpGetIn } from '../../src/lab/http.js';
import { ipFamilyOf } from '../../src/net/ip.js';
import { clusterDnsIP } from '../../src/lab/dns.js';
import { nodeIP, SERVICE_CIDR, underlayIPv6 } from '../../src/lab/addressing.js';
import { runRaw } from '../../src/os/exec.js';
import { namedNs } from '../../src/os/ns.js';
import { Lab, requireRootAndTools } from '../helpers/lab.js';
import { type Cluster, type PodJson, listPods, runServicesConformance, until, upCluster } from './helpers.js';

/**
 * `skiff up --ip-family dual` on the bridge CNI: nodes get a pod CIDR per family and both InternalIPs, pods get
 * an IPv4 and an IPv6 address, pods on different nodes talk over IPv6 with their real addresses (routes via
 * the peers' IPv6 InternalIPs), and a RequireDualStack Service gets a ClusterIP and an EndpointSlice per family.
 */
describe('skiff up --ip-family dual: bridge CNI', () => {
  const lab = new Lab('edual');
  let c: Cluster;

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nsenter', 'unshare', 'socat', 'nft', 'dig', 'na6']);
    c = await upCluster(lab, { cni: 'bridge', proxyMode: 'nftables', ipFamily: 'dual', nodes: 2 });
  }, 180_000);
  afterAll(async () => {
    await lab.cleanup();
  }, 60_000);

  it('gives every node a pod CIDR and an InternalIP per family (ULA for IPv6)', async () => {
    const nodes = await c.api.request<{
      items: { spec: { podCIDRs?: string[] }; status: { addresses: { type: string; address: string }[] } }[];
    }>('GET', '/api/v1/nodes');
    for (const n of nodes.items) {
      expect(n.spec.podCIDRs?.map((x) => ipFamilyOf(x.split('/')[0]))).toEqual([4, 6]);
      expect(n.spec.podCIDRs?.[1]).toMatch(/^fd00:10:244:/);
      const internal = n.status.addresses.filter((a) => a.type === 'InternalIP').map((a) => a.address);
      expect(internal.map((a) => ipFamilyOf(a))).toEqual([4, 6]);
      expect(internal[1]).toMatch(/^fd00:198:18::/);
    }
  });

  it('pods on different nodes reach each other over IPv6 with their own addresses', async () => {
    for (let i = 1; i <= 2; i++) {
      await c.api.request('POST', '/api/v1/namespaces/default/pods', {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: `web-${i}`, labels: { app: 'web6' } },
        spec: {
          nodeName: `node${i}`,
          containers: [{ name: 'web', image: 'skiff/netexec', ports: [{ containerPort: 8080 }] }],
        },
      });
    }
    const pods: PodJson[] = await until('2 dual-stack pods Running', 90_000, async () => {
      const ps = await listPods(c.api, 'app=web6');
      return ps.length === 2 && ps.every((p) => p.status?.phase === 'Running' && (p.status.podIPs?.length ?? 0) === 2)
        ? ps.sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))
        : undefined;
    });
    const v6 = (p: PodJson) => p.status!.podIPs!.map((x) => x.ip).find((ip) => ipFamilyOf(ip) === 6)!;
    expect(pods.map((p) => ipFamilyOf(p.status!.podIPs![0]!.ip))).toEqual([4, 4]);
    const [a, b] = pods as [PodJson, PodJson];
    const pairs: [PodJson, PodJson][] = [
      [a, b],
      [b, a],
    ];
    for (const [from, to] of pairs) {
      const fromNs = podNetnsName(c.ns(from.spec.nodeName as string), from.metadata.uid);
      const body = await until(`${from.metadata.name} → [${v6(to)}]`, 20_000, () =>
        httpGetIn(fromNs, `[${v6(to)}]`, 8080, '/hostname'),
      );
      expect(body).toBe(to.metadata.name);
      const seen = await httpGetIn(fromNs, `[${v6(to)}]`, 8080, '/clientip');
      expect(seen).toMatch(new RegExp(`^\\[${v6(from)}\\]:\\d+$`)); // routed, not NATed (agnhost's [ip6]:port)
      // IPv4 keeps working next to it, and is still reported as IPv4.
      const seen4 = await httpGetIn(fromNs, to.status!.podIP!, 8080, '/clientip');
      expect(seen4?.split(':')[0]).toBe(from.status!.podIP);
    }
  });

  it('a RequireDualStack Service gets a ClusterIP and an EndpointSlice per family', async () => {
    const svc = await c.api.request<{ spec: { clusterIPs: string[]; ipFamilies: string[] } }>(
      'POST',
      '/api/v1/namespaces/default/services',
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web6' },
        spec: {
          selector: { app: 'web6' },
          ports: [{ port: 80, targetPort: 8080 }],
          ipFamilyPolicy: 'RequireDualStack',
        },
      },
    );
    expect(svc.spec.ipFamilies).toEqual(['IPv4', 'IPv6']);
    expect(svc.spec.clusterIPs[1]).toMatch(/^fd00:10:96::/);
    const slices = await until('one slice per family with both endpoints', 30_000, async () => {
      const l = await c.api.request<{ items: { addressType: string; endpoints?: { addresses: string[] }[] }[] }>(
        'GET',
        '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dweb6',
      );
      return l.items.length === 2 && l.items.every((s) => (s.endpoints ?? []).length === 2) ? l.items : undefined;
    });
    for (const s of slices) {
      const want = s.addressType === 'IPv6' ? 6 : 4;
      expect(s.endpoints!.every((e) => ipFamilyOf(e.addresses[0]) === want)).toBe(true);
    }
    expect(slices.map((s) => s.addressType).sort()).toEqual(['IPv4', 'IPv6']);
  });

  it('the proxy serves the IPv6 ClusterIP from pods and nodes, and a dual-stack NodePort over IPv6 to the client', async () => {
    const svc = await c.api.request<{ spec: { clusterIPs: string[] } }>(
      'GET',
      '/api/v1/namespaces/default/services/web6',
    );
    const [vip4, vip6] = svc.spec.clusterIPs as [string, string];
    const pods = await listPods(c.api, 'app=web6');
    const names = pods.map((p) => p.metadata.name).sort();
    const from = podNetnsName(c.ns(pods[0]!.spec.nodeName as string), pods[0]!.metadata.uid);
    const seen = new Set<string>();
    for (let i = 0; i < 12; i++) {
      const body = await until(`[${vip6}]:80 from a pod`, 20_000, () => httpGetIn(from, `[${vip6}]`, 80, '/hostname'));
      seen.add(body);
    }
    expect([...seen].every((n) => names.includes(n))).toBe(true);
    expect(seen.size).toBe(2); // both endpoints, one on each node
    for (const node of ['node1', 'node2']) {
      const body = await until(`[${vip6}]:80 from ${node}`, 20_000, () =>
        httpGetIn(c.ns(node), `[${vip6}]`, 80, '/hostname'),
      );
      expect(names).toContain(body);
    }
    expect(names).toContain(await httpGetIn(from, vip4, 80, '/hostname'));

    const np = await c.api.request<{ spec: { ports: { nodePort: number }[] } }>(
      'POST',
      '/api/v1/namespaces/default/services',
      {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: 'web6-np' },
        spec: {
          type: 'NodePort',
          selector: { app: 'web6' },
          ports: [{ port: 80, targetPort: 8080 }],
          ipFamilyPolicy: 'RequireDualStack',
        },
      },
    );
    const nodePort = np.spec.ports[0]!.nodePort;
    const node1v6 = underlayIPv6(nodeIP(1));
    const body = await until(`[${node1v6}]:${nodePort} from the client`, 30_000, () =>
      httpGetIn(c.ns('client'), `[${node1v6}]`, nodePort, '/hostname'),
    );
    expect(names).toContain(body);
    expect(names).toContain(await httpGetIn(c.ns('client'), nodeIP(1), nodePort, '/hostname'));
  });

  it('cluster DNS answers AAAA with the IPv6 ClusterIP', async () => {
    const svc = await c.api.request<{ spec: { clusterIPs: string[] } }>(
      'GET',
      '/api/v1/namespaces/default/services/web6',
    );
    const pod = (await listPods(c.api, 'app=web6'))[0]!;
    const ns = podNetnsName(c.ns(pod.spec.nodeName as string), pod.metadata.uid);
    const dns = clusterDnsIP(SERVICE_CIDR);
    const aaaa = await until('AAAA web6.default.svc.cluster.local', 30_000, async () => {
      const r = await runRaw(
        ['dig', '+short', '+time=2', '+tries=1', `@${dns}`, 'AAAA', 'web6.default.svc.cluster.local'],
        {
          ns: namedNs(ns),
          timeoutMs: 10_000,
        },
      );
      return r.stdout.trim() || undefined;
    });
    expect(aaaa).toBe(svc.spec.clusterIPs[1]);
  });

  it('skiff conformance services passes every cell in both families, LoadBalancer over IPv6 included', async () => {
    const { report, code, failures } = await runServicesConformance(c);
    expect(failures).toEqual([]);
    expect(code).toBe(0);
    expect(report.families).toEqual([4, 6]);
    // the dual-stack pool gives the LoadBalancer Services an IPv6 address too
    const v6 = report.results.filter((x) => x.cell.family === 6);
    expect(v6.some((x) => x.cell.service.type === 'LoadBalancer')).toBe(true);
    expect(v6.length).toBe(report.results.length / 2);
  }, 300_000);
});
