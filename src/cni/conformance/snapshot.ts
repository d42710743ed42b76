import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { netInventory } from '../../os/inventory.js';
import type { NsRef } from '../../os/ns.js';

/**
 * What DEL must leave as it found it, as sorted lines: the node namespace's network state (src/os/inventory:
 * links, addresses, routes, nft and iptables rules) and the files in the run's directories, tagged by
 * directory (IPAM files but the lock and last-reserved markers; result-cache files).
 */
export async function nodeSnapshot(node: NsRef, dirs: Record<string, string>): Promise<string[]> {
  const lines = await netInventory(node);
  for (const [tag, dir] of Object.entries(dirs)) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir, { recursive: true, withFileTypes: true })) {
      if (!f.isFile() || f.name === 'lock' || f.name.startsWith('last_reserved_ip')) continue;
      lines.push(`${tag}: ${relative(dir, join(f.parentPath, f.name))}`);
    }
  }
  return lines.sort();
}

/** Lines in `after` that `before` lacks, and the other way round. */
export function snapshotDiff(before: string[], after: string[]): { added: string[]; removed: string[] } {
  const b = new Set(before);
  const a = new Set(after);
  return { added: after.filter((l) => !b.has(l)), removed: before.filter((l) => !a.has(l)) };
}
