import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runRaw } from '../../os/exec.js';
import { deleteAddr, getAddrs, getLink } from '../../os/net.js';
import { namedNs, nsFromPath } from '../../os/ns.js';
import { listQdiscs, type TcQdisc } from '../../os/tc.js';
import { addNetns, delNetns, listNetns, netnsPath } from '../../os/netns.js';
import { findInPath, type PluginExec } from '../invoke.js';
import { CniRuntime } from '../runtime/runtime.js';
import { SUPPORTED_VERSIONS } from '../spec/version.js';
import { type LoadedList, parseConfList } from '../runtime/config.js';
import type { CallObserver, Harness, RawOutcome } from './types.js';
import { nodeSnapshot } from './snapshot.js';

/**
 * The throwaway world a conformance run works in: a "node" namespace where every plugin runs (so bridges,
 * veths and rules land there, never in the caller's namespace), pod namespaces per case, and temporary
 * IPAM and cache directories; `close()` removes all of it, also after a failure.
 */
const BASE_ENV = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };

export interface HarnessOptions {
  path: string[];
  /** the conflist under test, already rendered, with any host-local `dataDir` pointing into `ipamDir` */
  network: (ipamDir: string) => LoadedList;
  concurrency: number;
  /** run the network at the highest version the main plugin reports (the built-in network does) */
  adaptVersion?: boolean;
  /** namespace-name prefix (default skcf + random); everything with it is removed on close */
  prefix?: string;
}

export class ConformanceHarness implements Harness {
  readonly path: string[];
  readonly concurrency: number;
  readonly prefix: string;
  net!: LoadedList;
  versions: string[] = [];
  private node = '';
  private readonly tmp: string;
  private readonly ipamDir: string;
  private readonly cacheRoot: string;
  private pods = 0;
  private caches = 0;

  constructor(private readonly o: HarnessOptions) {
    this.path = o.path;
    this.concurrency = o.concurrency;
    this.prefix = o.prefix ?? `skcf${randomBytes(3).toString('hex')}`;
    this.tmp = mkdtempSync(join(tmpdir(), `${this.prefix}-`));
    this.ipamDir = join(this.tmp, 'ipam');
    this.cacheRoot = join(this.tmp, 'cache');
  }

  async open(): Promise<void> {
    this.node = `${this.prefix}-node`;
    await addNetns(this.node);
    this.net = this.o.network(this.ipamDir);
    const main = this.net.list.plugins[0]?.type as string;
    const v = await this.call(
      main,
      { CNI_COMMAND: 'VERSION' },
      JSON.stringify({ cniVersion: this.net.list.cniVersion }),
    );
    const listed = v.json?.supportedVersions;
    this.versions = Array.isArray(listed) ? listed.filter((x): x is string => typeof x === 'string') : [];
    if (this.o.adaptVersion) {
      const best = SUPPORTED_VERSIONS.filter((x) => this.versions.includes(x)).pop();
      if (best) this.net = this.atVersion(best);
    }
  }

  async close(): Promise<void> {
    for (const ns of listNetns().filter((n) => n.startsWith(`${this.prefix}-`))) await delNetns(ns).catch(() => {});
    rmSync(this.tmp, { recursive: true, force: true });
  }

  async pod(tag: string): Promise<string> {
    const name = `${this.prefix}-p${++this.pods}${tag.slice(0, 8)}`;
    await addNetns(name);
    return netnsPath(name);
  }

  podName(path: string): string {
    return path.split('/').pop() as string;
  }

  private exec(): PluginExec {
    return {
      exec: (p, env, stdin) =>
        runRaw([p], { ns: namedNs(this.node), env: { ...BASE_ENV, ...env }, input: stdin, timeoutMs: 60_000 }),
    };
  }

  async call(type: string, env: Record<string, string>, stdin: string): Promise<RawOutcome> {
    const withPath = 'CNI_PATH' in env ? env : { ...env, CNI_PATH: this.path.join(':') };
    const r = await this.exec().exec(findInPath(type, this.path), withPath, stdin);
    let json: Record<string, unknown> | undefined;
    try {
      const parsed = JSON.parse(r.stdout) as unknown;
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) json = parsed as Record<string, unknown>;
    } catch {
      json = undefined;
    }
    return {
      exit: r.code,
      stdout: r.stdout,
      stderr: r.stderr,
      json,
      code: typeof json?.code === 'number' && r.code !== 0 ? json.code : undefined,
    };
  }

  mainConf(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const { capabilities: _c, ...plugin } = this.net.list.plugins[0] as Record<string, unknown>;
    return { ...plugin, cniVersion: this.net.list.cniVersion, name: this.net.list.name, ...overrides };
  }

  runtime(observe?: CallObserver): CniRuntime {
    const base = this.exec();
    const exec: PluginExec = observe
      ? {
          exec: async (p, env, stdin) => {
            const r = await base.exec(p, env, stdin);
            observe({ type: p.split('/').pop() as string, command: env.CNI_COMMAND ?? '', stdin, stdout: r.stdout });
            return r;
          },
        }
      : base;
    return new CniRuntime({ path: this.path, cacheDir: join(this.cacheRoot, String(++this.caches)), exec });
  }

  atVersion(version: string): LoadedList {
    const { cniVersions: _v, ...rest } = this.net.list;
    return parseConfList(JSON.stringify({ ...rest, cniVersion: version }), `${this.net.file ?? 'network'}@${version}`);
  }

  snapshot(): Promise<string[]> {
    return nodeSnapshot(namedNs(this.node), { 'ipam-file': this.ipamDir, 'cache-file': this.cacheRoot });
  }

  async podAddrs(path: string, dev: string): Promise<string[] | undefined> {
    const ns = nsFromPath(path);
    if (!(await getLink(ns, dev))) return undefined;
    return (await getAddrs(ns, dev)).flatMap((l) => (l.addr_info ?? []).map((a) => `${a.local}/${a.prefixlen}`));
  }

  async podDelAddr(path: string, dev: string, cidr: string): Promise<void> {
    await deleteAddr(nsFromPath(path), dev, cidr);
  }

  nodeQdiscs(dev: string): Promise<TcQdisc[] | undefined> {
    return listQdiscs(namedNs(this.node), dev);
  }
}
