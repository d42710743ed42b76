/**
 * Test/bench driver: runs a ProxyServer inside a node namespace (`ip netns exec NODE node driver.mjs`),
 * fed with Kubernetes objects as JSON lines on stdin instead of informers — the model and backends are
 * exactly those `skiff proxy` runs. Replies one JSON line per "sync"/"ping"/"stop" request.
 *
 * Like `skiff proxy`, which starts syncing only once the initial lists of Services, EndpointSlices and
 * Nodes are in, the runner starts at the first "sync" request: everything sent before it is the initial
 * state. Starting earlier would make a restarted proxy's first sync one with no (or half the) objects,
 * which empties the adopted table until the next sync — VIPs stop answering, and a SYN that passes in that
 * window gets an un-NATed conntrack entry that its retransmissions keep following.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { nftApply } from '../../../src/os/nft.js';
import { kernelDriver, type NftDriver } from '../../../src/proxy/nftables/backend.js';
import { parseNodePortAddresses } from '../../../src/proxy/nodeports.js';
import { ProxyServer } from '../../../src/proxy/server.js';
import { loadKubeConfig } from '../../../src/client/kubeconfig.js';
import { LeaseMembership } from '../../../src/proxy/l2announce/membership.js';
import type { DetectLocalMode } from '../../../src/proxy/model/types.js';

function arg(name: string, def?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? process.argv[i + 1] : def;
  if (v === undefined) throw new Error(`driver: --${name} is required`);
  return v;
}

// --record-nft: keep the last transactions the proxy sent, so the bench can replay them through a bare
// `nft -f` (op "bare") as the baseline its sync times are compared with.
const sent: string[] = [];
const real = kernelDriver();
const recording: NftDriver = {
  ...real,
  apply: async (text) => {
    await real.apply(text);
    sent.push(text);
    if (sent.length > 2) sent.shift();
  },
};

// --kubeconfig: L2 announcer membership through Leases on that API server (the only thing the driver asks
// of an API server; Services and slices still come on stdin).
const kubeconfig = arg('kubeconfig', '');
const membership = kubeconfig ? new LeaseMembership(loadKubeConfig(kubeconfig), arg('node-name')) : undefined;

const server = await ProxyServer.create({
  membership,
  nftDriver: arg('record-nft', 'false') === 'true' ? recording : undefined,
  mode: arg('mode'),
  node: {
    nodeName: arg('node-name'),
    clusterCIDR: arg('cluster-cidr', '10.244.0.0/16'),
    masqueradeBit: Number(arg('masquerade-bit', '14')),
    masqueradeAll: arg('masquerade-all', 'false') === 'true',
    serviceCIDR: arg('service-cidr', '10.96.0.0/12'),
    detectLocalMode: (arg('detect-local-mode', '') || undefined) as DetectLocalMode | undefined,
    nodePodCIDR: arg('node-pod-cidr', '') || undefined,
    podBridgeInterface: arg('pod-bridge-interface', '') || undefined,
    podInterfaceNamePrefix: arg('pod-interface-name-prefix', '') || undefined,
  },
  nodePortAddresses: parseNodePortAddresses(arg('nodeport-addresses', 'primary')),
  nodeIP: arg('node-ip', '').split(',')[0] || undefined,
  nodeIPs: arg('node-ip', '').split(',').filter(Boolean),
  metricsPort: Number(arg('metrics-port', '0')),
  minSyncIntervalMs: 0,
  fullSyncIntervalMs: Number(arg('full-sync-ms', '3600000')),
});
let started = false;
const t = server.tracker;
/** CPU ms used by this process plus its waited-for children (nft), load-independent unlike wall time. */
function cpuMs(): number {
  // Fields after "pid (comm) ": index 0 is field 3 (state), so cutime (field 16) and cstime (17) are at
  // 13 and 14. (An earlier version read 14 and 15, cstime + priority, and so missed nft's user time.)
  const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  const children = (Number(f[13]) + Number(f[14])) * 10; // cutime + cstime, in 10 ms ticks (CLK_TCK 100)
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000 + children;
}
const out = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const rl = createInterface({ input: process.stdin });
for await (const line of rl) {
  if (!line.trim()) continue;
  const m = JSON.parse(line) as {
    op: string;
    obj?: never;
    ready?: string[];
    id?: number;
    cleanup?: boolean;
    items?: never[];
    count?: number;
  };
  try {
    switch (m.op) {
      case 'svc':
        t.updateService(m.obj!);
        break;
      case 'delsvc':
        t.deleteService(m.obj!);
        break;
      case 'slice':
        t.updateSlice(m.obj!);
        break;
      case 'delslice':
        t.deleteSlice(m.obj!);
        break;
      case 'bulk':
        for (const o of m.items ?? []) {
          const obj = o as { kind?: string };
          if (obj.kind === 'Service') t.updateService(o);
          else t.updateSlice(o);
        }
        break;
      case 'nodes':
        server.setReadyNodes(m.ready ?? []);
        break;
      case 'full':
        server.runner.requestFull();
        break;
      case 'ping':
        out({ id: m.id, ok: true, started, syncs: server.runner.syncCount });
        break;
      case 'sync': {
        if (started) server.changed();
        else {
          started = true;
          server.start();
        }
        const t0 = process.hrtime.bigint();
        const c0 = cpuMs();
        await server.idle();
        out({
          id: m.id,
          ok: !server.runner.lastError,
          err: server.runner.lastError,
          ms: Number(process.hrtime.bigint() - t0) / 1e6,
          cpuMs: cpuMs() - c0,
          syncs: server.runner.syncCount,
        });
        break;
      }
      case 'bare': {
        // Replay the last `count` transactions in their order. One full sync is idempotent (flush and
        // refill); two partial syncs that alternate a service between two states undo each other, so
        // replaying both, from the state the second left, is valid and ends where it started.
        const texts = sent.slice(-(m.count ?? 1));
        const ms: number[] = [];
        for (const text of texts) {
          const t0 = process.hrtime.bigint();
          await nftApply(text);
          ms.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
        out({ id: m.id, ok: true, ms: ms.reduce((a, b) => a + b, 0) / Math.max(1, ms.length), each: ms });
        break;
      }
      case 'stop':
        await server.stop(m.cleanup ?? false);
        out({ id: m.id, ok: true });
        process.exit(0);
    }
  } catch (err) {
    out({ id: m.id, ok: false, err: String(err) });
  }
}
await server.stop(false);
