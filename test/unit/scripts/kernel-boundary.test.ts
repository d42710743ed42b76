import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runRaw } from '../../../src/os/exec.js';

const script = resolve(__dirname, '../../../scripts/check-kernel-boundary.mjs');
const root = mkdtempSync(join(tmpdir(), 'kernel-boundary-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function tree(name: string, files: Record<string, string>): string {
  const dir = join(root, name);
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

const check = (dir: string) => runRaw([process.execPath, script, '--root', dir], { timeoutMs: 30_000 });

describe('scripts/check-kernel-boundary.mjs', () => {
  it('fails naming each file and line that bypasses src/os', async () => {
    const dir = tree('bad', {
      'src/a/imports.ts': "import { spawn } from 'node:child_process';\n",
      'src/a/dynamic.ts': "const cp = await import('child_process');\n",
      'src/b/argv.ts': "const x = 1;\nawait run(['ip', '-n', ns, 'link', 'set', 'br0', 'up']);\n",
      'src/b/spawn.ts': "spawnProgram('nsenter', ['--net=/run/netns/x']);\n",
      'src/b/sysctl.ts': "await run(['sysctl', '-qw', 'net.ipv4.ip_forward=1']);\n",
      'src/b/shell.ts': "await run(['sh', '-c', 'tc qdisc add dev eth0 root netem']);\n",
      'src/c/procsys.ts': "writeFileSync('/proc/sys/net/ipv4/ip_forward', '1');\n",
      'src/c/cgroup.ts': 'const root = `/sys/fs/cgroup/${x}`;\n',
      'plugins/p/main.ts': "await run(['nft', '-f', '-']);\n",
      'bench/b.ts': "await runRaw(['conntrack', '-D', '-p', 'udp']);\n",
    });
    const r = await check(dir);
    expect(r.code).toBe(1);
    for (const where of [
      'src/a/imports.ts:1: imports child_process',
      'src/a/dynamic.ts:1: imports child_process',
      'src/b/argv.ts:2: spawns a kernel tool',
      'src/b/spawn.ts:1: spawns a kernel tool',
      'src/b/sysctl.ts:1: spawns a kernel tool',
      'src/b/shell.ts:1: spawns a kernel tool',
      'src/c/procsys.ts:1: names a /proc or /sys path',
      'src/c/cgroup.ts:1: names a /proc or /sys path',
      'plugins/p/main.ts:1: spawns a kernel tool',
      'bench/b.ts:1: spawns a kernel tool',
    ])
      expect(r.stderr).toContain(where);
    expect(r.stderr).toMatch(/10 violation\(s\) outside src\/os/);
  });

  it('passes src/os itself, comments, type-only imports and words that only look like tools', async () => {
    const dir = tree('good', {
      'src/os/net.ts': "import { spawn } from 'node:child_process';\nawait run(['ip', 'link']);\n",
      'src/x/types.ts': "import type { ChildProcess } from 'node:child_process';\n",
      'src/x/comment.ts': '// runs `ip link set` via src/os\n/* nsenter --net=/run/netns/x */\nconst a = 1;\n',
      'src/x/words.ts': [
        "const modes = ['bridge', 'vxlan'];",
        "const families = [['ip', 'o']];",
        "log.warn('conntrack cleanup failed');",
        "const rule = 'ip saddr 10.0.0.0/8 masquerade';",
        "const tools = ['ip', 'nsenter', 'unshare'];",
        '',
      ].join('\n'),
      'src/x/allowed.ts': "const p = '/proc/self/fd'; // kernel-boundary: allow reading our own fds\n",
    });
    const r = await check(dir);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('passes the repository', async () => {
    const r = await check(resolve(__dirname, '../../..'));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});
