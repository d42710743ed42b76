import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConntrackUdp } from '../../../src/os/conntrack.js';
import { runRaw } from '../../../src/os/exec.js';
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

const VIP = '10.96.0.53';

/**
 * UDP conntrack is reconciled against the kernel's entries after every sync, the first one after a restart
 * included (kube-proxy's CleanStaleEntries): what changed while no proxy was running is cleaned up too.
 */
describe('proxy: UDP conntrack reconciliation across a restart', () => {
  const lab = new Lab('pxct');
  let topo: Topology;
  let driverPath: string;
  let drv: Driver | undefined;
  const nodeNs = () => topo.nodes[0]!.ns;
  const pod = (n: string) => topo.pods.find((p) => p.name === n)!;
  const start = (mode: string) => {
    drv = new Driver(driverPath, nodeNs(), ['--mode', mode, '--node-name', 'n1']);
    const d = drv;
    lab.onCleanup(() => d.kill());
    return d;
  };
  const feed = (d: Driver, eps: string[]) => {
    d.send({ op: 'svc', obj: svc('dns', { clusterIP: VIP, ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }) });
    const ports = [{ name: 'dns', port: 5353, protocol: 'UDP' }];
    d.send({
      op: 'slice',
      obj: slice(
        'dns',
        eps.map((p) => ({ ip: pod(p).ip, node: 'n1' })),
        ports,
      ),
    });
    return d.sync();
  };
  /** The node's UDP entries whose original destination is the VIP. */
  const flowsToVip = async () => {
    const r = await runRaw(['ip', 'netns', 'exec', nodeNs(), 'conntrack', '-L', '-p', 'udp', '--orig-dst', VIP]);
    return parseConntrackUdp(r.stdout);
  };
  const flush = () => runRaw(['ip', 'netns', 'exec', nodeNs(), 'conntrack', '-F']);

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nft', 'conntrack']);
    topo = await buildTopology(lab, { n1: ['p1', 'p2', 'p3'] });
    await startServers(lab, topo);
    driverPath = await buildDriver(lab);
  });

  afterAll(async () => {
    await drv?.stop(true);
    await lab.cleanup();
  });

  it('nftables: flows to an endpoint removed while the proxy was down go at its first sync', async () => {
    await flush();
    let d = start('nftables');
    await feed(d, ['p1', 'p2']);
    const got = names(await client(pod('p3').ns, 'udp', VIP, 53, 20, 1500));
    expect(got.filter((n) => n !== 'p1' && n !== 'p2')).toEqual([]);
    const before = await flowsToVip();
    expect(before.filter((f) => f.replySrc === pod('p2').ip).length).toBeGreaterThan(0);
    expect(before.filter((f) => f.replySrc === pod('p1').ip).length).toBeGreaterThan(0);

    d.kill(); // p2 leaves the Service while no proxy runs: no diff would ever see it go
    d = start('nftables');
    const first = await feed(d, ['p1']);
    expect(first.syncs).toBe(1);
    const after = await flowsToVip();
    expect(after.filter((f) => f.replySrc === pod('p2').ip)).toEqual([]);
    // Flows to the endpoint that still serves are left alone.
    expect(after.filter((f) => f.replySrc === pod('p1').ip).length).toBeGreaterThan(0);
    await d.stop(true);
  });

  it('userspace: flows redirected to a listener of the previous run go at the first sync', async () => {
    await flush();
    let d = start('userspace');
    await feed(d, ['p1', 'p2']);
    const got = names(await client(pod('p3').ns, 'udp', VIP, 53, 10, 1500));
    expect(got.filter((n) => n !== 'p1' && n !== 'p2')).toEqual([]);
    const oldPorts = new Set((await flowsToVip()).map((f) => f.replySport));
    expect(oldPorts.size).toBe(1); // all redirected to the one cluster-IP listener

    d.kill(); // its listener dies with it; the next run listens on another port
    d = start('userspace');
    expect((await feed(d, ['p1', 'p2'])).syncs).toBe(1);
    const stale = (await flowsToVip()).filter((f) => oldPorts.has(f.replySport));
    expect(stale).toEqual([]);
    const again = names(await client(pod('p3').ns, 'udp', VIP, 53, 4, 1500));
    expect(again.filter((n) => n !== 'p1' && n !== 'p2')).toEqual([]);
    const now = new Set((await flowsToVip()).map((f) => f.replySport));
    expect([...now].filter((p) => oldPorts.has(p))).toEqual([]);
    await d.stop(true);
  });
});
