import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { runRaw } from '../../os/exec.js';

/**
 * What DEL must leave as it found it, read from the node namespace and the harness's directories as sorted
 * lines: link names, addresses, routes (all tables), the nft ruleset and iptables/ip6tables rules (without
 * handles and counters), IPAM files (but the lock and last-reserved markers) and result-cache files.
 */
export async function nodeSnapshot(node: string, dirs: Record<string, string>): Promise<string[]> {
  const lines: string[] = [];
  const cmd = async (tag: string, argv: string[], keep: (l: string) => string | undefined = (l) => l) => {
    const r = await runRaw(argv, { netns: node, timeoutMs: 30_000 });
    if (r.code !== 0) return;
    for (const l of r.stdout.split('\n')) {
      const k = keep(l.trim());
      if (k) lines.push(`${tag}: ${k}`);
    }
  };
  await cmd('link', ['ip', '-o', 'link', 'show'], (l) => /^\d+: ([^:@]+)/.exec(l)?.[1]);
  await cmd('addr', ['ip', '-o', 'addr', 'show'], (l) => {
    const m = /^\d+: (\S+)\s+(inet6?) (\S+)/.exec(l);
    return m && !m[3]?.startsWith('fe80:') ? `${m[1]} ${m[3]}` : undefined;
  });
  // carrier flags, and the IPv6 link-local and multicast routes a bridge gets with its first port, follow
  // the bridge's ports a moment late (linkwatch): compare routes without them
  const transient = (l: string) => l.includes('fe80::') || l.startsWith('multicast') || /^(local |)ff00::/.test(l);
  await cmd('route', ['ip', 'route', 'show', 'table', 'all'], (l) =>
    l && !transient(l) ? l.replace(/ proto kernel| linkdown/g, '') : undefined,
  );
  await cmd('route6', ['ip', '-6', 'route', 'show', 'table', 'all'], (l) =>
    l && !transient(l) ? l.replace(/ proto kernel| linkdown/g, '') : undefined,
  );
  await cmd('nft', ['nft', 'list', 'ruleset'], (l) => l.replace(/ # handle \d+/, '') || undefined);
  for (const save of ['iptables-save', 'ip6tables-save']) {
    await cmd(save, [save], (l) => (l && !l.startsWith('#') ? l.replace(/\[\d+:\d+\]/, '') : undefined));
  }
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
