import { nftDeleteTable } from '../os/nft.js';
import { nsOf } from '../os/ns.js';
import { perFamily } from './families-backend.js';
import type { Logger } from '../util/log.js';
import type { DesiredState, IPFamily, NodeFacts } from './model/types.js';
import type { NftDriver } from './nftables/backend.js';

/** What one sync did, for logs and metrics. */
export interface SyncStats {
  full: boolean;
  /** Rules the backend keeps (nftables) or listeners (userspace). */
  rules: number;
  /** Map elements (nftables) or active flows (userspace). */
  elements: number;
  /** Bytes of nft transaction text sent (0 if nothing was sent). */
  bytes: number;
}

/**
 * One proxy mode. The runner owns trackers, the desired state, coalescing and the full-resync timer;
 * a backend only turns desired state into datapath. `changed` names the services that changed since the
 * last successful sync, or 'full' to rebuild and repair everything.
 */
export interface ProxyBackend {
  readonly mode: string;
  init(): Promise<void>;
  sync(desired: DesiredState, changed: ReadonlySet<string> | 'full'): Promise<SyncStats>;
  /** Remove everything this backend installed. */
  cleanup(): Promise<void>;
  /** Release what lives only in this process (listeners) and leave the kernel's datapath in place: the
   * process is exiting, and Services keep working through what the kernel holds until the next start. */
  shutdown?(): Promise<void>;
}

export interface BackendOptions {
  node: NodeFacts;
  /** The IP family this backend programs (one backend per family, as kube-proxy's proxiers; default 4). */
  family?: IPFamily;
  /** Run kernel tools inside this named netns (tests, benchmarks); unset when already inside the node. */
  netns?: string;
  log?: Logger;
  /** nftables mode's kernel seam (default: the real nft). The proxy bench wraps it to replay the exact
   * transactions the proxy sent through a bare `nft -f`, its baseline for sync times. */
  nftDriver?: NftDriver;
}

export type BackendFactory = (opts: BackendOptions) => Promise<ProxyBackend>;

/** The proxy modes: a new mode is a new folder plus one line here (loaded lazily). */
export const backends: Record<string, BackendFactory> = {
  nftables: async (o) => {
    const { NftablesBackend } = await import('./nftables/backend.js');
    return perFamily('nftables', o, (fo) => new NftablesBackend(fo, fo.nftDriver));
  },
  userspace: async (o) => {
    const { UserspaceBackend } = await import('./userspace/backend.js');
    return perFamily('userspace', o, (fo) => new UserspaceBackend(fo));
  },
};

/**
 * What each mode leaves in the kernel, removable without a running backend: a proxy starting in one mode
 * removes the other modes' leftovers (kube-proxy's CleanupLeftovers), or deleted endpoints would keep
 * answering through a table nobody maintains.
 */
const leftovers: Record<string, (netns?: string) => Promise<void>> = {
  nftables: async (netns) => {
    const { tableOf } = await import('./nftables/layout.js');
    for (const f of [4, 6] as const) await nftDeleteTable(tableOf(f), nsOf(netns));
  },
  userspace: async (netns) => {
    const { userspaceTableOf } = await import('./userspace/backend.js');
    for (const f of [4, 6] as const) await nftDeleteTable(userspaceTableOf(f), nsOf(netns));
  },
};

/** Remove every other mode's leftovers. */
export async function cleanupOtherModes(mode: string, netns?: string): Promise<void> {
  for (const [m, clean] of Object.entries(leftovers)) if (m !== mode) await clean(netns);
}

export function backendNames(): string[] {
  return Object.keys(backends);
}
