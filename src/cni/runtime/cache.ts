import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * The result cache, in libcni's place and shape: <dir>/<network>-<containerID>-<ifname> holding
 * {"kind":"cniCacheV1", containerId, ifName, networkName, netns, cniArgs, capabilityArgs, config (base64 of
 * the conflist bytes), result}. A DEL after a runtime restart reads the config and result from here.
 */
export const DEFAULT_CACHE_DIR = '/var/lib/cni/results';

const cacheEntrySchema = z
  .object({
    kind: z.literal('cniCacheV1'),
    containerId: z.string(),
    ifName: z.string(),
    networkName: z.string(),
    netns: z.string().optional(),
    cniArgs: z.array(z.tuple([z.string(), z.string()])).optional(),
    capabilityArgs: z.record(z.unknown()).optional(),
    config: z.string(),
    result: z.record(z.unknown()).optional(),
  })
  .passthrough();
export type CacheEntry = z.infer<typeof cacheEntrySchema>;

export class ResultCache {
  constructor(readonly dir: string = DEFAULT_CACHE_DIR) {}

  file(network: string, containerId: string, ifname: string): string {
    return join(this.dir, `${network}-${containerId}-${ifname}`);
  }

  write(e: CacheEntry): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const f = this.file(e.networkName, e.containerId, e.ifName);
    const tmp = `${f}.tmp${process.pid}`;
    writeFileSync(tmp, JSON.stringify(e), { mode: 0o600 });
    renameSync(tmp, f); // atomic: a crash never leaves half an entry
  }

  read(network: string, containerId: string, ifname: string): CacheEntry | undefined {
    try {
      const r = cacheEntrySchema.safeParse(JSON.parse(readFileSync(this.file(network, containerId, ifname), 'utf8')));
      return r.success ? r.data : undefined;
    } catch {
      return undefined;
    }
  }

  remove(network: string, containerId: string, ifname: string): void {
    rmSync(this.file(network, containerId, ifname), { force: true });
  }

  /** Every cached attachment of a network. */
  list(network: string): CacheEntry[] {
    let files: string[];
    try {
      files = readdirSync(this.dir).filter((f) => f.startsWith(`${network}-`) && !f.includes('.tmp'));
    } catch {
      return [];
    }
    const out: CacheEntry[] = [];
    for (const f of files) {
      try {
        const r = cacheEntrySchema.safeParse(JSON.parse(readFileSync(join(this.dir, f), 'utf8')));
        if (r.success && r.data.networkName === network) out.push(r.data);
      } catch {
        /* skip unreadable entries */
      }
    }
    return out;
  }
}
