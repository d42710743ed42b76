/**
 * The VXLAN overlay end to end in lab namespaces: an underlay bridge in its own namespace with one veth per
 * "node" (198.18.0.0/24), a `skiff vxlan-agent` process per node (peers-file mode) and pods attached through
 * the built vxlan CNI plugin run inside the node netns. Pods on different nodes ping and talk TCP with their
 * own source addresses; traffic leaving the cluster network is masqueraded; a node leaving the peers file
 * loses its entries everywhere; a deleted VTEP comes back; DEL leaves nothing behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, runRaw } from '../../../src/os/exec.js';
import { parseSubnetFile } from '../../../src/overlay/vxlan/subnetfile.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const SKIFF = join(ROOT, 'dist/skiff.mjs');
const PLUGIN = join(ROOT, 'plugins/bin/vxlan');
const OUR_BIN = join(ROOT, 'plugins/bin');
// Our bridge + host-local once they are built; the reference plugins otherwise (same contract).
const CNI_PATH =
  process.env.SKIFF_TEST_CNI_PATH ??
  (existsSync(join(OUR_BIN, 'bridge')) && existsSync(join(OUR_BIN, 'host-local')) ? OUR_BIN : '/usr/lib/cni');

interface Node {
  name: string;
  ns: string;
  ip: string;
  podCIDR: string;
  dir: string;
  agent?: ChildProcess;
}
interface Pod {
  id: string;
  ns: string;
  node: Node;
  ip: string;
  result: unknown;
}

const lab = new Lab();
let tmp = '';
let peersFile = '';
let ul = '';
/**
 * A private copy of the plugin executables, taken once: a rebuild of plugins/bin while the test runs
 * (another build on the same checkout) could otherwise hand a half-written file to exec, and an empty
 * file "runs" through /bin/sh with exit 0.
 */
let binDir = '';
const nodes = new Map<string, Node>();

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (let i = 0; ; i++) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, Math.min(50 * (i + 1), 250)));
  }
}

function writePeers(entries: object[]): void {
  const tmpFile = `${peersFile}.tmp`;
  writeFileSync(tmpFile, JSON.stringify(entries, null, 2));
  renameSync(tmpFile, peersFile);
}

function subnetFileOf(n: Node): string {
  return join(n.dir, 'subnet.env');
}

async function addNode(name: string, index: number): Promise<Node> {
  const ns = await lab.netns(name);
  const ip = `198.18.0.${10 + index}`;
  await run(['ip', '-n', ns, 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', `p-${name}`, 'netns', ul]);
  await run(['ip', '-n', ul, 'link', 'set', `p-${name}`, 'master', 'br0', 'up']);
  await run(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'u0']);
  await run(['ip', '-n', ns, 'link', 'set', 'u0', 'up']);
  const dir = join(tmp, name);
  mkdirSync(dir);
  const n: Node = { name, ns, ip, podCIDR: `10.244.${index}.0/24`, dir };
  nodes.set(name, n);
  return n;
}

function startAgent(n: Node): void {
  const log = createWriteStream(join(n.dir, 'agent.log'));
  const child = spawn(
    'ip',
    [
      'netns',
      'exec',
      n.ns,
      process.execPath,
      SKIFF,
      'vxlan-agent',
      '--node-name',
      n.name,
      '--peers-file',
      peersFile,
      '--subnet-file',
      subnetFileOf(n),
      '--resync',
      '500ms',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, SKIFF_LOG_FORMAT: 'json' } },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  n.agent = child;
  lab.onCleanup(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
}

/** The peers file as the cluster would publish it: every node with its MAC once its agent wrote it. */
function publishPeers(names: string[]): void {
  writePeers(
    names.map((name) => {
      const n = nodes.get(name)!;
      const f = subnetFileOf(n);
      const mac = existsSync(f) ? parseSubnetFile(readFileSync(f, 'utf8')).vtepMAC : undefined;
      return { name, podCIDR: n.podCIDR, publicIP: n.ip, ...(mac ? { vtepMAC: mac } : {}) };
    }),
  );
}

async function routesVia(n: Node): Promise<string[]> {
  const r = await runRaw(['ip', '-n', n.ns, '-json', 'route', 'show', 'dev', 'skiff.1']);
  if (r.code !== 0) return [];
  return (JSON.parse(r.stdout || '[]') as { dst: string; gateway?: string }[])
    .filter((x) => x.gateway)
    .map((x) => x.dst);
}

async function fdbOf(n: Node): Promise<{ mac: string; dst?: string }[]> {
  const r = await runRaw(['bridge', '-n', n.ns, '-json', 'fdb', 'show', 'dev', 'skiff.1']);
  return r.code === 0 ? (JSON.parse(r.stdout || '[]') as { mac: string; dst?: string }[]) : [];
}

async function neighOf(n: Node): Promise<string[]> {
  const r = await runRaw(['ip', '-n', n.ns, '-json', 'neigh', 'show', 'dev', 'skiff.1']);
  return r.code === 0 ? (JSON.parse(r.stdout || '[]') as { dst: string }[]).map((x) => x.dst) : [];
}

async function waitRoutes(n: Node, want: string[]): Promise<void> {
  await waitFor(`${n.name} routes ${want.join(',')}`, async () => {
    const have = (await routesVia(n)).sort();
    return JSON.stringify(have) === JSON.stringify([...want].sort());
  });
}

function netConf(n: Node, cniVersion = '1.0.0'): Record<string, unknown> {
  return {
    cniVersion,
    name: 'skiff-vxlan-test',
    type: 'vxlan',
    subnetFile: subnetFileOf(n),
    cacheDir: join(n.dir, 'cache'),
    delegate: { ipam: { dataDir: join(n.dir, 'ipam') } },
  };
}

async function cni(cmd: 'ADD' | 'DEL' | 'CHECK', n: Node, id: string, podNs: string, prevResult?: unknown) {
  return cniRun(cmd, n, id, podNs, prevResult ? { ...netConf(n), prevResult } : netConf(n));
}

async function cniRun(
  cmd: 'ADD' | 'DEL' | 'CHECK' | 'GC',
  n: Node,
  id: string,
  podNs: string,
  conf: Record<string, unknown>,
) {
  const env = {
    ...process.env,
    CNI_COMMAND: cmd,
    ...(id ? { CNI_CONTAINERID: id, CNI_NETNS: `/run/netns/${podNs}`, CNI_IFNAME: 'eth0' } : {}),
    CNI_PATH: binDir,
  };
  return runRaw(['ip', 'netns', 'exec', n.ns, join(binDir, 'vxlan')], { env, input: JSON.stringify(conf) });
}

async function addPod(n: Node, name: string): Promise<Pod> {
  const ns = await lab.netns(name);
  const id = `${lab.prefix}-${name}`;
  const r = await cni('ADD', n, id, ns);
  expect(r.code, `vxlan ADD failed: ${r.stdout}${r.stderr}`).toBe(0);
  const result = JSON.parse(r.stdout) as { cniVersion: string; ips: { address: string }[] };
  expect(result.cniVersion).toBe('1.0.0');
  const ip = result.ips[0]!.address.split('/')[0]!;
  // The address the plugin reported is really on the pod's eth0.
  const addrs = JSON.parse(await run(['ip', '-n', ns, '-json', 'addr', 'show', 'dev', 'eth0'])) as {
    addr_info: { local: string }[];
  }[];
  expect(addrs[0]!.addr_info.map((a) => a.local)).toContain(ip);
  return { id, ns, node: n, ip, result };
}

async function ping(from: Pod, to: string): Promise<boolean> {
  const r = await runRaw(['ip', 'netns', 'exec', from.ns, 'ping', '-c', '2', '-i', '0.2', '-W', '2', to], {
    timeoutMs: 10_000,
  });
  return r.code === 0;
}

/**
 * Start a one-shot TCP server in `serverNs` that answers each connection with the peer's address, connect
 * from `clientNs`, return what the server saw. Both sides are tiny node scripts, bounded by timeouts.
 */
async function sourceSeenBy(serverNs: string, listenIP: string, port: number, clientNs: string): Promise<string> {
  const server = spawn(
    'ip',
    [
      'netns',
      'exec',
      serverNs,
      process.execPath,
      '-e',
      `const s=require('net').createServer(c=>{c.end(c.remoteAddress.replace(/^::ffff:/,'')+'\\n')});` +
        `s.listen(${port},'${listenIP}',()=>console.log('ready'));setTimeout(()=>process.exit(0),15000);`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  lab.onCleanup(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
  });
  try {
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error('test server did not start')), 10_000);
      server.stdout?.on('data', (b: Buffer) => {
        if (b.toString().includes('ready')) {
          clearTimeout(t);
          res();
        }
      });
      server.on('exit', () => rej(new Error('test server exited')));
    });
    const client = await runRaw(
      [
        'ip',
        'netns',
        'exec',
        clientNs,
        process.execPath,
        '-e',
        `const c=require('net').connect(${port},'${listenIP}');let d='';c.on('data',x=>d+=x);` +
          `c.on('end',()=>{process.stdout.write(d);process.exit(0)});c.on('error',e=>{console.error(e.message);process.exit(1)});` +
          `setTimeout(()=>{console.error('timeout');process.exit(2)},5000);`,
      ],
      { timeoutMs: 10_000 },
    );
    expect(client.code, client.stderr).toBe(0);
    return client.stdout.trim();
  } finally {
    if (server.exitCode === null) server.kill('SIGKILL');
  }
}

/** Every file under dir (recursively), relative. */
function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return (readdirSync(dir, { recursive: true }) as string[]).filter((f) => statSync(join(dir, f)).isFile());
}

function ipFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const net of readdirSync(dir)) {
    for (const f of readdirSync(join(dir, net))) if (/^\d+\.\d+\.\d+\.\d+$/.test(f)) out.push(`${net}/${f}`);
  }
  return out;
}

describe(`vxlan overlay (agent + plugin) across lab nodes, delegates from ${CNI_PATH}`, () => {
  const pods: Record<string, Pod> = {};

  beforeAll(async () => {
    requireRootAndTools(['ip', 'bridge', 'nft', 'ping']);
    for (const f of [SKIFF, PLUGIN]) {
      if (!existsSync(f)) throw new Error(`${f} is missing: run \`node scripts/build.mjs\` first`);
    }
    tmp = lab.tmpdir();
    binDir = join(tmp, 'bin');
    mkdirSync(binDir);
    for (const f of readdirSync(CNI_PATH)) if (f !== 'package.json') copyFileSync(join(CNI_PATH, f), join(binDir, f));
    copyFileSync(PLUGIN, join(binDir, 'vxlan'));
    writeFileSync(join(binDir, 'package.json'), '{ "type": "commonjs" }\n');
    mkdirSync(join(tmp, 'peers'));
    peersFile = join(tmp, 'peers', 'peers.json');
    ul = await lab.netns('ul');
    await run(['ip', '-n', ul, 'link', 'add', 'br0', 'type', 'bridge']);
    await run(['ip', '-n', ul, 'link', 'set', 'br0', 'up']);
    await addNode('n1', 1);
    await addNode('n2', 2);
    publishPeers(['n1', 'n2']);
    for (const n of nodes.values()) startAgent(n);
    // Each agent writes its subnet file (with its VTEP MAC) once it found its own entry.
    for (const n of nodes.values()) await waitFor(`${n.name} subnet file`, async () => existsSync(subnetFileOf(n)));
    publishPeers(['n1', 'n2']);
    await waitRoutes(nodes.get('n1')!, ['10.244.2.0/24']);
    await waitRoutes(nodes.get('n2')!, ['10.244.1.0/24']);
  });

  afterAll(async () => {
    await lab.cleanup();
  });

  it('the agent built the VTEP as specified and wrote the subnet file', async () => {
    const n1 = nodes.get('n1')!;
    const link = JSON.parse(await run(['ip', '-n', n1.ns, '-json', '-d', 'link', 'show', 'dev', 'skiff.1']))[0];
    const s = parseSubnetFile(readFileSync(subnetFileOf(n1), 'utf8'));
    expect(link.linkinfo.info_kind).toBe('vxlan');
    expect(link.linkinfo.info_data).toMatchObject({ id: 1, port: 8472, local: n1.ip, learning: false });
    expect(link.mtu).toBe(1450);
    expect(link.address).toBe(s.vtepMAC);
    expect(s).toMatchObject({ network: '10.244.0.0/16', subnet: '10.244.1.1/24', mtu: 1450, underlayIP: n1.ip });
    const n2mac = parseSubnetFile(readFileSync(subnetFileOf(nodes.get('n2')!), 'utf8')).vtepMAC;
    expect(await fdbOf(n1)).toContainEqual(expect.objectContaining({ mac: n2mac, dst: '198.18.0.12' }));
    expect(await neighOf(n1)).toContain('10.244.2.0');
  });

  it('pods on two nodes ping and talk TCP with their own source addresses', async () => {
    pods.a = await addPod(nodes.get('n1')!, 'pa');
    pods.b = await addPod(nodes.get('n2')!, 'pb');
    expect(await ping(pods.a, pods.b.ip)).toBe(true);
    expect(await ping(pods.b, pods.a.ip)).toBe(true);
    expect(await sourceSeenBy(pods.b.ns, pods.b.ip, 8080, pods.a.ns)).toBe(pods.a.ip);
    expect(await sourceSeenBy(pods.a.ns, pods.a.ip, 8080, pods.b.ns)).toBe(pods.b.ip);
  });

  it('CHECK passes for a live attachment and refuses to run without prevResult', async () => {
    const a = pods.a!;
    const ok = await cni('CHECK', a.node, a.id, a.ns, a.result);
    expect(ok.code, ok.stdout + ok.stderr).toBe(0);
    const noPrev = await cni('CHECK', a.node, a.id, a.ns);
    expect(noPrev.code).not.toBe(0);
    expect(JSON.parse(noPrev.stdout).msg).toMatch(/prevResult/);
  });

  it('traffic leaving the cluster network is masqueraded to the node address', async () => {
    const n2 = nodes.get('n2')!;
    expect(await sourceSeenBy(n2.ns, n2.ip, 8081, pods.a!.ns)).toBe(nodes.get('n1')!.ip);
  });

  it('a third node joins: all three pods reach each other', async () => {
    const n3 = await addNode('n3', 3);
    publishPeers(['n1', 'n2', 'n3']);
    startAgent(n3);
    await waitFor('n3 subnet file', async () => existsSync(subnetFileOf(n3)));
    publishPeers(['n1', 'n2', 'n3']);
    await waitRoutes(nodes.get('n1')!, ['10.244.2.0/24', '10.244.3.0/24']);
    await waitRoutes(nodes.get('n2')!, ['10.244.1.0/24', '10.244.3.0/24']);
    await waitRoutes(n3, ['10.244.1.0/24', '10.244.2.0/24']);
    pods.c = await addPod(n3, 'pc');
    expect(await ping(pods.a!, pods.c.ip)).toBe(true);
    expect(await ping(pods.c, pods.b!.ip)).toBe(true);
    expect(await sourceSeenBy(pods.c.ns, pods.c.ip, 8080, pods.b!.ns)).toBe(pods.b!.ip);
  });

  it('a node removed from the peers file loses its FDB, neighbour and route entries everywhere', async () => {
    const n3mac = parseSubnetFile(readFileSync(subnetFileOf(nodes.get('n3')!), 'utf8')).vtepMAC;
    publishPeers(['n1', 'n2']);
    for (const name of ['n1', 'n2']) {
      const n = nodes.get(name)!;
      await waitFor(`${name} to drop n3`, async () => {
        const routes = await routesVia(n);
        const fdb = await fdbOf(n);
        const neigh = await neighOf(n);
        return !routes.includes('10.244.3.0/24') && !fdb.some((e) => e.mac === n3mac) && !neigh.includes('10.244.3.0');
      });
    }
    // ... and keeps the others.
    expect(await routesVia(nodes.get('n1')!)).toEqual(['10.244.2.0/24']);
    expect(await ping(pods.a!, pods.b!.ip)).toBe(true);
  });

  it('ADD re-creates a missing VTEP from the subnet file when no agent does', async () => {
    // n3 left the peers file, so its agent waits and leaves the device alone: only the plugin can fix it.
    const n3 = nodes.get('n3')!;
    const mac = parseSubnetFile(readFileSync(subnetFileOf(n3), 'utf8')).vtepMAC;
    await run(['ip', '-n', n3.ns, 'link', 'del', 'skiff.1']);
    pods.d = await addPod(n3, 'pd');
    const link = JSON.parse(await run(['ip', '-n', n3.ns, '-json', '-d', 'link', 'show', 'dev', 'skiff.1']))[0];
    expect(link.address).toBe(mac);
    expect(link.mtu).toBe(1450);
    expect(link.linkinfo.info_data).toMatchObject({ id: 1, port: 8472, local: n3.ip, learning: false });
  });

  it('a deleted VTEP is re-created with the same MAC and its entries', async () => {
    const n1 = nodes.get('n1')!;
    const mac = parseSubnetFile(readFileSync(subnetFileOf(n1), 'utf8')).vtepMAC;
    await run(['ip', '-n', n1.ns, 'link', 'del', 'skiff.1']);
    await waitRoutes(n1, ['10.244.2.0/24']);
    const link = JSON.parse(await run(['ip', '-n', n1.ns, '-json', 'link', 'show', 'dev', 'skiff.1']))[0];
    expect(link.address).toBe(mac);
    expect(await ping(pods.a!, pods.b!.ip)).toBe(true);
  });

  // GC is CNI 1.1.0; Debian's reference plugins (1.1.1) predate it, so this runs against ours only.
  it.skipIf(CNI_PATH !== OUR_BIN)(
    'GC (1.1.0) releases an attachment whose pod vanished and keeps the live one',
    async () => {
      const n1 = nodes.get('n1')!;
      const gone = await addPod(n1, 'pg');
      expect(ipFiles(join(n1.dir, 'ipam')).some((f) => f.endsWith(`/${gone.ip}`))).toBe(true);
      await run(['ip', 'netns', 'del', gone.ns]); // the pod dies without a DEL
      const valid = [{ containerID: pods.a!.id, ifname: 'eth0' }];
      const r = await cniRun('GC', n1, '', '', { ...netConf(n1, '1.1.0'), 'cni.dev/valid-attachments': valid });
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const left = ipFiles(join(n1.dir, 'ipam'));
      expect(left.some((f) => f.endsWith(`/${gone.ip}`))).toBe(false);
      expect(left.some((f) => f.endsWith(`/${pods.a!.ip}`))).toBe(true);
      expect(filesUnder(join(n1.dir, 'cache')).map((f) => f.split('/').pop())).toEqual([`${pods.a!.id}-eth0.json`]);
    },
  );

  it('DEL leaves no veth, IPAM file or cache entry behind, and a second DEL succeeds', async () => {
    for (const p of Object.values(pods)) {
      const del = await cni('DEL', p.node, p.id, p.ns);
      expect(del.code, del.stdout + del.stderr).toBe(0);
      const again = await cni('DEL', p.node, p.id, p.ns);
      expect(again.code, again.stdout + again.stderr).toBe(0);
    }
    for (const n of nodes.values()) {
      const ports = JSON.parse(await run(['ip', '-n', n.ns, '-json', 'link', 'show', 'master', 'cni0'])) as unknown[];
      expect(ports).toEqual([]);
      expect(ipFiles(join(n.dir, 'ipam'))).toEqual([]);
      expect(filesUnder(join(n.dir, 'cache'))).toEqual([]);
    }
    for (const p of Object.values(pods)) {
      const r = await runRaw(['ip', '-n', p.ns, 'link', 'show', 'dev', 'eth0']);
      expect(r.code).not.toBe(0);
    }
  });
});
