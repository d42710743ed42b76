/**
 * Runs a private single-member etcd (Debian's `etcd` 3.4 binary) on 127.0.0.1 with free ports and a given
 * data dir: for tests, the API server benchmark and local experiments. Nothing listens beyond loopback.
 */
import type { ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { spawnProgram } from '../os/process.js';
import { createLogger } from '../util/log.js';
import { StoreError } from './types.js';

const log = createLogger('etcd-server');

export interface EtcdServer {
  /** client URL, e.g. http://127.0.0.1:41234 */
  endpoint: string;
  pid: number;
  stop(): Promise<void>;
}

/** A port the kernel just handed out on 127.0.0.1 (closed again before etcd binds it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startEtcd(opts: {
  dataDir: string;
  /** member name; tests pass their run prefix so a leftover process is recognisable */
  name?: string;
  binary?: string;
  readyTimeoutMs?: number;
}): Promise<EtcdServer> {
  const name = opts.name ?? 'skiff';
  const clientPort = await freePort();
  const peerPort = await freePort();
  const client = `http://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const args = [
    '--name',
    name,
    '--data-dir',
    opts.dataDir,
    '--listen-client-urls',
    client,
    '--advertise-client-urls',
    client,
    '--listen-peer-urls',
    peer,
    '--initial-advertise-peer-urls',
    peer,
    '--initial-cluster',
    `${name}=${peer}`,
    '--initial-cluster-state',
    'new',
    '--logger',
    'zap',
    '--log-level',
    'error',
  ];
  const child = spawnProgram([opts.binary ?? 'etcd', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 8192) stderr += d.toString();
  });
  const spawnError = new Promise<never>((_, reject) =>
    child.once('error', (err) => reject(new StoreError(`cannot start etcd: ${err.message}`))),
  );
  spawnError.catch(() => undefined);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited(child);
    clearTimeout(timer);
  };
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new StoreError(
        `etcd exited during start (${child.exitCode ?? child.signalCode}): ${stderr.trim().slice(-500)}`,
      );
    }
    try {
      const res = await Promise.race([fetch(`${client}/health`, { signal: AbortSignal.timeout(1000) }), spawnError]);
      const body = (await res.json()) as { health?: string };
      if (body.health === 'true') break;
    } catch (err) {
      if (err instanceof StoreError) throw err;
    }
    if (Date.now() > deadline) {
      await stop();
      throw new StoreError(
        `etcd did not become healthy within ${opts.readyTimeoutMs ?? 20_000} ms: ${stderr.trim().slice(-500)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  log.debug({ endpoint: client, pid: child.pid }, 'etcd ready');
  return { endpoint: client, pid: child.pid!, stop };
}
