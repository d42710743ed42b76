/**
 * Backend registry: `createBackend({ kind, ... })`. A new backend is one new file plus one line below. Each
 * loader imports its module lazily, so `--store memory` never loads better-sqlite3 or the etcd client.
 */
import { InvalidArgumentError, type BackendOptions, type StoreBackend } from './types.js';

type Loader = (opts: BackendOptions) => Promise<StoreBackend>;

const backends: Record<BackendOptions['kind'], Loader> = {
  memory: async (o) => new (await import('./memory.js')).MemoryBackend(o),
  sqlite: async (o) => (await import('./sqlite.js')).openSqliteBackend(o),
  etcd: async (o) => (await import('./etcd.js')).openEtcdBackend(o),
};

export const backendKinds = Object.keys(backends) as BackendOptions['kind'][];

export async function createBackend(opts: BackendOptions): Promise<StoreBackend> {
  const load = Object.hasOwn(backends, opts.kind) ? backends[opts.kind] : undefined;
  if (!load)
    throw new InvalidArgumentError(
      `unknown store backend "${String(opts.kind)}" (expected one of: ${backendKinds.join(', ')})`,
    );
  return load(opts);
}

export * from './types.js';
