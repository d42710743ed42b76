import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, runRaw } from '../../../src/os/exec.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { KUBECTL, SKIFF, requireKubectlAndBuild, until } from '../apiserver/server.js';

/**
 * The proxy's lifecycle as a process (`skiff proxy`, issue 10.10): the API server and the proxy run in one
 * node namespace; a Service and its EndpointSlice are written with the real kubectl. A proxy starting in
 * one mode removes what the other mode left (kube-proxy's CleanupLeftovers); SIGTERM ends a proxy within
 * seconds and leaves its datapath; `--cleanup` removes it, in both modes.
 */
const lab = new Lab('plc');
let ns = '';
let kubeconfig = '';
const procs: ChildProcess[] = [];

function start(argv: string[]): { proc: ChildProcess; log: () => string; exited: Promise<number | null> } {
  const out: string[] = [];
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, SKIFF, ...argv], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, SKIFF_LOG_FORMAT: 'json', SKIFF_LOG_LEVEL: 'info' },
  });
  proc.stdout!.on('data', (d: Buffer) => out.push(d.toString()));
  proc.stderr!.on('data', (d: Buffer) => out.push(d.toString()));
  procs.push(proc);
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, log: () => out.join('').slice(-3000), exited };
}

const tables = async () => (await run(['ip', 'netns', 'exec', ns, 'nft', 'list', 'tables'])).trim();

function proxy(mode: string, ...extra: string[]) {
  return start([
    'proxy',
    '--kubeconfig',
    kubeconfig,
    '--node-name',
    'n1',
    '--mode',
    mode,
    '--metrics-port',
    '0',
    '--min-sync-period',
    '0',
    ...extra,
  ]);
}

/** Start a proxy, wait for its table to hold the Service, SIGTERM it; returns how long the exit took. */
async function runAndTerm(mode: string, table: string): Promise<number> {
  const p = proxy(mode);
  await until(`the ${mode} proxy to program the Service`, 60_000, async () => {
    if (p.proc.exitCode !== null) throw new Error(`proxy exited: ${p.log()}`);
    if (!/proxy running/.test(p.log())) return undefined;
    const r = await runRaw(['ip', 'netns', 'exec', ns, 'nft', 'list', 'table', 'ip', table]);
    return r.stdout.includes('10.96.5.5') || undefined;
  });
  const t0 = Date.now();
  p.proc.kill('SIGTERM');
  const code = await Promise.race([p.exited, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 15_000))]);
  expect(code, p.log()).toBe(0);
  return Date.now() - t0;
}

describe('skiff proxy lifecycle', () => {
  beforeAll(async () => {
    requireRootAndTools(['ip', 'nft']);
    requireKubectlAndBuild();
    ns = await lab.netns('n1');
    const dir = lab.tmpdir();
    kubeconfig = join(dir, 'admin.kubeconfig');
    lab.onCleanup(() => {
      for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    });
    const api = start(['apiserver', '--state-dir', dir, '--port', '0']);
    await until('the API server', 60_000, () => {
      if (api.proc.exitCode !== null) throw new Error(`apiserver exited: ${api.log()}`);
      return /listening on https/.test(api.log()) || undefined;
    });
    const manifest = `apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec: {clusterIP: 10.96.5.5, ports: [{name: http, port: 80, targetPort: 8080}]}
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {name: web-1, namespace: default, labels: {kubernetes.io/service-name: web}}
addressType: IPv4
ports: [{name: http, port: 8080, protocol: TCP}]
endpoints: [{addresses: [10.244.9.9], conditions: {ready: true}}]
`;
    await run(['ip', 'netns', 'exec', ns, KUBECTL, '--kubeconfig', kubeconfig, 'apply', '-f', '-'], {
      input: manifest,
      timeoutMs: 30_000,
    });
  }, 120_000);

  afterAll(async () => {
    await lab.cleanup();
  });

  it('each mode removes the other mode’s leftovers; SIGTERM ends the proxy within seconds', async () => {
    const nftMs = await runAndTerm('nftables', 'skiff');
    // like kube-proxy, a stopped proxy leaves its datapath: Services keep working across a restart
    expect(await tables()).toContain('table ip skiff');
    const usMs = await runAndTerm('userspace', 'skiff-userspace');
    expect(await tables()).not.toContain('table ip skiff\n');
    expect(await tables()).toMatch(/table ip skiff-userspace$/m);
    await runAndTerm('nftables', 'skiff');
    expect(await tables()).not.toContain('skiff-userspace');
    console.log(`SIGTERM to exit: nftables ${nftMs} ms, userspace ${usMs} ms`);
  }, 180_000);

  it.each([
    ['nftables', 'skiff'],
    ['userspace', 'skiff-userspace'],
  ])(
    '--cleanup removes what %s mode installed',
    async (mode, table) => {
      await runAndTerm(mode, table);
      expect(await tables()).toMatch(new RegExp(`table ip ${table}$`, 'm'));
      const c = proxy(mode, '--cleanup');
      expect(await c.exited, c.log()).toBe(0);
      expect(await tables()).not.toMatch(new RegExp(`table ip ${table}$`, 'm'));
    },
    120_000,
  );
});
