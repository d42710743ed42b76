import { join } from 'node:path';
import { CniRuntime } from '../cni/runtime/index.js';
import { type PluginExec, spawnExec } from '../cni/invoke.js';
import { loadNetwork, type LoadedList } from '../cni/runtime/config.js';
import { ResultCache } from '../cni/runtime/cache.js';

/**
 * The kubelet's pod-network seam, over the libcni-like runtime (src/cni/runtime): ADD in chain order,
 * DEL in reverse with the cached config and result (so a DEL after a kubelet restart undoes exactly what
 * ADD did), and GC with the valid attachments (DEL of stale cached attachments, then the plugins' own GC
 * for cniVersion 1.1.0 networks). Works with our plugins and the reference ones alike.
 */
export interface Attachment {
  containerId: string;
  ifName: string;
}

export interface PodNetwork {
  add(
    att: Attachment,
    netnsPath: string,
    cniArgs: Record<string, string>,
    capabilityArgs?: Record<string, unknown>,
  ): Promise<{ ips: string[] }>;
  del(att: Attachment, netnsPath: string): Promise<void>;
  /** Remove every attachment not in `valid`; returns the cached ones that were removed. */
  gc(valid: Attachment[]): Promise<Attachment[]>;
}

/** The variable skiff's plugin prelude reads to find the node's resident helper (src/cni/shim.sh). */
export const CNI_SOCKET_ENV = 'SKIFF_CNI_SOCKET';

/**
 * Plugin exec that also hands every plugin the node's skiff-cnid socket. Harmless for other plugins (an
 * unknown variable); skiff's plugins relay to the daemon when it serves this netns, else run themselves.
 */
function socketExec(socket: string, base: PluginExec = spawnExec): PluginExec {
  return { exec: (path, env, stdin) => base.exec(path, { ...env, [CNI_SOCKET_ENV]: socket }, stdin) };
}

export interface RuntimeCniOptions {
  /** the node's skiff-cnid socket, passed to plugins as SKIFF_CNI_SOCKET */
  socket?: string;
  /** how plugins are started (default: spawn) */
  exec?: PluginExec;
}

export class RuntimeCniNetwork implements PodNetwork {
  private readonly runtime: CniRuntime;
  private readonly cache: ResultCache;

  constructor(
    private readonly confDir: string,
    binDirs: string[],
    cacheDir: string,
    opts: RuntimeCniOptions = {},
  ) {
    const base = opts.exec ?? spawnExec;
    // libcni keeps results under <cache>/results
    this.runtime = new CniRuntime({
      path: binDirs,
      cacheDir: join(cacheDir, 'results'),
      exec: opts.socket ? socketExec(opts.socket, base) : base,
    });
    this.cache = this.runtime.cache;
  }

  private network(): LoadedList {
    return loadNetwork(this.confDir);
  }

  async add(
    att: Attachment,
    netns: string,
    cniArgs: Record<string, string>,
    capabilityArgs?: Record<string, unknown>,
  ): Promise<{ ips: string[] }> {
    const result = await this.runtime.addNetworkList(this.network(), {
      containerId: att.containerId,
      ifname: att.ifName,
      netns,
      args: Object.entries(cniArgs),
      capabilityArgs,
    });
    const ips = (result.ips ?? []).map((i) => i.address.split('/')[0]).filter((a): a is string => !!a);
    return { ips };
  }

  async del(att: Attachment, netns: string): Promise<void> {
    await this.runtime.delNetworkList(this.network(), { containerId: att.containerId, ifname: att.ifName, netns });
  }

  async gc(valid: Attachment[]): Promise<Attachment[]> {
    const net = this.network();
    const keep = new Set(valid.map((a) => `${a.containerId}/${a.ifName}`));
    const stale = this.cache.list(net.list.name).filter((e) => !keep.has(`${e.containerId}/${e.ifName}`));
    await this.runtime.gcNetworkList(
      net,
      valid.map((a) => ({ containerID: a.containerId, ifname: a.ifName })),
    );
    return stale.map((e) => ({ containerId: e.containerId, ifName: e.ifName }));
  }
}
