/**
 * Test helper: run the real `skiff apiserver` process (built dist) on 127.0.0.1 with a random port and a
 * temporary state directory, and run the real kubectl against it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Agent, request } from 'node:https';
import { parse } from 'yaml';
import { until } from '../../helpers/until.js';

const ROOT = resolve(import.meta.dirname, '../../..');
export const SKIFF = join(ROOT, 'dist/skiff.mjs');
export const KUBECTL = '/usr/bin/kubectl';

export function requireKubectlAndBuild(): void {
  if (!existsSync(KUBECTL))
    throw new Error(`these tests drive the real kubectl: ${KUBECTL} is missing (install kubectl 1.32)`);
  if (!existsSync(SKIFF)) throw new Error(`${SKIFF} is missing: run \`node scripts/build.mjs\` first`);
}

export interface ServerProc {
  proc: ChildProcess;
  dir: string;
  kubeconfig: string;
  url: string;
  log(): string;
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

export { until };

export async function startServer(dir: string, extra: string[] = []): Promise<ServerProc> {
  const kubeconfig = join(dir, 'admin.kubeconfig');
  const logs: string[] = [];
  const proc = spawn(process.execPath, [SKIFF, 'apiserver', '--state-dir', dir, '--port', '0', ...extra], {
    env: { ...process.env, SKIFF_LOG_FORMAT: 'json' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
  proc.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
  const log = () => logs.join('').slice(-4000);
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  // The kubeconfig is rewritten on every start: wait for this process's "listening" line.
  const url = await until('the API server to listen', 60_000, () => {
    if (proc.exitCode !== null) throw new Error(`apiserver exited (${proc.exitCode}):\n${log()}`);
    const m = /listening on (https:\/\/[^"\s]+)/.exec(logs.join(''));
    return m?.[1];
  }).catch((e: unknown) => {
    proc.kill('SIGKILL');
    throw e;
  });
  const kill = async (sig: NodeJS.Signals) => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill(sig);
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGKILL');
      await exited;
    }
  };
  return { proc, dir, kubeconfig, url, log, kill9: () => kill('SIGKILL'), stop: () => kill('SIGTERM') };
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function kubectl(s: ServerProc, args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolvePromise) => {
    const child = execFile(
      KUBECTL,
      ['--kubeconfig', s.kubeconfig, '--cache-dir', join(s.dir, 'kubectl-cache'), ...args],
      { timeout: 30_000 },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        resolvePromise({ code, stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

const agents = new Map<string, Agent>();
/** One keep-alive agent per CA, with few sockets, so bursts of requests do not pay a TLS handshake each. */
function agentFor(s: ServerProc): Agent {
  const kc = parse(readFileSync(s.kubeconfig, 'utf8')) as {
    clusters: { cluster: { 'certificate-authority-data': string } }[];
  };
  const caData = kc.clusters[0]!.cluster['certificate-authority-data'];
  let a = agents.get(caData);
  if (!a) {
    a = new Agent({ ca: Buffer.from(caData, 'base64'), keepAlive: true, maxSockets: 8 });
    agents.set(caData, a);
  }
  return a;
}

/** A raw HTTPS request with the cluster CA and an optional token. */
export function rawRequest(
  s: ServerProc,
  method: string,
  path: string,
  opts: { token?: string; body?: string | Buffer; contentType?: string } = {},
): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const u = new URL(path, s.url);
  return new Promise((res, rej) => {
    const req = request(
      u,
      {
        method,
        agent: agentFor(s),
        headers: {
          ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}),
          // Content-Length always: node frames no body of a DELETE by itself (kubectl sends the length too).
          ...(opts.body !== undefined
            ? { 'Content-Type': opts.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(opts.body) }
            : {}),
        },
      },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () =>
          res({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString(), headers: r.headers }),
        );
      },
    );
    req.on('error', rej);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export function tokenOf(kubeconfigPath: string): string {
  const kc = parse(readFileSync(kubeconfigPath, 'utf8')) as { users: { user: { token: string } }[] };
  return kc.users[0]!.user.token;
}
