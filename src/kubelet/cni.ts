import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * The kubelet's pod-network seam. `ExecCniNetwork` runs a conflist chain the way libcni does (ADD in order
 * threading prevResult, DEL in reverse with the cached result, a result cache per attachment so DEL after a
 * restart has the original config and result, and GC = DEL of every cached attachment that is not valid).
 * It works with our plugins (plugins/bin) and the reference ones (/usr/lib/cni) alike.
 */
export interface Attachment {
  containerId: string;
  ifName: string;
}

export interface PodNetwork {
  add(att: Attachment, netnsPath: string, cniArgs: Record<string, string>): Promise<{ ips: string[] }>;
  del(att: Attachment, netnsPath: string): Promise<void>;
  /** Remove every attachment not in `valid` (cached ones); returns the ones removed. */
  gc(valid: Attachment[]): Promise<Attachment[]>;
  cached(): Attachment[];
}

const conflistSchema = z
  .object({
    cniVersion: z.string(),
    name: z.string(),
    plugins: z.array(z.object({ type: z.string() }).passthrough()).min(1),
  })
  .passthrough();
type Conflist = z.infer<typeof conflistSchema>;

/** First .conflist/.conf/.json in the directory by name, as libcni picks the default network. */
export function loadConfList(dir: string): Conflist | undefined {
  if (!existsSync(dir)) return undefined;
  const files = readdirSync(dir).filter((f) => /\.(conflist|conf|json)$/.test(f)).sort();
  for (const f of files) {
    const raw = JSON.parse(readFileSync(join(dir, f), 'utf8')) as Record<string, unknown>;
    if (!Array.isArray(raw.plugins)) {
      // single-plugin .conf → a one-element list
      const { cniVersion, name, ...plugin } = raw;
      return conflistSchema.parse({ cniVersion, name, plugins: [plugin] });
    }
    return conflistSchema.parse(raw);
  }
  return undefined;
}

const cacheSchema = z.object({
  kind: z.literal('cniCacheV1'),
  containerId: z.string(),
  ifName: z.string(),
  networkName: z.string(),
  config: z.string(),
  result: z.record(z.unknown()).optional(),
  netns: z.string().optional(),
});
type CacheEntry = z.infer<typeof cacheSchema>;

interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

function execPlugin(bin: string, env: Record<string, string>, stdin: string, timeoutMs = 60_000): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [], { env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin);
  });
}

export class CniPluginError extends Error {
  constructor(
    readonly plugin: string,
    readonly code: number,
    message: string,
  ) {
    super(`CNI ${plugin}: ${message}`);
    this.name = 'CniPluginError';
  }
}

export class ExecCniNetwork implements PodNetwork {
  constructor(
    private readonly confDir: string,
    private readonly binDirs: string[],
    private readonly cacheDir: string,
  ) {
    mkdirSync(join(cacheDir, 'results'), { recursive: true });
  }

  private cacheFile(list: string, att: Attachment): string {
    return join(this.cacheDir, 'results', `${list}-${att.containerId}-${att.ifName}`);
  }

  private findPlugin(type: string): string {
    for (const d of this.binDirs) {
      const p = join(d, type);
      if (existsSync(p)) return p;
    }
    throw new CniPluginError(type, 50, `plugin "${type}" not found in ${this.binDirs.join(':')}`);
  }

  private async invoke(cmd: 'ADD' | 'DEL' | 'CHECK', list: Conflist, plugin: Record<string, unknown>, att: Attachment, netns: string, prevResult: unknown, args: Record<string, string>): Promise<Record<string, unknown> | undefined> {
    const type = String(plugin.type);
    const conf: Record<string, unknown> = { ...plugin, cniVersion: list.cniVersion, name: list.name };
    if (prevResult) conf.prevResult = prevResult;
    const env: Record<string, string> = {
      CNI_COMMAND: cmd,
      CNI_CONTAINERID: att.containerId,
      CNI_NETNS: netns,
      CNI_IFNAME: att.ifName,
      CNI_PATH: this.binDirs.join(':'),
      CNI_ARGS: Object.entries(args).map(([k, v]) => `${k}=${v}`).join(';'),
    };
    const res = await execPlugin(this.findPlugin(type), env, JSON.stringify(conf));
    if (res.code !== 0) {
      let msg = res.stderr.trim() || res.stdout.trim();
      let code = res.code;
      try {
        const e = JSON.parse(res.stdout) as { code?: number; msg?: string; details?: string };
        code = e.code ?? code;
        msg = [e.msg, e.details].filter(Boolean).join(': ') || msg;
      } catch {
        /* not JSON */
      }
      throw new CniPluginError(type, code, `${cmd} failed (code ${code}): ${msg}`);
    }
    if (cmd !== 'ADD' || !res.stdout.trim()) return undefined;
    return JSON.parse(res.stdout) as Record<string, unknown>;
  }

  private list(): Conflist {
    const list = loadConfList(this.confDir);
    if (!list) throw new CniPluginError('config', 7, `no network configuration in ${this.confDir} yet`);
    return list;
  }

  async add(att: Attachment, netns: string, cniArgs: Record<string, string>): Promise<{ ips: string[] }> {
    const list = this.list();
    let prev: Record<string, unknown> | undefined;
    for (const plugin of list.plugins) {
      prev = (await this.invoke('ADD', list, plugin, att, netns, prev, cniArgs)) ?? prev;
    }
    const entry: CacheEntry = {
      kind: 'cniCacheV1',
      containerId: att.containerId,
      ifName: att.ifName,
      networkName: list.name,
      config: Buffer.from(JSON.stringify(list)).toString('base64'),
      result: prev,
      netns,
    };
    const file = this.cacheFile(list.name, att);
    writeFileSync(`${file}.tmp`, JSON.stringify(entry));
    renameSync(`${file}.tmp`, file);
    const ips = ((prev?.ips as { address?: string }[] | undefined) ?? [])
      .map((i) => i.address?.split('/')[0])
      .filter((a): a is string => !!a);
    return { ips };
  }

  private readCache(): { file: string; entry: CacheEntry }[] {
    const dir = join(this.cacheDir, 'results');
    if (!existsSync(dir)) return [];
    const out: { file: string; entry: CacheEntry }[] = [];
    for (const f of readdirSync(dir)) {
      if (f.endsWith('.tmp')) continue;
      try {
        out.push({ file: join(dir, f), entry: cacheSchema.parse(JSON.parse(readFileSync(join(dir, f), 'utf8'))) });
      } catch {
        /* unreadable cache entry: ignore, GC cannot act on it */
      }
    }
    return out;
  }

  cached(): Attachment[] {
    return this.readCache().map(({ entry }) => ({ containerId: entry.containerId, ifName: entry.ifName }));
  }

  async del(att: Attachment, netns: string): Promise<void> {
    const cached = this.readCache().filter(({ entry }) => entry.containerId === att.containerId && entry.ifName === att.ifName);
    // Without a cache entry, DEL with the current config (spec: DEL must tolerate missing state).
    const targets = cached.length > 0
      ? cached.map(({ file, entry }) => ({ file, list: conflistSchema.parse(JSON.parse(Buffer.from(entry.config, 'base64').toString('utf8'))), prev: entry.result }))
      : (() => {
          const l = loadConfList(this.confDir);
          return l ? [{ file: undefined as string | undefined, list: l, prev: undefined as Record<string, unknown> | undefined }] : [];
        })();
    for (const t of targets) {
      for (const plugin of [...t.list.plugins].reverse()) {
        await this.invoke('DEL', t.list, plugin, att, netns, t.prev, {});
      }
      if (t.file) rmSync(t.file, { force: true });
    }
  }

  async gc(valid: Attachment[]): Promise<Attachment[]> {
    const keep = new Set(valid.map((a) => `${a.containerId}/${a.ifName}`));
    const removed: Attachment[] = [];
    for (const { entry } of this.readCache()) {
      const att = { containerId: entry.containerId, ifName: entry.ifName };
      if (keep.has(`${att.containerId}/${att.ifName}`)) continue;
      await this.del(att, entry.netns ?? '');
      removed.push(att);
    }
    return removed;
  }
}
