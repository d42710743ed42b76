import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, runRaw } from '../../../src/os/exec.js';
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

/** nftables-only behaviour: drift repair by the periodic full sync, restart adoption, UDP conntrack cleanup. */
describe('nftables proxy: resync, restart and conntrack', () => {
  const lab = new Lab('pxs');
  let topo: Topology;
  let driverPath: string;
  let drv: Driver;
  const nodeNs = () => topo.nodes[0]!.ns;
  const pod = (n: string) => topo.pods.find((p) => p.name === n)!;
  const nft = (...args: string[]) => run(['ip', 'netns', 'exec', nodeNs(), 'nft', ...args]);
  const start = (fullSyncMs: number) => {
    drv = new Driver(driverPath, nodeNs(), [
      '--mode',
      'nftables',
      '--node-name',
      'n1',
      '--full-sync-ms',
      String(fullSyncMs),
    ]);
    const d = drv;
    lab.onCleanup(() => d.kill());
  };
  const feed = async () => {
    drv.send({ op: 'svc', obj: svc('web', { clusterIP: '10.96.0.10' }) });
    drv.send({
      op: 'slice',
      obj: slice('web', [
        { ip: pod('p1').ip, node: 'n1' },
        { ip: pod('p2').ip, node: 'n1' },
      ]),
    });
    drv.send({
      op: 'svc',
      obj: svc('dns', { clusterIP: '10.96.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }),
    });
    drv.send({
      op: 'slice',
      obj: slice('dns', [{ ip: pod('p1').ip }, { ip: pod('p2').ip }], [{ name: 'dns', port: 5353, protocol: 'UDP' }]),
    });
    return drv.sync();
  };
  const works = async () =>
    names(await client(pod('p3').ns, 'tcp', '10.96.0.10', 80, 4, 1500)).every((n) => n === 'p1' || n === 'p2');
  const tableHandle = async () => {
    const doc = JSON.parse(await nft('-j', '-t', 'list', 'table', 'ip', 'skiff')) as {
      nftables: { table?: { handle: number } }[];
    };
    return doc.nftables.find((x) => x.table)?.table?.handle;
  };

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nft', 'conntrack']);
    topo = await buildTopology(lab, { n1: ['p1', 'p2', 'p3'] });
    await startServers(lab, topo);
    driverPath = await buildDriver(lab);
    start(3_600_000);
    await feed();
  });

  afterAll(async () => {
    await drv?.stop(false);
    await lab.cleanup();
  });

  // The timer that requests it is unit-tested (test/unit/proxy/runner.test.ts); here the repair itself.
  it('a full sync repairs a flushed chain and a deleted element', async () => {
    expect(await works()).toBe(true);
    await nft('flush', 'chain', 'ip', 'skiff', 'services');
    await nft('delete', 'element', 'ip', 'skiff', 'eps_ip_0', '{ 10.96.0.10 . tcp . 80 }');
    const [broken] = await client(pod('p3').ns, 'tcp', '10.96.0.10', 80, 1, 1000);
    expect(broken!.ok).toBe(false);
    drv.send({ op: 'full' });
    await drv.sync();
    expect(await works()).toBe(true);
    expect(await nft('list', 'map', 'ip', 'skiff', 'eps_ip_0')).toContain('10.96.0.10 . tcp . 80 : ');
  });

  it('a restarted proxy adopts its table in place: the VIP answers throughout, stale objects go', async () => {
    const before = await tableHandle();
    drv.kill();
    // no proxy running: the datapath stays as it was
    expect(await works()).toBe(true);
    await nft('add', 'chain', 'ip', 'skiff', 'ip-n99-o'); // a leftover of some older run
    start(3_600_000);
    // Running but not yet given its initial lists (informers still listing): it must not touch the
    // datapath — an early sync would empty the table and the VIP would stop answering.
    expect(await drv.request({ op: 'ping' })).toMatchObject({ syncs: 0 }); // it is up and reading
    expect(await works()).toBe(true);
    const probing = client(pod('p3').ns, 'tcp', '10.96.0.10', 80, 30, 1500); // runs across the first sync
    const first = await feed();
    const rs = await probing;
    expect(rs.filter((r) => !r.ok)).toEqual([]);
    expect(first.syncs).toBe(1); // the first sync already had every service and endpoint
    expect(await tableHandle()).toBe(before); // flushed and refilled, never deleted and recreated
    expect(await nft('list', 'table', 'ip', 'skiff')).not.toContain('ip-n99-o');
    expect(await works()).toBe(true);
  });

  it('removing a UDP endpoint clears its conntrack entries', async () => {
    const p2 = pod('p2').ip;
    const count = async () => {
      const r = await runRaw(['ip', 'netns', 'exec', nodeNs(), 'conntrack', '-L', '-p', 'udp', '--dst-nat', p2]);
      return r.stdout.split('\n').filter((l) => l.includes('udp')).length;
    };
    const got = names(await client(pod('p3').ns, 'udp', '10.96.0.53', 53, 20, 1500));
    expect(got.every((n) => n === 'p1' || n === 'p2')).toBe(true);
    expect(await count()).toBeGreaterThan(0);
    drv.send({
      op: 'slice',
      obj: slice('dns', [{ ip: pod('p1').ip }], [{ name: 'dns', port: 5353, protocol: 'UDP' }]),
    });
    await drv.sync();
    expect(await count()).toBe(0);
  });
});
