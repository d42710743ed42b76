import type { BackendOptions, ProxyBackend, SyncStats } from './backend.js';
import { proxyFamilies } from './model/families.js';
import type { DesiredState, IPFamily } from './model/types.js';

/**
 * kube-proxy's MetaProxier: one backend per IP family the proxy serves, each programming its own table
 * from the ports of its family, side by side. Every sync goes to each family; a family with nothing to
 * change sends nothing to the kernel.
 */
class PerFamilyBackend implements ProxyBackend {
  constructor(
    readonly mode: string,
    private readonly parts: readonly ProxyBackend[],
  ) {}

  async init(): Promise<void> {
    for (const p of this.parts) await p.init();
  }

  async sync(desired: DesiredState, changed: ReadonlySet<string> | 'full'): Promise<SyncStats> {
    const total: SyncStats = { full: changed === 'full', rules: 0, elements: 0, bytes: 0 };
    for (const p of this.parts) {
      const s = await p.sync(desired, changed);
      total.rules += s.rules;
      total.elements += s.elements;
      total.bytes += s.bytes;
    }
    return total;
  }

  async cleanup(): Promise<void> {
    for (const p of this.parts) await p.cleanup();
  }

  async shutdown(): Promise<void> {
    for (const p of this.parts) await p.shutdown?.();
  }
}

/** One backend per family of `o.node` (its service CIDRs), wrapped as one. */
export function perFamily(
  mode: string,
  o: BackendOptions,
  make: (opts: BackendOptions & { family: IPFamily }) => ProxyBackend,
): ProxyBackend {
  const parts = proxyFamilies(o.node).map((family) => make({ ...o, family }));
  return parts.length === 1 ? parts[0]! : new PerFamilyBackend(mode, parts);
}
