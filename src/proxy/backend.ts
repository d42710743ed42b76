import type { Logger } from '../util/log.js';
import type { DesiredState, NodeFacts } from './model/types.js';

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
}

export interface BackendOptions {
  node: NodeFacts;
  /** Run kernel tools inside this named netns (tests, benchmarks); unset when already inside the node. */
  netns?: string;
  log?: Logger;
}

export type BackendFactory = (opts: BackendOptions) => Promise<ProxyBackend>;

/** The proxy modes: a new mode is a new folder plus one line here (loaded lazily). */
export const backends: Record<string, BackendFactory> = {
  nftables: async (o) => new (await import('./nftables/backend.js')).NftablesBackend(o),
  userspace: async (o) => new (await import('./userspace/backend.js')).UserspaceBackend(o),
};

export function backendNames(): string[] {
  return Object.keys(backends);
}
