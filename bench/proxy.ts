/**
 * bench/proxy: one run, prints ratios against the targets.
 *  - nftables full-sync and one-service partial-sync time at 1k, 5k and 10k services (2 endpoints each),
 *    measured by the real proxy (tracker + model + backend) running inside a lab node namespace;
 *  - connection latency through a ClusterIP at 10 and 10k services vs direct pod IP (p50/p90/p99), the two
 *    interleaved in random order per round so drift in machine load hits both alike, with the ratio's
 *    spread over consecutive blocks of rounds;
 *  - throughput (iperf3 on both ends, bounded transfers) of direct, nftables and userspace, each mode's
 *    ClusterIP runs interleaved with direct runs so the ratios compare like with like;
 *  - each sync against one bare `nft -f` of the very transaction the proxy sent, replayed in the same run;
 *  - the proxy process's RSS at 10k services, in both modes.
 * Everything happens inside namespaces this run creates (lab rule); all loops are bounded.
 * Run: node scripts/build.mjs && node dist/bench/proxy.mjs   (root)
 */
import { cpus, loadavg } from 'node:os';
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { procRssBytes } from '../src/os/proc.js';
import { Lab, requireRootAndTools } from '../test/helpers/lab.js';
import {
  buildDriver,
  buildTopology,
  clientMix,
  Driver,
  IPERF_PORT,
  iperf,
  startIperfServer,
  startRelay,
  startServers,
  type Topology,
} from '../test/helpers/proxy/netlab.js';
import { slice, svc } from '../test/helpers/proxy/objects.js';

/** Interleaved latency: rounds (one direct + one ClusterIP connect each), a time cap, warm-up rounds dropped,
 * and how many consecutive blocks the rounds are cut into for the ratio's spread. */
const LAT_ROUNDS = Number(process.env.BENCH_LAT_ROUNDS ?? 2000);
const LAT_MAX_MS = 20_000;
const LAT_WARMUP = 20;
const LAT_BLOCKS = 10;
const MIB = Number(process.env.BENCH_MIB ?? 256);
/** Throughput rounds per mode, each one direct and one ClusterIP transfer in a random order. */
const TP_ROUNDS = Number(process.env.BENCH_TP_ROUNDS ?? 3);
const RELAY_PORT = 15201;
const SCALES = [1000, 5000, 10000];
const PARTIAL_RUNS = 5;
const FULL_RUNS = 3;

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

/** Throughput rounds: one direct and one ClusterIP transfer per round, in a random order, so load drift
 * hits both; per round the ratio ClusterIP/direct. Reports medians (MiB/s) and the median ratio. */
async function pairedThroughput(
  topo: Topology,
  podIP: string,
  vipAddr: string,
  vipPort = IPERF_PORT,
): Promise<{ direct: number; vip: number; ratio: number; ratios: number[] }> {
  const src = topo.pods.find((p) => p.name === 'p2')!;
  const d: number[] = [];
  const v: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < TP_ROUNDS; i++) {
    const order = Math.random() < 0.5 ? ['d', 'v'] : ['v', 'd'];
    const round: Record<string, number> = {};
    for (const k of order)
      round[k] = k === 'd' ? await iperf(src.ns, podIP, IPERF_PORT, MIB) : await iperf(src.ns, vipAddr, vipPort, MIB);
    d.push(round.d!);
    v.push(round.v!);
    ratios.push(round.v! / round.d!);
  }
  return { direct: median(d), vip: median(v), ratio: median(ratios), ratios };
}

/** RSS of the driver process (the proxy), MiB. */
function rssMiB(pid: number | undefined): number {
  const bytes = pid ? procRssBytes(pid) : undefined;
  return bytes === undefined ? NaN : bytes / 1024 / 1024;
}

interface Series {
  n: number;
  p50: number;
  p90: number;
  p99: number;
}

function series(ms: number[]): Series {
  return { n: ms.length, p50: pct(ms, 50), p90: pct(ms, 90), p99: pct(ms, 99) };
}

interface PairedLatency {
  direct: Series;
  vip: Series;
  /** ClusterIP p50 / direct p50 over all rounds */
  ratio: number;
  /** the same ratio within each block of consecutive rounds: its spread says how far to trust `ratio` */
  blocks: { median: number; min: number; max: number; count: number };
  seconds: number;
}

/** Direct pod IP and ClusterIP (one endpoint: the same server) latency, interleaved: each round makes one
 * connect to each in a random order, so load drift and warm-up hit both series alike. */
async function pairedLatency(topo: Topology, podIP: string): Promise<PairedLatency> {
  const src = topo.pods.find((p) => p.name === 'p2')!;
  const t0 = Date.now();
  const rs = await clientMix(
    src.ns,
    [
      { host: podIP, port: 8080 },
      { host: '10.96.0.10', port: 80 },
    ],
    LAT_ROUNDS + LAT_WARMUP,
    2000,
    LAT_MAX_MS,
  );
  const seconds = (Date.now() - t0) / 1000;
  const bad = rs.filter((r) => !r.ok || !r.text?.startsWith('p1 '));
  // A rare failed connect (a conntrack clash with a TIME_WAIT flow) is dropped; more means a broken datapath.
  if (bad.length > rs.length / 100)
    throw new Error(`${bad.length}/${rs.length} connects failed (${bad[0]!.err ?? bad[0]!.text})`);
  // Each round is two consecutive results, one per target.
  const rounds: { d?: number; v?: number }[] = [];
  for (let i = 0; i + 1 < rs.length; i += 2) {
    const round: { d?: number; v?: number } = {};
    for (const r of [rs[i]!, rs[i + 1]!]) {
      if (!r.ok || !r.text?.startsWith('p1 ')) continue;
      if (r.t === 0) round.d = r.ms;
      else round.v = r.ms;
    }
    rounds.push(round);
  }
  const kept = rounds.slice(LAT_WARMUP);
  const pick = (rr: typeof kept, k: 'd' | 'v'): number[] => rr.flatMap((r) => (r[k] === undefined ? [] : [r[k]!]));
  const d = pick(kept, 'd');
  const v = pick(kept, 'v');
  const per = Math.max(1, Math.floor(kept.length / LAT_BLOCKS));
  const ratios: number[] = [];
  for (let i = 0; i + per <= kept.length; i += per) {
    const b = kept.slice(i, i + per);
    ratios.push(median(pick(b, 'v')) / median(pick(b, 'd')));
  }
  return {
    direct: series(d),
    vip: series(v),
    ratio: median(v) / median(d),
    blocks: { median: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios), count: ratios.length },
    seconds,
  };
}

function latencyLines(label: string, l: PairedLatency): string[] {
  const row = (name: string, x: Series): string =>
    `${name.padEnd(24)} ${String(x.n).padStart(5)}  ${x.p50.toFixed(3)}  ${x.p90.toFixed(3)}  ${x.p99.toFixed(3)}`;
  return [
    row(`direct pod IP  @${label}`, l.direct),
    row(`ClusterIP      @${label}`, l.vip),
    `${''.padEnd(24)} ratio p50 ${l.ratio.toFixed(3)}; per block of ${Math.floor(l.direct.n / l.blocks.count)} rounds: ` +
      `median ${l.blocks.median.toFixed(3)}, min ${l.blocks.min.toFixed(3)}, max ${l.blocks.max.toFixed(3)} (${l.seconds.toFixed(1)} s)`,
  ];
}

function services(from: number, to: number, p1: string, p3: string): (V1Service | V1EndpointSlice)[] {
  const out: (V1Service | V1EndpointSlice)[] = [];
  for (let i = from; i < to; i++) {
    out.push(svc(`s${i}`, { clusterIP: vip(i) }));
    out.push(
      slice(
        `s${i}`,
        [
          { ip: p1, node: 'n1' },
          { ip: p3, node: 'n1' },
        ],
        [{ name: 'http', port: 8080 }],
      ),
    );
  }
  return out;
}

async function main(): Promise<void> {
  requireRootAndTools(['ip', 'nft', 'iperf3']);
  const t0 = Date.now();
  const lab = new Lab('pxbench');
  const onSignal = (): void => void lab.cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const say = (s: string): void => void process.stdout.write(`${s}\n`);
  try {
    const topo = await buildTopology(lab, { n1: ['p1', 'p2', 'p3'] });
    await startServers(lab, topo);
    const node = topo.nodes[0]!;
    const [p1, , p3] = topo.pods.map((p) => p.ip) as [string, string, string];
    await startIperfServer(lab, topo.pods[0]!.ns);
    const driverPath = await buildDriver(lab);
    let drv = new Driver(driverPath, node.ns, ['--mode', 'nftables', '--node-name', 'n1', '--record-nft', 'true']);
    lab.onCleanup(() => drv.kill());
    // the latency and throughput targets: one endpoint (p1), so ClusterIP and direct reach the same server
    const probe = [
      svc('probe', { clusterIP: '10.96.0.10' }),
      slice('probe', [{ ip: p1, node: 'n1' }], [{ name: 'http', port: 8080 }]),
      svc('iperf', {
        clusterIP: '10.96.0.11',
        ports: [{ name: 'iperf', port: IPERF_PORT, protocol: 'TCP', targetPort: IPERF_PORT }],
      }),
      slice('iperf', [{ ip: p1, node: 'n1' }], [{ name: 'iperf', port: IPERF_PORT }]),
    ];
    const send = (objs: (V1Service | V1EndpointSlice)[]): void => {
      for (let i = 0; i < objs.length; i += 2000) drv.send({ op: 'bulk', items: objs.slice(i, i + 2000) });
    };
    send([...probe, ...services(0, 10, p1, p3)]);
    await drv.sync();

    say(
      `# skiff proxy bench (latency: up to ${LAT_ROUNDS} interleaved rounds or ${LAT_MAX_MS / 1000} s per scale; ` +
        `throughput: ${TP_ROUNDS} interleaved rounds of ${MIB} MiB iperf3 transfers per mode)`,
    );
    // Transfers first: after hundreds of short connections, a reused client port can collide in conntrack
    // with a direct flow still in TIME_WAIT to the same pod (a kernel NAT clash unrelated to the proxy).
    const tpNft = await pairedThroughput(topo, p1, '10.96.0.11');
    const lat10 = await pairedLatency(topo, p1);

    say('');
    say("## nftables sync (2 endpoints per service; partial = one service's endpoints change)");
    say('wall ms; cpu ms = proxy process + nft (hardly affected by load); bare = the same transaction replayed');
    say('through a bare nft process in this run (the floor the proxy is measured against)');
    say('services  initial-load   full-sync (median of 3)         partial (median of 5)');
    let have = 10;
    const results: Record<
      number,
      { full: number; fullCpu: number; fullBare: number; partial: number; partialBare: number }
    > = {};
    for (const n of SCALES) {
      send(services(have, n, p1, p3));
      have = n;
      const load = await drv.sync();
      // Median of a few periodic full syncs: one sample swings with whatever else the machine is doing.
      const fulls: { ms: number; cpu: number; bare: number }[] = [];
      for (let k = 0; k < FULL_RUNS; k++) {
        drv.send({ op: 'full' });
        const r = await drv.sync();
        const bare = await drv.request({ op: 'bare', count: 1 }, 60_000);
        fulls.push({ ms: r.ms!, cpu: r.cpuMs!, bare: bare.ms! });
      }
      const full = {
        ms: median(fulls.map((f) => f.ms)),
        cpu: median(fulls.map((f) => f.cpu)),
        bare: median(fulls.map((f) => f.bare)),
      };
      const partial: number[] = [];
      const partialCpu: number[] = [];
      const partialBare: number[] = [];
      for (let k = 0; k < PARTIAL_RUNS * 2; k++) {
        const eps =
          k % 2
            ? [
                { ip: p1, node: 'n1' },
                { ip: p3, node: 'n1' },
              ]
            : [{ ip: p1, node: 'n1' }];
        drv.send({ op: 'slice', obj: slice('s7', eps, [{ name: 'http', port: 8080 }]) });
        const r = await drv.sync();
        partial.push(r.ms!);
        partialCpu.push(r.cpuMs!);
        // after each pair (one state and back), replay both transactions bare
        if (k % 2) partialBare.push(...(await drv.request({ op: 'bare', count: 2 })).each!);
      }
      results[n] = {
        full: full.ms,
        fullCpu: full.cpu,
        fullBare: full.bare,
        partial: median(partial),
        partialBare: median(partialBare),
      };
      say(
        `${String(n).padStart(8)}  ${load.ms!.toFixed(0).padStart(8)}ms   ` +
          `${full.ms.toFixed(0).padStart(4)}ms (cpu ${full.cpu.toFixed(0).padStart(3)}, bare ${full.bare.toFixed(0)})   ` +
          `${median(partial).toFixed(1).padStart(5)}ms (cpu ${median(partialCpu).toFixed(0)}, bare ` +
          `${median(partialBare).toFixed(1)})`,
      );
    }
    const rssNft = rssMiB(drv.pid);

    const lat10k = await pairedLatency(topo, p1);
    say('');
    say(`## connection latency (connect + one reply), ms: direct and ClusterIP interleaved, random order per round`);
    say(`${'series'.padEnd(24)} ${'n'.padStart(5)}  p50    p90    p99`);
    for (const l of latencyLines('10 svcs', lat10)) say(l);
    for (const l of latencyLines('10k svcs', lat10k)) say(l);
    // Flatness: the 10k and 10 runs happen a minute apart, so compare their ratios to direct (each measured
    // interleaved) rather than raw ClusterIP times, which drift with machine load.
    say(
      `ClusterIP/direct ratio 10k vs 10: ${(lat10k.ratio / lat10.ratio).toFixed(3)} (flat = 1.0); ` +
        `raw ClusterIP p50 10k/10 ${(lat10k.vip.p50 / lat10.vip.p50).toFixed(3)}`,
    );

    // userspace mode: replace the nftables proxy with a userspace one on the same node, 10k services too
    await drv.stop(true);
    drv = new Driver(driverPath, node.ns, ['--mode', 'userspace', '--node-name', 'n1']);
    send([...probe, ...services(0, 10000, p1, p3)]);
    await drv.sync();
    const rssUser = rssMiB(drv.pid);
    const tpUser = await pairedThroughput(topo, p1, '10.96.0.11');
    // the floor: a bare Node relay (accept, connect, pipe) on the same node, measured the same way
    await startRelay(lab, node.ns, RELAY_PORT, p1, IPERF_PORT);
    const tpRelay = await pairedThroughput(topo, p1, node.gw, RELAY_PORT);
    const userLat = await pairedLatency(topo, p1);
    await drv.stop(true);

    say('');
    say(`## throughput, ${MIB} MiB iperf3 pod -> pod (MiB/s, medians of ${TP_ROUNDS} interleaved rounds)`);
    say(
      `nftables mode:  direct ${tpNft.direct.toFixed(0)}  ClusterIP ${tpNft.vip.toFixed(0)}  ratio ` +
        `${tpNft.ratio.toFixed(3)} (rounds ${tpNft.ratios.map((r) => r.toFixed(2)).join(' ')})`,
    );
    say(
      `userspace mode: direct ${tpUser.direct.toFixed(0)}  ClusterIP ${tpUser.vip.toFixed(0)}  ratio ` +
        `${tpUser.ratio.toFixed(3)} (rounds ${tpUser.ratios.map((r) => r.toFixed(2)).join(' ')})`,
    );
    say(
      `bare Node relay: direct ${tpRelay.direct.toFixed(0)}  relayed ${tpRelay.vip.toFixed(0)}  ratio ` +
        `${tpRelay.ratio.toFixed(3)} (the floor of any proxy on Node's socket layer on this machine)`,
    );
    const userVsNft = tpUser.ratio / tpNft.ratio;
    say('');
    say('## userspace ClusterIP latency, interleaved with direct (10k services programmed)');
    for (const l of latencyLines('userspace', userLat)) say(l);
    say('');
    say(
      `## memory: proxy RSS with 10k services: nftables ${rssNft.toFixed(0)} MiB, userspace ${rssUser.toFixed(0)} MiB`,
    );

    const r10k = results[10000]!;
    const mark = (ok: boolean): string => (ok ? 'MET' : 'MISSED');
    const within = Math.max(lat10.ratio, lat10k.ratio);
    const lowest = Math.min(lat10.blocks.min, lat10k.blocks.min).toFixed(3);
    const highest = Math.max(lat10.blocks.max, lat10k.blocks.max).toFixed(3);
    const partialRatio = r10k.partial / r10k.partialBare;
    say('');
    say('## targets');
    say(
      `full sync @10k < 300 ms          : ${r10k.full.toFixed(0)} ms wall, ${r10k.fullCpu.toFixed(0)} ms cpu; ` +
        `bare nft of the same transaction ${r10k.fullBare.toFixed(0)} ms (ratio ${(r10k.full / r10k.fullBare).toFixed(2)})` +
        `  ${mark(r10k.full < 300)}`,
    );
    say(
      `partial sync @10k < 10 ms or <= 1.5x bare nft: ${r10k.partial.toFixed(1)} ms, bare ` +
        `${r10k.partialBare.toFixed(1)} ms, ratio ${partialRatio.toFixed(2)}  ${mark(r10k.partial < 10 || partialRatio <= 1.5)}`,
    );
    say(
      `ClusterIP within 5% of direct (p50): worst ratio ${within.toFixed(3)} (block ratios ${lowest}..${highest})` +
        `  ${mark(within <= 1.05)}`,
    );
    say(
      `userspace throughput >= 0.6x nftables: ${userVsNft.toFixed(3)} (each mode's ClusterIP/direct ratio)` +
        `  ${mark(userVsNft >= 0.6)}; a bare Node relay reaches ${(tpRelay.ratio / tpNft.ratio).toFixed(3)}`,
    );
    say(`userspace ClusterIP latency p50 <= 2x direct: ${userLat.ratio.toFixed(3)}  ${mark(userLat.ratio <= 2)}`);
    say(
      `load average during the run: ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} on ${cpus().length} cores (contention inflates every wall-clock figure)`,
    );
    say(`total bench time ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  } finally {
    await lab.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/proxy: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
