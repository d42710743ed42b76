import { runRaw } from './exec.js';
import { ipArgv, inNs, type NsRef } from './ns.js';

/**
 * A namespace's network state as comparable lines, for "what did this leave behind" checks (skiff cni
 * conformance): link names, addresses, routes of all tables (both families), the nft ruleset and the
 * iptables/ip6tables rules, normalised so two listings of the same state are equal: no handles, counters
 * or carrier flags, and without the IPv6 link-local and multicast entries a bridge gains and loses with its
 * ports a moment late (linkwatch). Read-only; a tool that is missing contributes nothing.
 */
type Keep = (line: string) => string | undefined;

const transient = (l: string) => l.includes('fe80::') || l.startsWith('multicast') || /^(local |)ff00::/.test(l);
const route: Keep = (l) => (l && !transient(l) ? l.replace(/ proto kernel| linkdown/g, '') : undefined);

const LISTINGS: { tag: string; argv: (ns: NsRef) => string[]; keep: Keep }[] = [
  { tag: 'link', argv: (ns) => ipArgv(ns, ['-o', 'link', 'show']), keep: (l) => /^\d+: ([^:@]+)/.exec(l)?.[1] },
  {
    tag: 'addr',
    argv: (ns) => ipArgv(ns, ['-o', 'addr', 'show']),
    keep: (l) => {
      const m = /^\d+: (\S+)\s+inet6? (\S+)/.exec(l);
      return m && !m[2]?.startsWith('fe80:') ? `${m[1]} ${m[2]}` : undefined;
    },
  },
  { tag: 'route', argv: (ns) => ipArgv(ns, ['route', 'show', 'table', 'all']), keep: route },
  { tag: 'route6', argv: (ns) => ipArgv(ns, ['-6', 'route', 'show', 'table', 'all']), keep: route },
  {
    tag: 'nft',
    argv: (ns) => inNs(ns, ['nft', 'list', 'ruleset']),
    keep: (l) => l.replace(/ # handle \d+/, '') || undefined,
  },
  ...['iptables-save', 'ip6tables-save'].map((tool) => ({
    tag: tool,
    argv: (ns: NsRef) => inNs(ns, [tool]),
    keep: (l: string) => (l && !l.startsWith('#') ? l.replace(/\[\d+:\d+\]/, '') : undefined),
  })),
];

export async function netInventory(ns: NsRef): Promise<string[]> {
  const lines: string[] = [];
  for (const { tag, argv, keep } of LISTINGS) {
    const r = await runRaw(argv(ns), { timeoutMs: 30_000 }).catch(() => undefined);
    if (!r || r.code !== 0) continue;
    for (const l of r.stdout.split('\n')) {
      const k = keep(l.trim());
      if (k) lines.push(`${tag}: ${k}`);
    }
  }
  return lines;
}
