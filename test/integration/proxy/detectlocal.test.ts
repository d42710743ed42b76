import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { slice, svc } from '../../helpers/proxy/objects.js';
import { buildDriver, buildTopology, client, Driver, startServers, type Topology } from '../../helpers/proxy/netlab.js';

/**
 * kube-proxy's --detect-local-mode on a real kernel, both modes: pod p1 (node n1) reaches a NodePort of n1
 * whose Service is externalTrafficPolicy: Local with its only endpoint p3 on n2. Traffic detected as coming
 * from this node's pods is short-circuited to the cluster-wide endpoints (answered by p3); traffic not
 * detected as local is external, and n1 has no local endpoint, so it is dropped. In nftables mode the
 * detector also decides masquerading of ClusterIP traffic (p3 sees p1's address only when p1 is local).
 */
const http = [{ name: 'http', port: 8080 }];
const cases: [string, string[], boolean][] = [
  ['ClusterCIDR', ['--cluster-cidr', '10.244.0.0/16'], true],
  ['ClusterCIDR (elsewhere)', ['--cluster-cidr', '10.99.0.0/16'], false],
  ['NodeCIDR', ['--detect-local-mode', 'NodeCIDR', '--node-pod-cidr', '10.244.1.0/24'], true],
  ['NodeCIDR (another node’s)', ['--detect-local-mode', 'NodeCIDR', '--node-pod-cidr', '10.244.2.0/24'], false],
  ['BridgeInterface', ['--detect-local-mode', 'BridgeInterface', '--pod-bridge-interface', 'cni0'], true],
  ['BridgeInterface (other)', ['--detect-local-mode', 'BridgeInterface', '--pod-bridge-interface', 'nope0'], false],
  // The input interface of a pod's packet is the bridge (cni0) here, not its veth port: routed-veth CNIs
  // (Calico's cali*) are what this mode is for.
  ['InterfacePrefix', ['--detect-local-mode', 'InterfacePrefix', '--pod-interface-name-prefix', 'cni'], true],
  ['InterfacePrefix (other)', ['--detect-local-mode', 'InterfacePrefix', '--pod-interface-name-prefix', 'veth'], false],
];

describe.each(['nftables', 'userspace'])('--detect-local-mode (%s mode)', (mode) => {
  const lab = new Lab(mode === 'nftables' ? 'pdln' : 'pdlu');
  let topo: Topology;
  let driverPath: string;
  const pod = (name: string) => topo.pods.find((p) => p.name === name)!;

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nft', 'conntrack']);
    topo = await buildTopology(lab);
    await startServers(lab, topo);
    driverPath = await buildDriver(lab);
  }, 60_000);
  afterAll(async () => {
    await lab.cleanup();
  });

  it.each(cases)('%s', async (_name, flags, local) => {
    const n1 = topo.nodes[0]!;
    const d = new Driver(driverPath, n1.ns, ['--mode', mode, '--node-name', 'n1', '--node-ip', n1.ip, ...flags]);
    lab.onCleanup(() => d.kill());
    try {
      d.send({ op: 'nodes', ready: ['n1', 'n2'] });
      const p3 = { ip: pod('p3').ip, node: 'n2' };
      for (const obj of [
        svc('loc', {
          type: 'NodePort',
          clusterIP: '10.96.0.40',
          externalTrafficPolicy: 'Local',
          ports: [{ name: 'http', port: 80, nodePort: 30090, protocol: 'TCP' }],
        }),
        slice('loc', [p3], http),
        svc('web', { clusterIP: '10.96.0.41' }),
        slice('web', [p3], http),
      ])
        d.send({ op: obj.kind === 'Service' ? 'svc' : 'slice', obj });
      await d.sync();
      const [np] = await client(pod('p1').ns, 'tcp', n1.ip, 30090, 1, 1500);
      if (local) expect(np!.text?.split(' ')[0]).toBe('p3');
      else expect(np!.err).toBe('ETIMEDOUT');
      if (mode === 'nftables') {
        const [vip] = await client(pod('p1').ns, 'tcp', '10.96.0.41', 80, 1, 3000);
        const source = vip!.text!.split(' ')[1];
        if (local) expect(source).toBe(pod('p1').ip);
        else expect(source).not.toBe(pod('p1').ip); // masqueraded: not traffic from this node's pods
      }
    } finally {
      await d.stop(true);
    }
  });
});
