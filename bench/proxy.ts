/**
 * bench/proxy: one run, prints ratios against the targets.
 *  - nftables full-sync and one-service partial-sync time at 1k, 5k and 10k services (2 endpoints each),
 *    measured by the real proxy (tracker + model + backend) running inside a lab node namespace;
 *  - connection latency through a ClusterIP at 10 and 10k services vs direct pod IP (p50/p99);
 *  - userspace-mode throughput vs nftables mode vs direct (a bounded 64 MiB transfer each).
 * Everything happens inside namespaces this run creates (lab rule); all loops are bounded.
 * Run: node scripts/build.mjs && node dist/bench/proxy.mjs   (root)
 */
import { cpus, loadavg } from 'node:os';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { Lab, requireRootAndTools } from '../test/helpers/lab.js';
import { buildDriver, buildTopology, client, Driver, startServers, type Topology } from '../test/integration/proxy/netlab.js';
import { slice, svc } from '../test/unit/proxy/fixtures.js';

const CONNECTS = Number(process.env.BENCH_CONNECTS ?? 300);
const MIB = Number(process.env.BENCH_MIB ?? 64);
const SCALES = [1000, 5000, 10000];
const PARTIAL_RUNS = 5;

function vip(i: number): string {
  // 10.96.0.0/12: services i=0.. map into 10.97.x.y, clear of the few fixed test VIPs in 10.96.0.x
  return `10.97.${Math.floor(i / 250)}.${(i % 250) + 1}`;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

function median(xs: number[]): number {
  return pct(xs, 50);
}

async function latency(topo: Topology, host: string, port: number): Promise<{ p50: number; p99: number }> {
  const src = topo.pods.find((p) => p.name === 'p2')!;
  const rs = await client(src.ns, 'tcp', host, port, CONNECTS, 2000);
  const bad = rs.filter((r) => !r.ok);
  if (bad.length) throw new Error(`${bad.length}/${rs.length} connects to ${host}:${port} failed (${bad[0]!.err})`);
  const ms = rs.slice(10).map((r) => r.ms); // drop warm-up
  return { p50: pct(ms, 50), p99: pct(ms, 99) };
}

/** Best of 3 bounded transfers (MiB/s): the best run is the least disturbed by other load on the machine. */
async function throughput(topo: Topology, host: string, port: number): Promise<number> {
  const src = topo.pods.find((p) => p.name === 'p2')!;
  let best = 0;
  for (let i = 0; i < 3; i++) {
    const [r] = await client(src.ns, 'sink', host, port, MIB, 60_000);
    if (!r?.ok || Number(r.text) < MIB * 1024 * 1024) throw new Error(`transfer to ${host}:${port} failed: ${JSON.stringify(r)}`);
    best = Math.max(best, MIB / (r.ms / 1000));
  }
  return best;
}

/** Direct and ClusterIP latency measured in alternating rounds, so load drift hits both alike. */
async function pairedLatency(topo: Topology, podIP: string): Promise<{ direct: { p50: number; p99: number }; vip: { p50: number; p99: number } }> {
  const src = topo.pods.find((p) => p.name === 'p2')!;
  const d: number[] = [];
  const v: number[] = [];
  const per = Math.max(10, Math.floor(CONNECTS / 3));
  for (let round = 0; round < 3; round++) {
    for (const [host, port, into] of [[podIP, 8080, d], ['10.96.0.10', 80, v]] as const) {
      const rs = await client(src.ns, 'tcp', host, port, per + 5, 2000);
      const bad = rs.filter((r) => !r.ok);
      if (bad.length) throw new Error(`${bad.length}/${rs.length} connects to ${host}:${port} failed (${bad[0]!.err})`);
      into.push(...rs.slice(5).map((r) => r.ms)); // drop each process's warm-up
    }
  }
  return { direct: { p50: pct(d, 50), p99: pct(d, 99) }, vip: { p50: pct(v, 50), p99: pct(v, 99) } };
}

function services(from: number, to: number, p1: string, p3: string): (V1Service | V1EndpointSlice)[] {
  const out: (V1Service | V1EndpointSlice)[] = [];
  for (let i = from; i < to; i++) {
    out.push(svc(`s${i}`, { clusterIP: vip(i) }));
    out.push(slice(`s${i}`, [{ ip: p1, node: 'n1' }, { ip: p3, node: 'n1' }], [{ name: 'http', port: 8080 }]));
  }
  return out;
}

async function main(): Promise<void> {
  requireRootAndTools(['ip', 'nft']);
  const t0 = Date.now();
  const lab = new Lab('pxbench');
  const onSignal = (): void => void lab.cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const lines: string[] = [];
  const say = (s: string): void => {
    lines.push(s);
    process.stdout.write(`${s}\n`);
  };
  try {
    const topo = await buildTopology(lab, { n1: ['p1', 'p2', 'p3'] });
    await startServers(lab, topo);
    const node = topo.nodes[0]!;
    const [p1, , p3] = topo.pods.map((p) => p.ip) as [string, string, string];
    const driverPath = await buildDriver(lab);
    let drv = new Driver(driverPath, node.ns, ['--mode', 'nftables', '--node-name', 'n1']);
    lab.onCleanup(() => drv.kill());
    // the latency target: one endpoint (p1), so ClusterIP and direct reach the same server
    const probe = [svc('probe', { clusterIP: '10.96.0.10' }), slice('probe', [{ ip: p1, node: 'n1' }], [{ name: 'http', port: 8080 }])];
    const send = (objs: (V1Service | V1EndpointSlice)[]): void => {
      for (let i = 0; i < objs.length; i += 2000) drv.send({ op: 'bulk', items: objs.slice(i, i + 2000) });
    };
    send([...probe, ...services(0, 10, p1, p3)]);
    await drv.sync();

    say(`# skiff proxy bench (${CONNECTS} connects per latency run, best of 3 x ${MIB} MiB per transfer)`);
    // Transfers first: after hundreds of short connections, a reused client port can collide in conntrack
    // with a direct flow still in TIME_WAIT to the same pod (a kernel NAT clash unrelated to the proxy).
    const tpDirect = await throughput(topo, p1, 8080);
    const tpNft = await throughput(topo, '10.96.0.10', 80);
    const { direct: direct10, vip: vip10 } = await pairedLatency(topo, p1);

    say('');
    say('## nftables sync (2 endpoints per service; partial = one service\'s endpoints change)');
    say('wall ms (cpu ms = proxy process + nft, independent of machine load)');
    say('services  initial-load      full-sync          partial(median of 5)   targets: full<1000ms partial<50ms');
    let have = 10;
    const results: Record<number, { full: number; fullCpu: number; partial: number; partialCpu: number }> = {};
    for (const n of SCALES) {
      send(services(have, n, p1, p3));
      have = n;
      const load = await drv.sync();
      drv.send({ op: 'full' });
      const full = await drv.sync();
      const partial: number[] = [];
      const partialCpu: number[] = [];
      for (let k = 0; k < PARTIAL_RUNS; k++) {
        const eps = k % 2 ? [{ ip: p1, node: 'n1' }, { ip: p3, node: 'n1' }] : [{ ip: p1, node: 'n1' }];
        drv.send({ op: 'slice', obj: slice('s7', eps, [{ name: 'http', port: 8080 }]) });
        const r = await drv.sync();
        partial.push(r.ms!);
        partialCpu.push(r.cpuMs!);
      }
      results[n] = { full: full.ms!, fullCpu: full.cpuMs!, partial: median(partial), partialCpu: median(partialCpu) };
      say(`${String(n).padStart(8)}  ${load.ms!.toFixed(0).padStart(10)}ms  ${full.ms!.toFixed(0).padStart(6)}ms (cpu ${full.cpuMs!.toFixed(0).padStart(4)})  ` +
        `${median(partial).toFixed(1).padStart(8)}ms (cpu ${median(partialCpu).toFixed(0).padStart(3)})`);
    }

    const { direct: direct10k, vip: vip10k } = await pairedLatency(topo, p1);
    say('');
    say('## connection latency (connect + one reply), p50 / p99 in ms');
    say(`direct pod IP  @10 svcs : ${direct10.p50.toFixed(3)} / ${direct10.p99.toFixed(3)}`);
    say(`ClusterIP      @10 svcs : ${vip10.p50.toFixed(3)} / ${vip10.p99.toFixed(3)}   ratio p50 ${(vip10.p50 / direct10.p50).toFixed(3)}`);
    say(`direct pod IP  @10k svcs: ${direct10k.p50.toFixed(3)} / ${direct10k.p99.toFixed(3)}`);
    say(`ClusterIP      @10k svcs: ${vip10k.p50.toFixed(3)} / ${vip10k.p99.toFixed(3)}   ratio p50 ${(vip10k.p50 / direct10k.p50).toFixed(3)}`);
    say(`ClusterIP 10k/10 p50 ratio: ${(vip10k.p50 / vip10.p50).toFixed(3)} (flat = 1.0)`);

    // userspace mode: replace the nftables proxy with a userspace one on the same node
    await drv.stop(true);
    drv = new Driver(driverPath, node.ns, ['--mode', 'userspace', '--node-name', 'n1']);
    drv.send({ op: 'bulk', items: probe });
    await drv.sync();
    const tpUser = await throughput(topo, '10.96.0.10', 80);
    const userLat = await latency(topo, '10.96.0.10', 80);
    await drv.stop(true);

    say('');
    say(`## throughput, ${MIB} MiB pod -> pod (MiB/s)`);
    say(`direct ${tpDirect.toFixed(0)}  nftables ${tpNft.toFixed(0)}  userspace ${tpUser.toFixed(0)}`);
    say(`userspace/nftables ${(tpUser / tpNft).toFixed(3)}  userspace/direct ${(tpUser / tpDirect).toFixed(3)}  nftables/direct ${(tpNft / tpDirect).toFixed(3)}`);
    say(`userspace ClusterIP latency p50/p99: ${userLat.p50.toFixed(3)} / ${userLat.p99.toFixed(3)} ms (ratio to direct ${(userLat.p50 / direct10.p50).toFixed(3)})`);

    const r10k = results[10000]!;
    say('');
    say('## targets');
    say(`partial sync @10k < 50 ms : ${r10k.partial.toFixed(1)} ms wall, ${r10k.partialCpu.toFixed(0)} ms cpu  ${r10k.partial < 50 ? 'MET' : 'MISSED'}`);
    say(`full sync @10k < 1 s      : ${r10k.full.toFixed(0)} ms wall, ${r10k.fullCpu.toFixed(0)} ms cpu  ${r10k.full < 1000 ? 'MET' : r10k.fullCpu < 1000 ? 'MISSED on wall clock (cpu within target)' : 'MISSED'}`);
    const within = Math.max(vip10.p50 / direct10.p50, vip10k.p50 / direct10k.p50);
    say(`ClusterIP within 5% of direct (p50): worst ratio ${within.toFixed(3)}  ${within <= 1.05 ? 'MET' : 'MISSED'}`);
    say(`load average during the run: ${loadavg().map((x) => x.toFixed(1)).join(' ')} on ${cpus().length} cores (contention inflates every wall-clock figure)`);
    say(`total bench time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    await lab.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/proxy: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
