#!/usr/bin/env node
// The kernel boundary (README, docs/architecture.md): only src/os starts programs and touches the kernel.
// Fails, naming file and line, when code outside src/os
//   - imports child_process (a type-only import is fine),
//   - spawns a kernel tool (ip, nft, sysctl, conntrack, tc, bridge, ethtool, mount, unshare, nsenter, ...),
//   - or names a /proc or /sys path (sysctls, cgroups, process readers live in src/os).
// Usage: node scripts/check-kernel-boundary.mjs [--root DIR]   (scans DIR/{src,plugins,bench,bin})
// A line that must stay (a false positive) carries `kernel-boundary: allow <why>` in a comment.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCANNED = ['src', 'plugins', 'bench', 'bin'];
const SKIPPED = new Set(['node_modules', 'dist', 'plugins/bin', 'src/os']);
const EXTENSIONS = /\.(ts|mts|cts|js|mjs|cjs)$/;

/** Tools that touch the kernel whatever their arguments. */
const ANY_ARGS = [
  'sysctl',
  'conntrack',
  'ethtool',
  'mount',
  'umount',
  'unshare',
  'nsenter',
  'iptables',
  'ip6tables',
  'iptables-restore',
  'ip6tables-restore',
  'iptables-save',
  'ipset',
  'ebtables',
  'modprobe',
  'brctl',
  'pivot_root',
  'chroot',
];
/** Tools whose name is also an ordinary word: a kernel call when followed by an option or one of these. */
const SUBCOMMANDS = {
  ip: 'link addr address route neigh rule netns monitor tuntap xfrm maddr mroute tunnel ntable vrf nexthop mptcp',
  bridge: 'fdb vlan link mdb monitor',
  tc: 'qdisc class filter action monitor chain',
  nft: 'list add delete flush insert replace create get reset monitor describe',
};
const TOOLS = [...ANY_ARGS, ...Object.keys(SUBCOMMANDS)];

/** `next` is the argument after the tool name; `strict` (one string holding a command line) wants an option
 * or subcommand even for ANY_ARGS tools, so a message such as 'conntrack cleanup failed' is no command. */
function isKernelCall(tool, next, strict = false) {
  if (ANY_ARGS.includes(tool) && !strict) return true;
  if (next === undefined) return false;
  return next.startsWith('-') || (SUBCOMMANDS[tool] ?? '').split(' ').includes(next);
}

/** Blank out comments (keeping newlines, so line numbers stay), leaving string literals intact. */
function stripComments(text) {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const n = text[i + 1];
    if (c === '/' && n === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && n === '*') {
      i += 2;
      while (i < text.length && !(text[i] === '*' && text[i + 1] === '/')) out += text[i++] === '\n' ? '\n' : '';
      i += 2;
    } else if (c === "'" || c === '"' || c === '`') {
      const start = i++;
      while (i < text.length && text[i] !== c) i += text[i] === '\\' ? 2 : 1;
      out += text.slice(start, ++i);
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** A string literal whose quote is capture group n and text group n+1. */
const str = (n) => `(['"\`])([^'"\`\\n]*)\\${n}`;
const rules = [
  {
    why: 'imports child_process: start programs through src/os (exec.ts, process.ts)',
    test: (line) =>
      /\b(import|export)\b(?!\s+type\b)[^;]*\bfrom\s*['"](node:)?child_process['"]/.test(line) ||
      /\b(import|require)\s*\(\s*['"](node:)?child_process['"]\s*\)/.test(line),
  },
  {
    why: 'spawns a kernel tool: add or use a function in src/os (one file per kernel facility)',
    test: (line) => {
      // argv array literal: ['ip', 'link', ...]
      for (const m of line.matchAll(new RegExp(`\\[\\s*${str(1)}\\s*(?:,\\s*${str(3)})?`, 'g'))) {
        if (TOOLS.includes(m[2]) && isKernelCall(m[2], m[4])) return true;
      }
      // spawn('nsenter', ...), execFile('ip', ...)
      const call = new RegExp(`\\b(spawn|spawnSync|execFile|execFileSync|spawnProgram)\\s*\\(\\s*${str(2)}`, 'g');
      for (const m of line.matchAll(call)) if (TOOLS.includes(m[3])) return true;
      // a command line in one string: 'ip link set ...', `sysctl -w ...`
      for (const m of line.matchAll(new RegExp(str(1), 'g'))) {
        const [tool = '', next] = m[2].trim().split(/\s+/);
        if (TOOLS.includes(tool) && isKernelCall(tool, next, true)) return true;
      }
      return false;
    },
  },
  {
    why: 'names a /proc or /sys path: kernel files are read and written in src/os (proc.ts, net.ts, cgroups.ts)',
    test: (line) => new RegExp(`(['"\`])/(proc|sys)(/|\\1)`).test(line),
  },
];

function* files(dir, root) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    const rel = relative(root, p);
    if (SKIPPED.has(e.name) || SKIPPED.has(rel)) continue;
    if (e.isDirectory()) yield* files(p, root);
    else if (EXTENSIONS.test(e.name) && !e.name.endsWith('.d.ts')) yield p;
  }
}

export function check(root) {
  const violations = [];
  for (const top of SCANNED) {
    const dir = join(root, top);
    try {
      if (!statSync(dir).isDirectory()) continue;
    } catch {
      continue;
    }
    for (const file of files(dir, root)) {
      const raw = readFileSync(file, 'utf8').split('\n');
      const code = stripComments(raw.join('\n')).split('\n');
      code.forEach((line, i) => {
        if (/kernel-boundary: allow \S/.test(raw[i] ?? '')) return;
        for (const r of rules) if (r.test(line)) violations.push(`${relative(root, file)}:${i + 1}: ${r.why}`);
      });
    }
  }
  return violations;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const at = process.argv.indexOf('--root');
  const root = at > 0 ? process.argv[at + 1] : join(fileURLToPath(import.meta.url), '..', '..');
  if (!root) {
    process.stderr.write('usage: check-kernel-boundary.mjs [--root DIR]\n');
    process.exit(2);
  }
  const v = check(root);
  if (v.length) {
    process.stderr.write(
      `kernel boundary: ${v.length} violation(s) outside src/os:\n${v.map((l) => `  ${l}`).join('\n')}\n`,
    );
    process.exit(1);
  }
}
