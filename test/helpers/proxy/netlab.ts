/**
 * The proxy's lab: an underlay bridge namespace, two node namespaces (each with a cni0 bridge and pods
 * running small TCP/UDP servers that answer with their own name and the client's address), and an
 * external client namespace on the underlay (198.18.0.0/24). Proxies run as driver processes inside the
 * node namespaces, fed with Kubernetes objects directly (no API server).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { run } from '../../../src/os/exec.js';
import type { Lab } from '../lab.js';

/** The repository root, found from this file whether it runs from source or bundled (bench). */
function findRoot(from: string): string {
  for (let d = from; d !== dirname(d); d = dirname(d)) {
    const pj = join(d, 'package.json');
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'skiff') return d;
  }
  throw new Error(`cannot find the skiff repository above ${from}`);
}
const root = findRoot(dirname(fileURLToPath(import.meta.url)));
const here = join(root, 'test/helpers/proxy');
const SERVER = join(here, 'server.mjs');
const CLIENT = join(here, 'client.mjs');

/** Bundle the driver next to node_modules (so its packages resolve); removed with the lab. */
export async function buildDriver(lab: Lab): Promise<string> {
  const { build } = await import('esbuild');
  const dir = join(root, 'node_modules/.cache/skiff-proxy-test');
  mkdirSync(dir, { recursive: true });
  const out = join(dir, `driver-${lab.prefix}-${randomBytes(3).toString('hex')}.mjs`);
  await build({
    entryPoints: [join(here, 'driver.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    logLevel: 'warning',
  });
  lab.onCleanup(() => rmSync(out, { force: true }));
  return out;
}

export interface Reply {
  id: number;
  ok: boolean;
  err?: string;
  ms?: number;
  cpuMs?: number;
  /** Syncs the proxy has done so far ("sync" and "ping" replies). */
  syncs?: number;
  /** Whether the runner has started, i.e. the initial state was delivered ("ping" replies). */
  started?: boolean;
  /** "bare" replies: each replayed transaction's time, ms. */
  each?: number[];
}

/** A proxy driver process in a node namespace. */
export class Driver {
  private seq = 0;
  private readonly waiting = new Map<number, (r: Reply) => void>();
  private readonly proc: ChildProcess;
  stderr = '';

  constructor(driverPath: string, netns: string, args: string[]) {
    this.proc = spawn('ip', ['netns', 'exec', netns, process.execPath, driverPath, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, SKIFF_LOG_LEVEL: 'warn', SKIFF_LOG_FORMAT: 'json' },
    });
    this.proc.stderr!.on('data', (b: Buffer) => {
      this.stderr = (this.stderr + b.toString()).slice(-4000);
    });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => {
      try {
        const r = JSON.parse(line) as Reply;
        this.waiting.get(r.id)?.(r);
        this.waiting.delete(r.id);
      } catch {
        /* not ours */
      }
    });
  }

  send(op: Record<string, unknown>): void {
    this.proc.stdin!.write(`${JSON.stringify(op)}\n`);
  }

  request(op: Record<string, unknown>, timeoutMs = 30_000): Promise<Reply> {
    const id = ++this.seq;
    return new Promise((resolvePromise, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`driver: no reply to ${String(op.op)} in ${timeoutMs} ms; stderr: ${this.stderr}`)),
        timeoutMs,
      );
      this.waiting.set(id, (r) => {
        clearTimeout(timer);
        resolvePromise(r);
      });
      this.send({ ...op, id });
    });
  }

  /** Apply everything sent so far and wait for the datapath to converge. The first call starts the
   * proxy's runner: objects sent before it are its initial lists (as informers' first list). */
  async sync(): Promise<Reply> {
    const r = await this.request({ op: 'sync' });
    if (!r.ok) throw new Error(`sync failed: ${r.err}; stderr: ${this.stderr}`);
    return r;
  }

  async stop(cleanup = false): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    try {
      await this.request({ op: 'stop', cleanup }, 15_000);
    } catch {
      this.proc.kill('SIGKILL');
    }
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
  }

  kill(): void {
    if (this.proc.exitCode === null) this.proc.kill('SIGKILL');
  }

  /** The proxy's pid (`ip netns exec` execs it in place), for RSS readings. */
  get pid(): number | undefined {
    return this.proc.pid;
  }
}

export interface ClientResult {
  ok: boolean;
  text?: string;
  err?: string;
  ms: number;
}

/** Run the client script in a namespace with these arguments; its one JSON line, parsed. */
async function runClient<T>(netns: string, args: (string | number)[], timeoutMs: number): Promise<T> {
  const argv = ['ip', 'netns', 'exec', netns, process.execPath, CLIENT, ...args.map(String)];
  return JSON.parse((await run(argv, { timeoutMs })).trim()) as T;
}

/** Run the client script in a namespace: `count` sequential requests. */
export async function client(
  netns: string,
  proto: 'tcp' | 'udp' | 'sink',
  host: string,
  port: number,
  count = 1,
  timeoutMs = 2000,
): Promise<ClientResult[]> {
  return runClient(netns, [proto, host, port, count, timeoutMs], count * timeoutMs + 10_000);
}

export interface MixResult extends ClientResult {
  t: number;
}

/** Interleaved TCP requests from a namespace: up to `rounds` rounds of one request to each target, in a
 * random order per round, stopping early after `maxMs`. Results in the order they were made. */
export async function clientMix(
  netns: string,
  targets: readonly { host: string; port: number }[],
  rounds: number,
  timeoutMs = 2000,
  maxMs = 20_000,
): Promise<MixResult[]> {
  const list = targets.map((t) => `${t.host}:${t.port}`).join(',');
  return runClient(netns, ['mix', list, rounds, timeoutMs, maxMs], maxMs + targets.length * timeoutMs + 10_000);
}

/** Names of the pods that answered. */
export function names(rs: readonly ClientResult[]): string[] {
  return rs.map((r) => (r.ok ? (r.text ?? '').split(' ')[0]! : `!${r.err}`));
}

export interface Topology {
  ul: string;
  /** ip6, podCIDR6, gw6 only with `{ ipv6: true }` (as the pods' ip6 and clientIP6). */
  nodes: {
    name: string;
    ns: string;
    ip: string;
    podCIDR: string;
    gw: string;
    ip6: string;
    podCIDR6: string;
    gw6: string;
  }[];
  pods: { name: string; ns: string; ip: string; node: string; ip6: string }[];
  client: string;
  clientIP: string;
  clientIP6: string;
}

/** The IPv6 plan of the proxy lab (ULA, as `skiff up --ip-family`): underlay fd00:198:18::/64 with the IPv4
 * host numbers, pods fd00:10:244:N::/64 per node, services fd00:10:96::/112. */
export const SERVICE_CIDR6 = 'fd00:10:96::/112';

async function ipn(ns: string, ...args: string[]): Promise<void> {
  await run(['ip', '-n', ns, ...args]);
}

/** Build the lab: nodes n1 (pods p1, p2) and n2 (pod p3), client cl, all on underlay bridge. */
export async function buildTopology(
  lab: Lab,
  podsPerNode: Record<string, string[]> = { n1: ['p1', 'p2'], n2: ['p3'] },
  opts: { ipv6?: boolean } = {},
): Promise<Topology> {
  const v6 = opts.ipv6 ?? false;
  // Addresses without duplicate address detection: usable at once, not after a second of DAD.
  const addr6 = async (ns: string, cidr: string, dev: string) => {
    if (v6) await ipn(ns, 'addr', 'add', cidr, 'dev', dev, 'nodad');
  };
  const ul = await lab.netns('ul');
  await ipn(ul, 'link', 'add', 'br0', 'type', 'bridge');
  await ipn(ul, 'link', 'set', 'br0', 'up');
  const topo: Topology = {
    ul,
    nodes: [],
    pods: [],
    client: '',
    clientIP: '198.18.0.100',
    clientIP6: v6 ? 'fd00:198:18::100' : '',
  };
  const nodeNames = Object.keys(podsPerNode);
  for (const [i, name] of nodeNames.entries()) {
    const ns = await lab.netns(name);
    const ip = `198.18.0.${11 + i}`;
    const podCIDR = `10.244.${i + 1}.0/24`;
    const gw = `10.244.${i + 1}.1`;
    const ip6 = v6 ? `fd00:198:18::${11 + i}` : '';
    const podCIDR6 = v6 ? `fd00:10:244:${i + 1}::/64` : '';
    const gw6 = v6 ? `fd00:10:244:${i + 1}::1` : '';
    await lab.veth(ns, 'eth0', ul, `u-${name}`);
    await ipn(ul, 'link', 'set', `u-${name}`, 'master', 'br0');
    await ipn(ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
    await addr6(ns, `${ip6}/64`, 'eth0');
    if (v6) await run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1']);
    // No ICMP redirects: a pod's packet to a VIP leaves by the interface it came in on (the service CIDR
    // route is on cni0), and a redirect would use up the per-host ICMP rate limit that the port-unreachable
    // answering a UDP service without endpoints needs.
    for (const k of [
      'net.ipv4.ip_forward=1',
      'net.ipv4.conf.all.send_redirects=0',
      'net.ipv4.conf.default.send_redirects=0',
    ])
      await run(['ip', 'netns', 'exec', ns, 'sysctl', '-qw', k]);
    await ipn(ns, 'link', 'add', 'cni0', 'type', 'bridge');
    await ipn(ns, 'link', 'set', 'cni0', 'up');
    await ipn(ns, 'addr', 'add', `${gw}/24`, 'dev', 'cni0');
    await addr6(ns, `${gw6}/64`, 'cni0');
    // Locally originated traffic to a VIP needs a route before nat/output can rewrite it.
    await ipn(ns, 'route', 'add', '10.96.0.0/12', 'dev', 'cni0');
    if (v6) await ipn(ns, '-6', 'route', 'add', SERVICE_CIDR6, 'dev', 'cni0');
    topo.nodes.push({ name, ns, ip, podCIDR, gw, ip6, podCIDR6, gw6 });
  }
  for (const n of topo.nodes) {
    for (const peer of topo.nodes) {
      if (peer === n) continue;
      await ipn(n.ns, 'route', 'add', peer.podCIDR, 'via', peer.ip);
      if (v6) await ipn(n.ns, '-6', 'route', 'add', peer.podCIDR6, 'via', peer.ip6);
    }
    for (const [j, pod] of (podsPerNode[n.name] ?? []).entries()) {
      const ns = await lab.netns(pod);
      const ip = n.gw.replace(/\.1$/, `.${j + 2}`);
      await lab.veth(ns, 'eth0', n.ns, `v-${pod}`);
      await ipn(n.ns, 'link', 'set', `v-${pod}`, 'master', 'cni0');
      // As the CNI bridge plugin's hairpinMode: with br_netfilter loaded, a pod's packet DNATed back to
      // itself is bridged out of the port it came in on.
      await run(['ip', 'netns', 'exec', n.ns, 'bridge', 'link', 'set', 'dev', `v-${pod}`, 'hairpin', 'on']);
      await ipn(ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
      await ipn(ns, 'route', 'add', 'default', 'via', n.gw);
      const ip6 = v6 ? n.gw6.replace(/::1$/, `::${j + 2}`) : '';
      await addr6(ns, `${ip6}/64`, 'eth0');
      if (v6) await ipn(ns, '-6', 'route', 'add', 'default', 'via', n.gw6);
      topo.pods.push({ name: pod, ns, ip, node: n.name, ip6 });
    }
  }
  topo.client = await lab.netns('cl');
  await lab.veth(topo.client, 'eth0', ul, 'u-cl');
  await ipn(ul, 'link', 'set', 'u-cl', 'master', 'br0');
  await ipn(topo.client, 'addr', 'add', `${topo.clientIP}/24`, 'dev', 'eth0');
  await addr6(topo.client, `${topo.clientIP6}/64`, 'eth0');
  return topo;
}

/** Start each pod's server (TCP 8080 and 8081, UDP 5353) and wait until it listens. */
/**
 * Start a long-lived process in a namespace, killed with the lab, and wait (bounded) until its stdout
 * shows `ready` (any output when unset); an exit before that fails the wait.
 */
async function spawnReady(lab: Lab, netns: string, argv: string[], what: string, ready?: string): Promise<void> {
  const proc = spawn('ip', ['netns', 'exec', netns, ...argv], { stdio: ['ignore', 'pipe', 'inherit'] });
  lab.onCleanup(() => {
    if (proc.exitCode === null) proc.kill('SIGKILL');
  });
  await new Promise<void>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start`)), 15_000);
    proc.stdout!.on('data', (b: Buffer) => {
      if (ready && !b.toString().includes(ready)) return;
      clearTimeout(timer);
      resolvePromise();
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code})`));
    });
  });
}

export async function startServers(lab: Lab, topo: Topology): Promise<void> {
  await Promise.all(
    topo.pods.map((p) =>
      spawnReady(lab, p.ns, [process.execPath, SERVER, p.name, '8080,8081', '5353'], `server ${p.name}`),
    ),
  );
}

/** The port iperf3 servers listen on in the pods (`startIperfServer`). */
export const IPERF_PORT = 5201;

/**
 * An iperf3 server in a pod: a C sender and receiver on both ends, so a throughput figure measures the path
 * (kernel forwarding or the userspace proxy) rather than the Node test scripts' own copying. `-1` is not
 * used: the server keeps serving the bench's repeated runs; it is killed with the lab.
 */
export async function startIperfServer(lab: Lab, podNs: string): Promise<void> {
  const argv = ['iperf3', '-s', '--forceflush', '-p', String(IPERF_PORT)];
  await spawnReady(lab, podNs, argv, 'iperf3 server', 'Server listening');
}

/** One bounded iperf3 transfer of `mib` MiB from a namespace: the receiver's MiB/s. */
export async function iperf(netns: string, host: string, port: number, mib: number): Promise<number> {
  const argv = ['ip', 'netns', 'exec', netns, 'iperf3', '-c', host, '-p', String(port), '-n', `${mib}M`, '-J'];
  const out = JSON.parse(await run(argv, { timeoutMs: 60_000 })) as {
    error?: string;
    end?: { sum_received?: { bits_per_second?: number } };
  };
  const bps = out.end?.sum_received?.bits_per_second;
  if (out.error || !bps) throw new Error(`iperf3 to ${host}:${port}: ${out.error ?? 'no result'}`);
  return bps / 8 / 1024 / 1024;
}

/** A bare Node TCP relay (relay.mjs) in a namespace, listening on `listenPort` and piping to host:port. */
export async function startRelay(
  lab: Lab,
  netns: string,
  listenPort: number,
  host: string,
  port: number,
): Promise<void> {
  const argv = [process.execPath, join(here, 'relay.mjs'), String(listenPort), host, String(port)];
  await spawnReady(lab, netns, argv, 'relay', 'ready');
}
