import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../../src/os/exec.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { slice, svc } from '../../helpers/proxy/objects.js';
import { until } from '../../helpers/until.js';
import { SKIFF } from '../apiserver/server.js';
import { buildDriver, buildTopology, client, Driver, startServers, type Topology } from '../../helpers/proxy/netlab.js';

const LB = '198.18.0.200';
const LB_NOEP = '198.18.0.201';
const LB_LOCAL = '198.18.0.202';
const CP_IP = '198.18.0.2';

/**
 * L2 announcement failover: each node's proxy keeps a short announcer Lease on a real API server; when the
 * announcing node dies, another live member takes the LoadBalancer IP over and sends a gratuitous ARP, so
 * the external client is answered again within seconds (measured and printed, bounded, not asserted).
 */
describe('proxy: LoadBalancer L2 failover through announcer leases', () => {
  const lab = new Lab('pxl2');
  let topo: Topology;
  let driverPath: string;
  let api: ChildProcess | undefined;
  let apiLog = '';
  let kubeconfig: string;
  const drivers = new Map<string, Driver>();
  const node = (n: string) => topo.nodes.find((x) => x.name === n)!;
  const pod = (n: string) => topo.pods.find((p) => p.name === n)!;
  const hasAddr = async (n: string, ip: string) =>
    (await run(['ip', '-n', node(n).ns, '-4', '-o', 'addr', 'show', 'dev', 'eth0'])).includes(` ${ip}/32 `);
  const holders = async (ip: string) => {
    const out: string[] = [];
    for (const n of topo.nodes) if (await hasAddr(n.name, ip)) out.push(n.name);
    return out;
  };
  const mac = async (n: string) =>
    /link\/ether (\S+)/.exec(await run(['ip', '-n', node(n).ns, 'link', 'show', 'eth0']))![1]!;

  const startProxy = (name: string) => {
    const d = new Driver(driverPath, node(name).ns, [
      ...['--mode', 'nftables', '--node-name', name, '--node-ip', node(name).ip, '--kubeconfig', kubeconfig],
    ]);
    lab.onCleanup(() => d.kill());
    drivers.set(name, d);
    d.send({ op: 'nodes', ready: topo.nodes.map((x) => x.name) });
    const port = { name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30080 };
    d.send({ op: 'svc', obj: svc('lb', { type: 'LoadBalancer', clusterIP: '10.96.0.20', ports: [port] }, [LB]) });
    d.send({
      op: 'slice',
      obj: slice('lb', [
        { ip: pod('p1').ip, node: 'n1' },
        { ip: pod('p2').ip, node: 'n2' },
      ]),
    });
    // No ready endpoint: announced by nobody (MetalLB).
    const noepPorts = [{ ...port, nodePort: 30081 }];
    d.send({
      op: 'svc',
      obj: svc('noep', { type: 'LoadBalancer', clusterIP: '10.96.0.21', ports: noepPorts }, [LB_NOEP]),
    });
    d.send({ op: 'slice', obj: slice('noep', [{ ip: pod('p1').ip, node: 'n1', ready: false, serving: false }]) });
    // externalTrafficPolicy Local: only a node with a ready endpoint (n2) may announce.
    const local = svc(
      'local',
      {
        type: 'LoadBalancer',
        clusterIP: '10.96.0.22',
        externalTrafficPolicy: 'Local',
        ports: [{ ...port, nodePort: 30082 }],
      },
      [LB_LOCAL],
    );
    d.send({ op: 'svc', obj: local });
    d.send({ op: 'slice', obj: slice('local', [{ ip: pod('p2').ip, node: 'n2' }]) });
    return d.sync();
  };

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nft', 'arping']);
    if (!existsSync(SKIFF)) throw new Error(`${SKIFF} is missing: run \`node scripts/build.mjs\` first`);
    topo = await buildTopology(lab, { n1: ['p1'], n2: ['p2'], n3: [] });
    await startServers(lab, topo);
    driverPath = await buildDriver(lab);
    // The API server on the underlay, in a namespace of its own, so the node namespaces can reach it.
    const cp = await lab.netns('cp');
    await lab.veth(cp, 'eth0', topo.ul, 'u-cp');
    await run(['ip', '-n', topo.ul, 'link', 'set', 'u-cp', 'master', 'br0']);
    await run(['ip', '-n', cp, 'addr', 'add', `${CP_IP}/24`, 'dev', 'eth0']);
    const dir = lab.tmpdir();
    kubeconfig = join(dir, 'proxy.kubeconfig');
    const argv = [process.execPath, SKIFF, 'apiserver', '--state-dir', dir, '--port', '6443'];
    api = spawn('ip', ['netns', 'exec', cp, ...argv, '--bind-address', CP_IP, '--store', 'memory'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SKIFF_LOG_FORMAT: 'json' },
    });
    const proc = api;
    lab.onCleanup(() => void (proc.exitCode === null && proc.kill('SIGKILL')));
    const collect = (b: Buffer) => void (apiLog = (apiLog + b.toString()).slice(-4000));
    api.stdout!.on('data', collect);
    api.stderr!.on('data', collect);
    await until('the API server to listen', 60_000, () => {
      if (proc.exitCode !== null) throw new Error(`apiserver exited: ${apiLog}`);
      return /listening on/.test(apiLog) && existsSync(kubeconfig) ? true : undefined;
    });
    expect(readFileSync(kubeconfig, 'utf8')).toContain(CP_IP);
    await Promise.all(['n1', 'n2', 'n3'].map(startProxy));
  });

  afterAll(async () => {
    await Promise.all([...drivers.values()].map((d) => d.stop(true)));
    api?.kill('SIGTERM');
    await lab.cleanup();
  });

  it('one live member announces; not a Service without ready endpoints; Local only where an endpoint is', async () => {
    // Each proxy announces once it has seen the others' leases: wait for the views to agree (bounded).
    const want = async () => {
      const [lb, local, noep] = [await holders(LB), await holders(LB_LOCAL), await holders(LB_NOEP)];
      return lb.length === 1 && local.join() === 'n2' && noep.length === 0 ? lb : undefined;
    };
    const owners = await until(
      'one announcer per LoadBalancer IP, n2 for Local, nobody without endpoints',
      15_000,
      want,
    );
    expect(owners).toHaveLength(1);
    const rs = await client(topo.client, 'tcp', LB, 80, 3, 2000);
    expect(
      rs.some((r) => r.ok),
      JSON.stringify(rs),
    ).toBe(true);
    // A Service with no ready endpoint stays unannounced (not merely late).
    await new Promise((r) => setTimeout(r, 1000));
    expect(await holders(LB_NOEP)).toEqual([]);
  });

  it('the announcing node dies: another takes over with a gratuitous ARP; the client is answered again', async () => {
    const [owner] = await holders(LB);
    expect(owner).toBeDefined();
    // Prime the client's neighbour cache with the owner's MAC (what a gratuitous ARP must correct).
    await client(topo.client, 'tcp', LB, 80, 1, 2000);
    const neigh = async () => (await run(['ip', '-n', topo.client, 'neigh', 'show', LB])).trim();
    expect(await neigh()).toContain(await mac(owner!));

    // The node dies: its proxy stops renewing (killed, no chance to hand over) and it leaves the network.
    const t0 = Date.now();
    drivers.get(owner!)!.kill();
    await run(['ip', '-n', node(owner!).ns, 'link', 'set', 'eth0', 'down']);
    let answeredAfterMs: number | undefined;
    for (let i = 0; i < 80 && Date.now() - t0 < 20_000; i++) {
      const [r] = await client(topo.client, 'tcp', LB, 80, 1, 500);
      if (r!.ok) {
        answeredAfterMs = Date.now() - t0;
        break;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    const now = (await holders(LB)).filter((n) => n !== owner);
    console.log(
      `L2 failover: the client was answered again ${answeredAfterMs ?? 'never'} ms after the owner ` +
        `${owner} died (new owner ${now.join(',')}; announcer lease 2 s)`,
    );
    expect(answeredAfterMs, 'answered again within 20 s').toBeDefined();
    expect(now).toHaveLength(1);
    // The client learnt the new owner's MAC from the gratuitous ARP, not by its entry going stale.
    expect(await neigh()).toContain(await mac(now[0]!));
  });
});
