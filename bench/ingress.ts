/**
 * Ingress benchmark: requests per second and latency through `skiff ingress-controller` versus straight to
 * the backend, from the same client namespace to the same backend with the same keep-alive client, in
 * alternating rounds of one run (so machine load hits both sides alike).
 *
 *   node dist/bench/ingress.mjs [--concurrency 8] [--seconds 3] [--rounds 3]
 *
 * Targets (issue 15): ingress rate >= 0.5x direct, ingress p99 <= 2x direct. Everything runs inside
 * namespaces made here and is removed at exit, also on failure or a signal.
 */
import { Command } from 'commander';
import { Lab, requireRootAndTools } from '../test/helpers/lab.js';
import { CTRL_IP, IngressLab, until, type LoadResult } from '../test/helpers/ingress/lab.js';

const program = new Command('bench/ingress')
  .option('--concurrency <n>', 'parallel keep-alive connections', (v) => Number(v), 8)
  .option('--seconds <n>', 'length of one measured round per side', (v) => Number(v), 3)
  .option('--rounds <n>', 'rounds per side, alternating', (v) => Number(v), 3)
  .option('--cpu-prof <dir>', "write the controller's V8 CPU profile into DIR")
  .parse();
const o = program.opts<{ concurrency: number; seconds: number; rounds: number; cpuProf?: string }>();
if (!(o.concurrency >= 1 && o.concurrency <= 256)) throw new Error('--concurrency must be 1..256');
if (!(o.seconds > 0 && o.seconds <= 60)) throw new Error('--seconds must be in (0, 60]');
if (!(o.rounds >= 1 && o.rounds <= 20)) throw new Error('--rounds must be 1..20');

requireRootAndTools(['ip']);
const lab = new Lab('ingbench');
const onSignal = (): void => void lab.cleanup().finally(() => process.exit(130));
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);

const fmt = (n: number | null, d = 2) => (n === null ? 'n/a' : n.toFixed(d));

try {
  const L = new IngressLab(lab);
  await L.up({
    backends: 1,
    controllerNodeFlags: o.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProf}`] : [],
  });
  await L.kubectl(['apply', '-f', '-'], L.serviceYaml('bench', ['b1']));
  await L.kubectl(
    ['apply', '-f', '-'],
    `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bench, namespace: default}
spec:
  rules: [{host: bench.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: bench, port: {number: 80}}}}]}}]
`,
  );
  await until('the route', 30_000, async () =>
    (await L.get('/', 'bench.example'))[0]?.status === 200 ? true : undefined,
  );
  const direct = `http://${L.backends.get('b1')}:8080/`;
  const via = `http://${CTRL_IP}/`;
  const load = (url: string, host: string, ms: number) =>
    L.client<LoadResult>(['load', url, String(o.concurrency), String(ms), host], ms + 60_000);
  // Warm both paths (JIT, connection pools), then measure in alternating rounds.
  await load(direct, 'bench.example', 1000);
  await load(via, 'bench.example', 1000);
  const rows: { side: string; r: LoadResult; cpu: { ctrl: number; backend: number } }[] = [];
  for (let i = 0; i < o.rounds; i++) {
    for (const [side, url] of [
      ['direct', direct],
      ['ingress', via],
    ] as const) {
      const cpu0 = { ctrl: L.cpuMs('controller'), backend: L.cpuMs('b1') };
      const r = await load(url, 'bench.example', o.seconds * 1000);
      const cpu = { ctrl: L.cpuMs('controller') - cpu0.ctrl, backend: L.cpuMs('b1') - cpu0.backend };
      rows.push({ side, r, cpu });
      process.stdout.write(
        `round ${i + 1} ${side.padEnd(7)} ${fmt(r.rps, 0).padStart(7)} req/s  p50 ${fmt(r.p50)} ms  p99 ${fmt(r.p99)} ms  ` +
          `errors ${r.errors}  CPU per request: controller ${fmt((cpu.ctrl * 1000) / Math.max(1, r.requests), 0)} µs, ` +
          `backend ${fmt((cpu.backend * 1000) / Math.max(1, r.requests), 0)} µs\n`,
      );
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const side = (s: string) => rows.filter((x) => x.side === s).map((x) => x.r);
  const d = side('direct');
  const g = side('ingress');
  const rate = median(g.map((r) => r.rps)) / median(d.map((r) => r.rps));
  const p99 = median(g.map((r) => r.p99 ?? NaN)) / median(d.map((r) => r.p99 ?? NaN));
  const p50 = median(g.map((r) => r.p50 ?? NaN)) / median(d.map((r) => r.p50 ?? NaN));
  const errors = [...d, ...g].reduce((s, r) => s + r.errors, 0);
  process.stdout.write(
    `\nconcurrency ${o.concurrency}, ${o.rounds} x ${o.seconds} s per side, medians of rounds; errors ${errors}\n` +
      `ingress / direct: rate ${rate.toFixed(2)}x (target >= 0.5x: ${rate >= 0.5 ? 'met' : 'NOT met'}), ` +
      `p50 ${p50.toFixed(2)}x, p99 ${p99.toFixed(2)}x (target <= 2x: ${p99 <= 2 ? 'met' : 'NOT met'})\n`,
  );
  if (o.cpuProf) await L.stop('controller');
} finally {
  await lab.cleanup();
}
