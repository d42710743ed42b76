/**
 * bench/netprog: network programming latency as Kubernetes defines it, the time from a change recorded on an
 * EndpointSlice (endpoints.kubernetes.io/last-change-trigger-time, written by the EndpointSlice controller)
 * until the rule is programmed on the node, at 1k and 10k services with churn: endpoints of a random Service
 * moving (pods coming and going) and Services deleted and created again. The real proxy (tracker + model +
 * nftables backend, the code `skiff proxy` runs) runs inside a lab node namespace; each change carries its
 * trigger time, and the change counts as programmed when the proxy reports the sync done. The proxy's own
 * kubeproxy_network_programming_duration_seconds measures the same interval from the annotation.
 * Bounded: CHANGES changes or MAX_MS per scale. Everything happens inside namespaces this run creates.
 * Run: node scripts/build.mjs && node dist/bench/netprog.mjs   (root)
 */
import type { V1EndpointSlice, V1Service } from '@kubernetes/client-node';
import { TRIGGER_TIME_ANNOTATION } from '../src/api/well-known.js';
import { Lab, requireRootAndTools } from '../test/helpers/lab.js';
import { buildDriver, buildTopology, Driver } from '../test/helpers/proxy/netlab.js';
import { slice, svc } from '../test/helpers/proxy/objects.js';

const SCALES = [1000, 10_000];
const CHANGES = Number(process.env.BENCH_CHANGES ?? 100);
const MAX_MS = 60_000;
const TARGET_P99_MS = 1000;

function vip(i: number): string {
  return `10.96.${Math.floor(i / 250) + 1}.${(i % 250) + 1}`;
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
}

/** A slice of service i with the given endpoints, stamped with the time of the change it reflects. */
function stampedSlice(i: number, ips: string[], at: number): V1EndpointSlice {
  const s = slice(
    `s${i}`,
    ips.map((ip) => ({ ip, node: 'n1' })),
    [{ name: 'http', port: 8080 }],
  );
  s.metadata!.annotations = { [TRIGGER_TIME_ANNOTATION]: new Date(at).toISOString() };
  return s;
}

function service(i: number): V1Service {
  return svc(`s${i}`, { clusterIP: vip(i) });
}

async function main(): Promise<void> {
  requireRootAndTools(['ip', 'nft']);
  const lab = new Lab('netprog');
  const onSignal = (): void => void lab.cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const topo = await buildTopology(lab, { n1: ['p1', 'p2', 'p3'] });
    const node = topo.nodes[0]!;
    const [p1, p2, p3] = topo.pods.map((p) => p.ip) as [string, string, string];
    const driverPath = await buildDriver(lab);
    const drv = new Driver(driverPath, node.ns, ['--mode', 'nftables', '--node-name', 'n1']);
    lab.onCleanup(() => drv.kill());
    process.stdout.write(
      `# network programming latency (trigger time on the slice -> rule programmed on node n1; ` +
        `${CHANGES} changes or ${MAX_MS / 1000} s per scale; the driver syncs with min-sync-period 0)\n`,
    );
    let have = 0;
    let last = { p50: NaN, p90: NaN, p99: NaN };
    for (const n of SCALES) {
      const t0 = Date.now();
      const items: (V1Service | V1EndpointSlice)[] = [];
      for (let i = have; i < n; i++) items.push(service(i), stampedSlice(i, [p1, p3], t0));
      for (let i = 0; i < items.length; i += 2000) drv.send({ op: 'bulk', items: items.slice(i, i + 2000) });
      have = n;
      await drv.sync();
      const lat: number[] = [];
      const start = Date.now();
      for (let k = 0; k < CHANGES && Date.now() - start < MAX_MS; k++) {
        const i = Math.floor(Math.random() * n);
        const at = Date.now();
        if (k % 4 === 3) {
          // a Service goes and comes back (its slice with it)
          drv.send({ op: 'delslice', obj: stampedSlice(i, [p1, p3], at) });
          drv.send({ op: 'delsvc', obj: service(i) });
          await drv.sync();
          const back = Date.now();
          drv.send({ op: 'svc', obj: service(i) });
          drv.send({ op: 'slice', obj: stampedSlice(i, [p1, p3], back) });
          await drv.sync();
          lat.push(Date.now() - back);
        } else {
          // a pod goes and another comes: the service's endpoints change
          drv.send({ op: 'slice', obj: stampedSlice(i, k % 2 ? [p1, p2] : [p2, p3], at) });
          await drv.sync();
        }
        lat.push(Date.now() - at);
      }
      last = { p50: pct(lat, 50), p90: pct(lat, 90), p99: pct(lat, 99) };
      process.stdout.write(
        `@${n} services, node n1: ${lat.length} samples, p50 ${last.p50} ms, p90 ${last.p90} ms, p99 ${last.p99} ms ` +
          `(target p99 < ${TARGET_P99_MS} ms: ${(last.p99 / TARGET_P99_MS).toFixed(2)}x)\n`,
      );
    }
    await drv.stop(true);
    process.stdout.write(
      `network programming latency @${SCALES.at(-1)! / 1000}k services: p50 ${last.p50} ms, p99 ${last.p99} ms\n`,
    );
  } finally {
    await lab.cleanup();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench/netprog: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
