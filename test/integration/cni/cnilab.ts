/**
 * Shared by the CNI integration and conformance tests: the two plugin sets compared, and ways to run a
 * plugin (or a whole runtime) *inside the test's node namespace*, so every bridge, veth and nft rule a
 * plugin makes lands there and never in the root namespace.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PluginExec } from '../../../src/cni/invoke.js';
import { runRaw, type RunResult } from '../../../src/os/exec.js';
import { namedNs } from '../../../src/os/ns.js';

export const OUR_BIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../plugins/bin');
export const REF_BIN = '/usr/lib/cni';

export interface Impl {
  name: 'skiff' | 'reference';
  path: string;
}
export const IMPLS: Impl[] = [
  { name: 'skiff', path: OUR_BIN },
  { name: 'reference', path: REF_BIN },
];

/** Fail loudly (never skip) when a plugin set is missing. */
export function requirePlugins(types: string[] = ['bridge', 'host-local', 'loopback', 'portmap']): void {
  for (const impl of IMPLS) {
    for (const t of types) {
      if (!existsSync(join(impl.path, t))) {
        throw new Error(
          impl.name === 'skiff'
            ? `missing ${join(impl.path, t)}: run \`node scripts/build.mjs\``
            : `missing ${join(impl.path, t)}: install containernetworking-plugins (scripts/setup.sh)`,
        );
      }
    }
  }
}

const BASE_ENV = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };

/** Run one plugin inside netns `node` with CNI env vars and stdin. */
export function callPlugin(
  node: string,
  plugin: string,
  env: Record<string, string>,
  stdin: string,
): Promise<RunResult> {
  return runRaw([plugin], { ns: namedNs(node), env: { ...BASE_ENV, ...env }, input: stdin, timeoutMs: 60_000 });
}

/** A PluginExec for CniRuntime that runs every plugin inside netns `node`. */
export function nodeExec(node: string): PluginExec {
  return { exec: (path, env, stdin) => callPlugin(node, path, env, stdin) };
}

/** Run at most `limit` tasks at once; results in input order. */
export async function bounded<T>(items: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(items);
  let next = 0;
  const worker = async () => {
    while (next < items) {
      const i = next++;
      out[i] = await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items) }, worker));
  return out;
}

/** A TCP echo server (socat) in a namespace; killed by the returned stop(). */
export function echoServer(ns: string, port: number): { proc: ChildProcess; stop: () => void } {
  const proc = spawn('ip', ['netns', 'exec', ns, 'socat', `TCP-LISTEN:${port},reuseaddr,fork`, 'EXEC:cat'], {
    stdio: 'ignore',
  });
  return {
    proc,
    stop: () => {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    },
  };
}

/** Send `text` over TCP from ns and return what came back; retried (bounded) while the server starts. */
export async function tcpEcho(ns: string, host: string, port: number, text: string, attempts = 20): Promise<string> {
  let last = '';
  for (let i = 0; i < attempts; i++) {
    const r = await runRaw(['socat', '-T2', '-', `TCP:${host}:${port},connect-timeout=2`], {
      ns: namedNs(ns),
      input: `${text}\n`,
      timeoutMs: 10_000,
    });
    if (r.code === 0 && r.stdout.trim() === text) return r.stdout.trim();
    last = r.stderr.trim() || r.stdout.trim();
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`tcp ${host}:${port} from ${ns}: no echo after ${attempts} attempts: ${last}`);
}

export async function ping(ns: string, host: string): Promise<boolean> {
  const r = await runRaw(['ping', '-c', '1', '-W', '2', host], { ns: namedNs(ns), timeoutMs: 10_000 });
  return r.code === 0;
}
