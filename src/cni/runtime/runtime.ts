import { CniCode, CniError } from '../errors.js';
import { execPlugin, findInPath, type InvokeCommand, type PluginExec, spawnExec } from '../invoke.js';
import { convertResult, parseResult } from '../spec/convert.js';
import {
  type Attachment,
  type NetConfList,
  type PluginEntry,
  type Result,
  VALID_ATTACHMENTS_KEY,
} from '../spec/types.js';
import { versionAtLeast } from '../spec/version.js';
import { type CacheEntry, DEFAULT_CACHE_DIR, ResultCache } from './cache.js';
import { type LoadedList, parseConfList } from './config.js';

/**
 * A libcni-like runtime: runs a network's plugin chain for one attachment. ADD in list order threading
 * prevResult, DEL in reverse order (with the cached result and config when there is one), CHECK, GC
 * (cni.dev/valid-attachments) and STATUS. Plugins are found on `path` and started through `exec`.
 */
export interface RuntimeConf {
  containerId: string;
  /** Path of the pod's network namespace. */
  netns: string;
  ifname: string;
  /** CNI_ARGS pairs. */
  args?: [string, string][];
  /** Capability args (portMappings, ...) handed to plugins that declare the capability. */
  capabilityArgs?: Record<string, unknown>;
}

export interface CniRuntimeOptions {
  path: string[];
  cacheDir?: string;
  exec?: PluginExec;
}

export class CniRuntime {
  readonly cache: ResultCache;
  private readonly exec: PluginExec;

  constructor(private readonly opts: CniRuntimeOptions) {
    this.cache = new ResultCache(opts.cacheDir ?? DEFAULT_CACHE_DIR);
    this.exec = opts.exec ?? spawnExec;
  }

  /** The config one plugin of the list receives (libcni's buildOneConfig). */
  pluginConf(list: NetConfList, plugin: PluginEntry, rt: RuntimeConf, prevResult?: Result): Record<string, unknown> {
    const { capabilities, ...rest } = plugin;
    const conf: Record<string, unknown> = { ...rest, cniVersion: list.cniVersion, name: list.name };
    const runtimeConfig: Record<string, unknown> = {};
    for (const [cap, on] of Object.entries(capabilities ?? {})) {
      if (on && rt.capabilityArgs && cap in rt.capabilityArgs) runtimeConfig[cap] = rt.capabilityArgs[cap];
    }
    if (Object.keys(runtimeConfig).length) conf.runtimeConfig = runtimeConfig;
    else delete conf.runtimeConfig;
    if (prevResult) conf.prevResult = convertResult(prevResult, list.cniVersion);
    return conf;
  }

  private async run(
    command: InvokeCommand,
    list: NetConfList,
    plugin: PluginEntry,
    rt: RuntimeConf,
    prev?: Result,
  ): Promise<Result | undefined> {
    const pluginPath = findInPath(plugin.type, this.opts.path);
    return execPlugin(
      pluginPath,
      this.pluginConf(list, plugin, rt, prev),
      {
        command,
        containerId: rt.containerId,
        netns: rt.netns,
        ifname: rt.ifname,
        args: Object.fromEntries(rt.args ?? []),
        path: this.opts.path,
      },
      this.exec,
    );
  }

  async addNetworkList(loaded: LoadedList, rt: RuntimeConf): Promise<Result> {
    const { list } = loaded;
    let prev: Result | undefined;
    for (const p of list.plugins) {
      prev = await this.run('ADD', list, p, rt, prev);
      if (!prev) throw new CniError(CniCode.Unknown, `plugin ${p.type} returned no result`);
    }
    const result = prev as Result;
    this.cache.write(this.entry(loaded, rt, result));
    return result;
  }

  private entry(loaded: LoadedList, rt: RuntimeConf, result: Result): CacheEntry {
    return {
      kind: 'cniCacheV1',
      containerId: rt.containerId,
      ifName: rt.ifname,
      networkName: loaded.list.name,
      netns: rt.netns,
      cniArgs: rt.args ?? [],
      capabilityArgs: rt.capabilityArgs ?? {},
      config: Buffer.from(loaded.bytes).toString('base64'),
      result: convertResult(result, loaded.list.cniVersion),
    };
  }

  /** The cached result (in the 1.x shape) of an attachment, if any. */
  getCachedResult(
    network: string,
    rt: Pick<RuntimeConf, 'containerId' | 'ifname'>,
  ): { result?: Result; entry: CacheEntry } | undefined {
    const e = this.cache.read(network, rt.containerId, rt.ifname);
    if (!e) return undefined;
    return { entry: e, result: e.result ? parseCached(e.result, '1.0.0') : undefined };
  }

  /**
   * DEL in reverse order. Uses the cached config (and capability args) when the attachment is cached, so a
   * DEL after a restart or a config change undoes what the ADD did; succeeds when nothing is left.
   */
  async delNetworkList(loaded: LoadedList, rt: RuntimeConf): Promise<void> {
    const cached = this.getCachedResult(loaded.list.name, rt);
    let list = loaded.list;
    let conf = rt;
    if (cached) {
      try {
        list = parseConfList(Buffer.from(cached.entry.config, 'base64').toString('utf8'), 'cache').list;
      } catch {
        /* unreadable cached config: fall back to the current one */
      }
      conf = { ...rt, capabilityArgs: rt.capabilityArgs ?? cached.entry.capabilityArgs };
    }
    const prev = cached?.result;
    for (const p of [...list.plugins].reverse()) await this.run('DEL', list, p, conf, prev);
    this.cache.remove(loaded.list.name, rt.containerId, rt.ifname);
  }

  async checkNetworkList(loaded: LoadedList, rt: RuntimeConf): Promise<void> {
    const { list } = loaded;
    if (!versionAtLeast(list.cniVersion, '0.4.0'))
      throw new CniError(
        CniCode.IncompatibleVersion,
        `CHECK needs cniVersion 0.4.0 or later, network has ${list.cniVersion}`,
      );
    if (list.disableCheck) return;
    const cached = this.getCachedResult(list.name, rt);
    if (!cached?.result)
      throw new CniError(CniCode.UnknownContainer, `no cached result for ${list.name}/${rt.containerId}/${rt.ifname}`);
    const prev = cached.result;
    for (const p of list.plugins)
      await this.run(
        'CHECK',
        list,
        p,
        { ...rt, capabilityArgs: rt.capabilityArgs ?? cached.entry.capabilityArgs },
        prev,
      );
  }

  /**
   * GC: DEL every cached attachment of this network that is not in `valid`, then (1.1.0+) send GC with
   * cni.dev/valid-attachments to each plugin so it drops anything else it holds.
   */
  async gcNetworkList(loaded: LoadedList, valid: Attachment[]): Promise<void> {
    const { list } = loaded;
    if (list.disableGC) return;
    const keep = new Set(valid.map((a) => `${a.containerID}\n${a.ifname}`));
    const errors: string[] = [];
    for (const e of this.cache.list(list.name)) {
      if (keep.has(`${e.containerId}\n${e.ifName}`)) continue;
      try {
        await this.delNetworkList(loaded, {
          containerId: e.containerId,
          ifname: e.ifName,
          netns: e.netns ?? '',
          args: e.cniArgs,
          capabilityArgs: e.capabilityArgs,
        });
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (versionAtLeast(list.cniVersion, '1.1.0')) {
      for (const p of list.plugins) {
        const conf = this.pluginConf(list, p, { containerId: '', netns: '', ifname: '' });
        conf[VALID_ATTACHMENTS_KEY] = valid;
        try {
          await execPlugin(
            findInPath(p.type, this.opts.path),
            conf,
            { command: 'GC', path: this.opts.path },
            this.exec,
          );
        } catch (err) {
          errors.push((err as Error).message);
        }
      }
    }
    if (errors.length) throw new CniError(CniCode.Unknown, `GC of ${list.name}: ${errors.join('; ')}`);
  }

  /** STATUS (1.1.0+): resolves when every plugin of the list says it can serve ADDs. */
  async getStatusNetworkList(loaded: LoadedList): Promise<void> {
    const { list } = loaded;
    if (!versionAtLeast(list.cniVersion, '1.1.0')) return;
    for (const p of list.plugins) {
      await execPlugin(
        findInPath(p.type, this.opts.path),
        this.pluginConf(list, p, { containerId: '', netns: '', ifname: '' }),
        { command: 'STATUS', path: this.opts.path },
        this.exec,
      );
    }
  }
}

function parseCached(raw: unknown, version: string): Result | undefined {
  try {
    // stored at the list's version; parse back into the 1.x shape
    const r = raw as { cniVersion?: string };
    return parseResult(raw, r.cniVersion ?? version);
  } catch {
    return undefined;
  }
}
