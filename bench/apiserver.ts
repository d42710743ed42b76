/**
 * API server / store latency benchmark.
 *
 *   node dist/bench/apiserver.mjs [--mode auto|apiserver|store] [--ops 500] [--levels 1,8,32]
 *                                 [--backends sqlite,etcd] [--json FILE]
 *
 * apiserver mode: starts `skiff apiserver` on 127.0.0.1 (a free port, a temporary state dir) once per backend
 * (sqlite, then etcd with a private etcd on 127.0.0.1), and drives ConfigMaps in namespace "default" over
 * HTTPS with the admin kubeconfig's token and CA. store mode: the same operations straight against the store
 * backends (no HTTP, no JSON decoding of objects), to separate the store's share of the latency.
 * auto (default): apiserver when `skiff apiserver --help` works, else store (and says so).
 *
 * For each backend and concurrency level (workers running in parallel), `--ops` operations of each kind:
 *   create  a new object;  get  a random existing object;  list  one page (limit=100) of the collection;
 *   watch   time from sending an update until a watcher (opened before) receives its event.
 * Prints p50/p90/p99 and throughput per row. Every request has a timeout; every process and temp dir made
 * here is removed at exit, also on failure.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { runRaw } from '../src/os/exec.js';
import { spawnProgram } from '../src/os/process.js';
import { createBackend } from '../src/store/index.js';
import { freePort, startEtcd, type EtcdServer } from '../src/store/etcd-server.js';
import type { StoreBackend, Watch } from '../src/store/types.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const skiffCli = join(root, 'dist/skiff.mjs');
const REQUEST_TIMEOUT_MS = 15_000;
const DELIVERY_TIMEOUT_MS = 60_000;

type Op = 'create' | 'get' | 'list' | 'watch';

/** What a benchmark drives: the API server over HTTPS, or a store backend directly. */
interface Target {
  create(name: string): Promise<void>;
  get(name: string): Promise<void>;
  list(): Promise<void>;
  update(name: string, seq: number): Promise<void>;
  /** Opens a watch; `onEvent(name, seq)` for every modification seen. Resolves once the watch is established. */
  watch(onEvent: (name: string, seq: number) => void): Promise<() => void>;
  close(): Promise<void>;
}

interface Row {
  mode: string;
  backend: string;
  concurrency: number;
  op: Op;
  n: number;
  p50: number;
  p90: number;
  p99: number;
  opsPerSec: number;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

/** Runs `n` jobs on `concurrency` workers, timing each; returns latencies (ms) and wall time. */
async function timed(
  n: number,
  concurrency: number,
  job: (i: number) => Promise<void>,
): Promise<{ lat: number[]; wallMs: number }> {
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= n) return;
        const s = performance.now();
        await job(i);
        lat.push(performance.now() - s);
      }
    }),
  );
  return { lat, wallMs: performance.now() - t0 };
}

function row(mode: string, backend: string, concurrency: number, op: Op, lat: number[], wallMs: number): Row {
  const s = [...lat].sort((a, b) => a - b);
  return {
    mode,
    backend,
    concurrency,
    op,
    n: s.length,
    p50: percentile(s, 50),
    p90: percentile(s, 90),
    p99: percentile(s, 99),
    opsPerSec: (s.length / wallMs) * 1000,
  };
}

async function runLevel(mode: string, backend: string, t: Target, concurrency: number, ops: number): Promise<Row[]> {
  const rows: Row[] = [];
  const names = Array.from({ length: ops }, (_, i) => `bench-c${concurrency}-${i}`);
  const c = await timed(ops, concurrency, (i) => t.create(names[i]!));
  rows.push(row(mode, backend, concurrency, 'create', c.lat, c.wallMs));
  // A fixed pseudo-random order, so runs compare.
  const pick = (i: number): string => names[(i * 7919) % ops]!;
  const g = await timed(ops, concurrency, (i) => t.get(pick(i)));
  rows.push(row(mode, backend, concurrency, 'get', g.lat, g.wallMs));
  const l = await timed(ops, concurrency, () => t.list());
  rows.push(row(mode, backend, concurrency, 'list', l.lat, l.wallMs));

  // Watch delivery: each update carries a sequence number; the watcher matches it to its send time.
  const sent = new Map<string, number>();
  const delivery: number[] = [];
  let resolveAll: () => void = () => undefined;
  const allSeen = new Promise<void>((r) => (resolveAll = r));
  const stop = await t.watch((name, seq) => {
    const k = `${name}#${seq}`;
    const s = sent.get(k);
    if (s === undefined) return;
    sent.delete(k);
    delivery.push(performance.now() - s);
    if (delivery.length === ops) resolveAll();
  });
  try {
    const t0 = performance.now();
    await timed(ops, concurrency, async (i) => {
      const name = pick(i);
      sent.set(`${name}#${i + 1}`, performance.now());
      await t.update(name, i + 1);
    });
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      allSeen,
      new Promise<void>((_, rej) => {
        timer = setTimeout(
          () => rej(new Error(`watch delivered ${delivery.length} of ${ops} events within ${DELIVERY_TIMEOUT_MS} ms`)),
          DELIVERY_TIMEOUT_MS,
        );
      }),
    ]).finally(() => clearTimeout(timer));
    rows.push(row(mode, backend, concurrency, 'watch', delivery, performance.now() - t0));
  } finally {
    stop();
  }
  return rows;
}

// ---------------------------------------------------------------- store target

function storeTarget(s: StoreBackend): Target {
  const key = (name: string): string => `/registry/core/configmaps/default/${name}`;
  const value = (name: string, seq: number): string =>
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name, namespace: 'default' },
      data: { seq: String(seq) },
    });
  return {
    create: async (name) => void (await s.create(key(name), value(name, 0))),
    get: async (name) => {
      const kv = await s.get(key(name));
      if (!kv) throw new Error(`missing ${name}`);
      JSON.parse(kv.value);
    },
    list: async () => {
      const r = await s.list('/registry/core/configmaps/default/', { limit: 100 });
      for (const kv of r.items) JSON.parse(kv.value);
    },
    update: async (name, seq) => void (await s.update(key(name), value(name, seq))),
    watch: async (onEvent) => {
      const w: Watch = s.watch('/registry/core/configmaps/default/', await s.currentRevision());
      void (async () => {
        for await (const e of w) {
          if (e.type !== 'put') continue;
          const obj = JSON.parse(e.kv.value) as { metadata: { name: string }; data: { seq: string } };
          onEvent(obj.metadata.name, Number(obj.data.seq));
        }
      })().catch((err: unknown) => process.stderr.write(`watch failed: ${String(err)}\n`));
      return () => w.close();
    },
    close: () => s.close(),
  };
}

// ---------------------------------------------------------------- apiserver target

const kubeconfigSchema = z.object({
  clusters: z
    .array(z.object({ cluster: z.object({ server: z.string(), 'certificate-authority-data': z.string() }) }))
    .min(1),
  users: z.array(z.object({ user: z.object({ token: z.string() }) })).min(1),
});

interface Conn {
  base: URL;
  agent: Agent;
  token: string;
}

function loadKubeconfig(file: string, concurrency: number): Conn {
  const kc = kubeconfigSchema.parse(parseYaml(readFileSync(file, 'utf8')));
  const ca = Buffer.from(kc.clusters[0]!.cluster['certificate-authority-data'], 'base64');
  return {
    base: new URL(kc.clusters[0]!.cluster.server),
    agent: new Agent({ ca, keepAlive: true, maxSockets: concurrency + 4 }),
    token: kc.users[0]!.user.token,
  };
}

function call(
  conn: Conn,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request(
      new URL(path, conn.base),
      {
        method,
        agent: conn.agent,
        timeout: REQUEST_TIMEOUT_MS,
        headers: {
          authorization: `Bearer ${conn.token}`,
          accept: 'application/json',
          ...(data ? { 'content-type': contentType, 'content-length': Buffer.byteLength(data) } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out after ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    req.end(data);
  });
}

async function must(conn: Conn, method: string, path: string, body?: unknown, contentType?: string): Promise<string> {
  const r = await call(conn, method, path, body, contentType);
  if (r.status < 200 || r.status >= 300) throw new Error(`${method} ${path}: HTTP ${r.status} ${r.body.slice(0, 300)}`);
  return r.body;
}

const CM = '/api/v1/namespaces/default/configmaps';

function apiTarget(conn: Conn, onClose: () => Promise<void>): Target {
  return {
    create: async (name) =>
      void (await must(conn, 'POST', CM, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name },
        data: { seq: '0' },
      })),
    get: async (name) => void JSON.parse(await must(conn, 'GET', `${CM}/${name}`)),
    list: async () => void JSON.parse(await must(conn, 'GET', `${CM}?limit=100`)),
    update: async (name, seq) =>
      void (await must(conn, 'PATCH', `${CM}/${name}`, { data: { seq: String(seq) } }, 'application/merge-patch+json')),
    watch: async (onEvent) => {
      const list = JSON.parse(await must(conn, 'GET', `${CM}?limit=1`)) as { metadata: { resourceVersion: string } };
      const rv = list.metadata.resourceVersion;
      return new Promise((resolveWatch, reject) => {
        const req = request(
          new URL(`${CM}?watch=1&resourceVersion=${encodeURIComponent(rv)}&allowWatchBookmarks=false`, conn.base),
          { agent: conn.agent, headers: { authorization: `Bearer ${conn.token}`, accept: 'application/json' } },
          (res) => {
            if (res.statusCode !== 200) {
              reject(new Error(`watch: HTTP ${res.statusCode}`));
              res.resume();
              return;
            }
            let buf = '';
            res.setEncoding('utf8');
            res.on('data', (d: string) => {
              buf += d;
              for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
                const line = buf.slice(0, nl).trim();
                buf = buf.slice(nl + 1);
                if (!line) continue;
                const ev = JSON.parse(line) as {
                  type: string;
                  object?: { metadata?: { name?: string }; data?: { seq?: string } };
                };
                if (ev.type === 'MODIFIED' && ev.object?.metadata?.name)
                  onEvent(ev.object.metadata.name, Number(ev.object.data?.seq));
              }
            });
            res.on('error', () => undefined);
            resolveWatch(() => req.destroy());
          },
        );
        req.on('error', (err) => reject(err));
        req.end();
      });
    },
    close: onClose,
  };
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      res();
    });
    child.kill('SIGTERM');
  });
}

async function startApiserver(
  kind: 'sqlite' | 'etcd',
  stateDir: string,
  etcdEndpoint: string | undefined,
  concurrency: number,
): Promise<Target> {
  const port = await freePort();
  const args = [
    skiffCli,
    'apiserver',
    '--state-dir',
    stateDir,
    '--port',
    String(port),
    '--bind-address',
    '127.0.0.1',
    '--advertise-address',
    '127.0.0.1',
    '--store',
    kind,
    ...(etcdEndpoint ? ['--etcd-endpoints', etcdEndpoint] : []),
  ];
  const child = spawnProgram([process.execPath, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, SKIFF_LOG_LEVEL: 'warn' },
  });
  cleanups.push(() => stopChild(child));
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (stderr.length < 16_384) stderr += d.toString();
  });
  const kubeconfig = join(stateDir, 'admin.kubeconfig');
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`skiff apiserver exited (${child.exitCode}): ${stderr.slice(-800)}`);
    if (Date.now() > deadline) throw new Error(`skiff apiserver not ready within 60 s: ${stderr.slice(-800)}`);
    if (existsSync(kubeconfig)) {
      try {
        const conn = loadKubeconfig(kubeconfig, concurrency);
        const r = await call(conn, 'GET', '/readyz');
        if (r.status === 200) {
          // Namespaces are created at start; wait for "default" as well.
          const ns = await call(conn, 'GET', '/api/v1/namespaces/default');
          if (ns.status === 200) return apiTarget(conn, () => stopChild(child));
        }
        conn.agent.destroy();
      } catch {
        // not up yet (or kubeconfig half written)
      }
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

// ---------------------------------------------------------------- main

const cleanups: (() => Promise<void> | void)[] = [];

async function cleanup(): Promise<void> {
  for (const fn of cleanups.splice(0).reverse()) {
    try {
      await fn();
    } catch {
      // keep cleaning
    }
  }
}

async function apiserverUsable(): Promise<boolean> {
  if (!existsSync(skiffCli)) return false;
  const r = await runRaw([process.execPath, skiffCli, 'apiserver', '--help'], { timeoutMs: 20_000 });
  return r.code === 0 && /--state-dir/.test(r.stdout + r.stderr);
}

function fmt(n: number): string {
  return Number.isFinite(n) ? n.toFixed(n < 10 ? 2 : 1) : '-';
}

function printTable(rows: Row[]): void {
  const head = ['mode', 'backend', 'conc', 'op', 'n', 'p50 ms', 'p90 ms', 'p99 ms', 'ops/s'];
  const body = rows.map((r) => [
    r.mode,
    r.backend,
    String(r.concurrency),
    r.op,
    String(r.n),
    fmt(r.p50),
    fmt(r.p90),
    fmt(r.p99),
    r.opsPerSec.toFixed(0),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i < 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  process.stdout.write(`${line(head)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}\n`);
  for (const b of body) process.stdout.write(`${line(b)}\n`);
}

async function main(): Promise<void> {
  const program = new Command('bench-apiserver')
    .option('--mode <mode>', 'auto | apiserver | store', 'auto')
    .option('--ops <n>', 'operations of each kind per level', '500')
    .option('--levels <list>', 'concurrency levels', '1,8,32')
    .option('--backends <list>', 'store backends', 'sqlite,etcd')
    .option('--json <file>', 'also write the rows as JSON')
    .parse(process.argv);
  const o = program.opts<{ mode: string; ops: string; levels: string; backends: string; json?: string }>();
  const ops = Number(o.ops);
  if (!Number.isInteger(ops) || ops < 1 || ops > 100_000) throw new Error(`--ops must be 1..100000, got ${o.ops}`);
  const levels = o.levels.split(',').map(Number);
  if (levels.some((l) => !Number.isInteger(l) || l < 1 || l > 256))
    throw new Error(`--levels must be integers 1..256: ${o.levels}`);
  const backends = o.backends.split(',');
  for (const b of backends) if (b !== 'sqlite' && b !== 'etcd') throw new Error(`unknown backend ${b} (sqlite, etcd)`);
  if (!['auto', 'apiserver', 'store'].includes(o.mode)) throw new Error(`--mode must be auto, apiserver or store`);
  let mode = o.mode;
  if (mode === 'auto') {
    mode = (await apiserverUsable()) ? 'apiserver' : 'store';
    if (mode === 'store')
      process.stdout.write(
        'note: `skiff apiserver` is not usable (build it with node scripts/build.mjs); measuring the store backends directly\n',
      );
  }
  const maxConc = Math.max(...levels);
  const rows: Row[] = [];
  for (const backend of backends as ('sqlite' | 'etcd')[]) {
    const base = mkdtempSync(join(tmpdir(), `skiff-bench-${backend}-`));
    cleanups.push(() => rmSync(base, { recursive: true, force: true }));
    let etcd: EtcdServer | undefined;
    if (backend === 'etcd') {
      etcd = await startEtcd({ dataDir: join(base, 'etcd'), name: `skiff-bench-${process.pid}` });
      const e = etcd;
      cleanups.push(() => e.stop());
    }
    const target =
      mode === 'apiserver'
        ? await startApiserver(backend, join(base, 'state'), etcd?.endpoint, maxConc)
        : storeTarget(
            await createBackend(
              backend === 'sqlite'
                ? { kind: 'sqlite', dir: join(base, 'state') }
                : { kind: 'etcd', etcdEndpoints: [etcd!.endpoint], prefix: '/bench' },
            ),
          );
    try {
      for (const c of levels) {
        process.stderr.write(`${mode} ${backend}: concurrency ${c}...\n`);
        rows.push(...(await runLevel(mode, backend, target, c, ops)));
      }
    } finally {
      await target.close();
    }
  }
  printTable(rows);
  if (o.json) writeFileSync(o.json, `${JSON.stringify(rows, null, 2)}\n`);
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    void cleanup().then(() => process.exit(130));
  });
}

main()
  .then(cleanup)
  .catch(async (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? err.message : String(err)}\n`);
    await cleanup();
    process.exit(1);
  });
