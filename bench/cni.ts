/**
 * CNI benchmark: ADD+DEL cycle time of our bridge+host-local against the reference bridge+host-local
 * (containernetworking-plugins), in one run, inside lab namespaces. Cycles alternate between the plugin sets
 * so machine load hits both alike. Prints p50/p90 per set and the ratio ours/reference (target: <= 1).
 * Our plugins run three ways: relayed to a resident skiff-cnid started in the lab's node namespace (how a
 * node runs them), one Node process per call with IPAM in-process, and with host-local exec'd as well.
 *
 *   node dist/bench/cni.mjs [--cycles 30] [--ours plugins/bin] [--ref /usr/lib/cni]
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CniRuntime, parseConfList } from '../src/cni/runtime/index.js';
import type { PluginExec } from '../src/cni/invoke.js';
import { runRaw } from '../src/os/exec.js';
import { namedNs } from '../src/os/ns.js';
import { Lab } from '../test/helpers/lab.js';
import { startCnid } from '../test/helpers/cnid.js';

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? (process.argv[i + 1] as string) : dflt;
}

const here = dirname(fileURLToPath(import.meta.url));
const defaultOurs =
  [resolve(here, '../../plugins/bin'), resolve(here, '../plugins/bin')].find((d) => existsSync(join(d, 'bridge'))) ??
  'plugins/bin';
const cycles = Math.min(Math.max(Number(flag('cycles', '30')) || 30, 1), 200);
const ours = resolve(flag('ours', defaultOurs));
const ref = resolve(flag('ref', '/usr/lib/cni'));
const BUDGET_MS = 10 * 60_000;

interface Series {
  label: string;
  path: string;
  extraEnv: Record<string, string>;
  subnet: string;
  bridge: string;
  times: number[];
}

function execIn(node: string, extraEnv: Record<string, string>): PluginExec {
  return {
    exec: (path, env, stdin) =>
      runRaw([path], {
        ns: namedNs(node),
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...extraEnv, ...env },
        input: stdin,
        timeoutMs: 60_000,
      }),
  };
}

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('bench/cni needs root (it builds network namespaces)');
  for (const d of [ours, ref]) {
    for (const t of ['bridge', 'host-local'])
      if (!existsSync(join(d, t)))
        throw new Error(
          `missing ${join(d, t)} (build with node scripts/build.mjs; reference from containernetworking-plugins)`,
        );
  }
  const lab = new Lab('bench');
  const cleanup = () => lab.cleanup();
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    const node = await lab.netns('node');
    const pod = await lab.netns('pod');
    const cache = lab.tmpdir();
    const dataDir = lab.tmpdir();
    const socket = join(lab.tmpdir(), 'cni.sock');
    // its per-call log lines stay in memory, out of the results
    await startCnid(lab, node, ours, socket);
    // The per-process series point at a socket nobody listens on, so a node's own daemon cannot serve them.
    const noDaemon = join(lab.tmpdir(), 'none.sock');
    const series: Series[] = [
      {
        label: 'skiff (resident skiff-cnid)',
        path: ours,
        extraEnv: { SKIFF_CNI_SOCKET: socket },
        subnet: '10.244.63.0/24',
        bridge: 'bs3',
        times: [],
      },
      {
        label: 'skiff (in-process IPAM)',
        path: ours,
        extraEnv: { SKIFF_CNI_SOCKET: noDaemon },
        subnet: '10.244.60.0/24',
        bridge: 'bs0',
        times: [],
      },
      {
        label: 'skiff (exec host-local)',
        path: ours,
        extraEnv: { SKIFF_CNI_SOCKET: noDaemon, SKIFF_CNI_IPAM_EXEC: '1' },
        subnet: '10.244.61.0/24',
        bridge: 'bs1',
        times: [],
      },
      { label: 'reference 1.1.1', path: ref, extraEnv: {}, subnet: '10.244.62.0/24', bridge: 'br0', times: [] },
    ];
    const started = Date.now();
    for (let i = 0; i < cycles && Date.now() - started < BUDGET_MS; i++) {
      for (const s of series) {
        const rt = new CniRuntime({ path: [s.path], cacheDir: cache, exec: execIn(node, s.extraEnv) });
        const list = parseConfList(
          JSON.stringify({
            cniVersion: '1.0.0',
            name: `bench-${s.bridge}`,
            plugins: [
              {
                type: 'bridge',
                bridge: s.bridge,
                isGateway: true,
                ipMasq: true,
                ipam: { type: 'host-local', subnet: s.subnet, dataDir },
              },
            ],
          }),
        );
        const att = { containerId: `bench-${i}`, netns: `/run/netns/${pod}`, ifname: 'eth0' };
        const t0 = process.hrtime.bigint();
        await rt.addNetworkList(list, att);
        await rt.delNetworkList(list, att);
        s.times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
    }
    const [resident, mine, exec, theirs] = series as [Series, Series, Series, Series];
    const ratio = (s: Series) => (pct(s.times, 50) / pct(theirs.times, 50)).toFixed(2);
    console.log(`CNI ADD+DEL cycle, bridge + host-local, ${mine.times.length} cycles each (alternating):`);
    for (const s of series)
      console.log(
        `  ${s.label.padEnd(28)} p50 ${pct(s.times, 50).toFixed(1)} ms   p90 ${pct(s.times, 90).toFixed(1)} ms`,
      );
    console.log(
      `  ratio ours/reference (p50): ${ratio(resident)}  (no daemon: ${ratio(mine)}; no daemon, exec host-local: ${ratio(exec)})`,
    );
  } finally {
    await cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
