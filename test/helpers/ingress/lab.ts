/**
 * The ingress lab, shared by test/integration/ingress and bench/ingress: a server namespace with a bridge
 * (10.250.0.1/24) running the API server and `skiff ingress-controller`, backend namespaces running
 * backend.mjs (HTTP + WebSocket, answers with its name), and a client namespace. Everything is inside
 * namespaces the Lab made; kubectl runs in the server namespace, where the API server listens.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../../../src/os/exec.js';
import type { Lab } from '../lab.js';
import { until } from '../until.js';

function findRoot(from: string): string {
  for (let d = from; d !== dirname(d); d = dirname(d)) {
    const pj = join(d, 'package.json');
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'skiff') return d;
  }
  throw new Error(`cannot find the skiff repository above ${from}`);
}
export const ROOT = findRoot(dirname(fileURLToPath(import.meta.url)));
const HERE = join(ROOT, 'test/helpers/ingress');
export const SKIFF = join(ROOT, 'dist/skiff.mjs');
export const KUBECTL = '/usr/bin/kubectl';
export const CTRL_IP = '10.250.0.1';
const CLIENT_IP = '10.250.0.100';

export interface Res {
  status?: number;
  backend?: string;
  body: string;
  location?: string;
  headers?: Record<string, string>;
  err?: string;
  subject?: string;
  ms?: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  rps: number;
  p50: number | null;
  p99: number | null;
}

export { until };

export class IngressLab {
  srv = '';
  cli = '';
  dir = '';
  kubeconfig = '';
  readonly backends = new Map<string, string>();
  private readonly procs = new Map<string, ChildProcess>();
  private readonly logs = new Map<string, string[]>();

  constructor(private readonly lab: Lab) {}

  private start(name: string, ns: string, argv: string[], env: Record<string, string> = {}): ChildProcess {
    const p = spawn('ip', ['netns', 'exec', ns, ...argv], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, SKIFF_LOG_FORMAT: 'json', SKIFF_LOG_LEVEL: 'info', ...env },
    });
    const l: string[] = [];
    this.logs.set(name, l);
    p.stdout!.on('data', (d: Buffer) => l.push(d.toString()));
    p.stderr!.on('data', (d: Buffer) => l.push(d.toString()));
    this.procs.set(name, p);
    return p;
  }

  /** CPU time (user + system, ms) a lab process has used so far (`ip netns exec` execs in place: same pid). */
  cpuMs(name: string): number {
    const pid = this.procs.get(name)?.pid;
    if (!pid) return NaN;
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10; // utime + stime in 10 ms ticks (CLK_TCK 100)
  }

  logOf(name: string): string {
    return (this.logs.get(name) ?? []).join('').slice(-3000);
  }

  /** Namespaces, bridge, backends (b1..bN at 10.250.0.11..), the API server and the controller. */
  async up(opts: { backends: number; controllerArgs?: string[]; controllerNodeFlags?: string[] }): Promise<void> {
    const lab = this.lab;
    this.srv = await lab.netns('srv');
    this.cli = await lab.netns('cli');
    this.dir = lab.tmpdir();
    this.kubeconfig = join(this.dir, 'admin.kubeconfig');
    lab.onCleanup(() => {
      for (const p of this.procs.values()) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    });
    await run(['ip', '-n', this.srv, 'link', 'add', 'br0', 'type', 'bridge']);
    await run(['ip', '-n', this.srv, 'addr', 'add', `${CTRL_IP}/24`, 'dev', 'br0']);
    await run(['ip', '-n', this.srv, 'link', 'set', 'br0', 'up']);
    const attach = async (ns: string, tag: string, ip: string) => {
      await lab.veth(this.srv, `v${tag}`, ns, 'eth0');
      await run(['ip', '-n', this.srv, 'link', 'set', `v${tag}`, 'master', 'br0']);
      await run(['ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    };
    await attach(this.cli, 'cli', CLIENT_IP);
    for (let i = 1; i <= opts.backends; i++) {
      const name = `b${i}`;
      const ip = `10.250.0.${10 + i}`;
      const ns = await lab.netns(name);
      await attach(ns, name, ip);
      this.backends.set(name, ip);
      this.start(name, ns, [process.execPath, join(HERE, 'backend.mjs'), name, '8080']);
    }
    this.start('apiserver', this.srv, [process.execPath, SKIFF, 'apiserver', '--state-dir', this.dir, '--port', '0']);
    await until('the API server', 60_000, () => /listening on https/.test(this.logOf('apiserver')) || undefined);
    for (const name of this.backends.keys())
      await until(`backend ${name}`, 30_000, () => /listening/.test(this.logOf(name)) || undefined);
    await this.kubectl(['create', 'namespace', 'ingress-system']);
    await this.kubectl(
      ['apply', '-f', '-'],
      `apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: skiff
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec: {controller: skiff.dev/ingress-controller}
---
apiVersion: v1
kind: Service
metadata: {name: ingress, namespace: ingress-system}
spec:
  type: LoadBalancer
  ports: [{name: http, port: 80, targetPort: 80}, {name: https, port: 443, targetPort: 443}]
`,
    );
    // No LoadBalancer controller runs here: give the controller's Service its address by hand.
    await this.kubectl([
      '-n',
      'ingress-system',
      'patch',
      'service',
      'ingress',
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { loadBalancer: { ingress: [{ ip: '198.18.0.240' }] } } }),
    ]);
    const ctrl = this.start('controller', this.srv, [
      process.execPath,
      ...(opts.controllerNodeFlags ?? []),
      SKIFF,
      'ingress-controller',
      '--kubeconfig',
      this.kubeconfig,
      '--publish-service',
      'ingress-system/ingress',
      ...(opts.controllerArgs ?? []),
    ]);
    await until('the ingress controller', 60_000, () => {
      if (ctrl.exitCode !== null) throw new Error(`controller exited (${ctrl.exitCode})`);
      return /ingress controller serving/.test(this.logOf('controller')) || undefined;
    }).catch((e: unknown) => {
      throw new Error(`${String(e)}\ncontroller log:\n${this.logOf('controller')}`);
    });
  }

  /** SIGTERM a lab process and wait (bounded) for it to exit (a profiled process writes its profile). */
  async stop(name: string): Promise<void> {
    const p = this.procs.get(name);
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
  }

  kubectl(args: string[], input?: string): Promise<string> {
    return run(['ip', 'netns', 'exec', this.srv, KUBECTL, '--kubeconfig', this.kubeconfig, ...args], {
      input,
      timeoutMs: 30_000,
    });
  }

  async kubectlFails(args: string[], input?: string): Promise<string> {
    try {
      await this.kubectl(args, input);
    } catch (e) {
      return String(e);
    }
    throw new Error(`kubectl ${args.join(' ')} succeeded, expected a failure`);
  }

  /** Run the client script in the client namespace; it prints one JSON line. */
  async client<T = Res[]>(args: string[], timeoutMs = 90_000): Promise<T> {
    const out = await run(['ip', 'netns', 'exec', this.cli, process.execPath, join(HERE, 'client.mjs'), ...args], {
      timeoutMs,
    });
    return JSON.parse(out.trim()) as T;
  }

  get(path: string, host: string, count = 1, headers: Record<string, string> = {}): Promise<Res[]> {
    return this.client(['get', `http://${CTRL_IP}${path}`, String(count), host, JSON.stringify(headers)]);
  }

  /** A Service with a hand-written EndpointSlice over the given backends (as the EndpointSlice controller writes). */
  serviceYaml(name: string, backends: string[], opts: { portName?: string } = {}): string {
    const pn = opts.portName ?? 'http';
    const eps = backends
      .map(
        (b) =>
          `  - addresses: ["${this.backends.get(b)}"]\n    conditions: {ready: true}\n    targetRef: {kind: Pod, name: ${b}}`,
      )
      .join('\n');
    return `apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: default}
spec:
  selector: {app: ${name}}
  ports: [{name: ${pn}, port: 80, targetPort: 8080}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: ${name}-x
  namespace: default
  labels: {kubernetes.io/service-name: ${name}}
addressType: IPv4
ports: [{name: ${pn}, port: 8080, protocol: TCP}]
endpoints:${eps ? `\n${eps}` : ' []'}
`;
  }
}
