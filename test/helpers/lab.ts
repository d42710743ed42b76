/**
 * Test lab: every namespace a test makes carries a per-run prefix (SKIFF_TEST_PREFIX, set once per vitest
 * run in test/helpers/global-setup.ts), is created through here, and is removed in afterAll / on teardown
 * even when the test failed. Nothing is ever added to the root namespace: veth pairs are created directly
 * between two lab namespaces.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addNetns, delNetns, listNetns } from '../../src/os/netns.js';
import { run } from '../../src/os/exec.js';

/** Fails with a clear message naming what is missing; integration tests call it in beforeAll. */
export function requireRootAndTools(tools: string[] = ['ip', 'nft']): void {
  if (process.getuid?.() !== 0) {
    throw new Error('integration tests need root (network namespaces): run `sudo npm test`');
  }
  for (const t of tools) {
    try {
      execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    } catch {
      throw new Error(`integration tests need \`${t}\` on PATH: run scripts/setup.sh (installs it with apt-get)`);
    }
  }
}

function runPrefix(): string {
  return process.env.SKIFF_TEST_PREFIX ?? `skt${randomBytes(2).toString('hex')}`;
}

export class Lab {
  /** e.g. "skt1a2b-3f" : run prefix + a per-Lab suffix, so two files in one run never collide either. */
  readonly prefix: string;
  private readonly namespaces = new Set<string>();
  private readonly dirs: string[] = [];
  private readonly cleanups: (() => Promise<void> | void)[] = [];

  constructor(tag = randomBytes(2).toString('hex')) {
    this.prefix = `${runPrefix()}-${tag}`;
  }

  /** Create (idempotently) a namespace named `${prefix}-${name}` with lo up. */
  async netns(name: string): Promise<string> {
    const full = `${this.prefix}-${name}`;
    this.namespaces.add(full);
    await addNetns(full);
    return full;
  }

  /** A veth pair between two lab namespaces, both ends up. Never touches the root namespace. */
  async veth(nsA: string, ifA: string, nsB: string, ifB: string): Promise<void> {
    await run(['ip', '-n', nsA, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', nsB]);
    await run(['ip', '-n', nsA, 'link', 'set', ifA, 'up']);
    await run(['ip', '-n', nsB, 'link', 'set', ifB, 'up']);
  }

  /** A temporary directory removed with the lab. */
  tmpdir(): string {
    const d = mkdtempSync(join(tmpdir(), `${this.prefix}-`));
    this.dirs.push(d);
    return d;
  }

  /** Extra cleanup (kill a process, ...) run before the namespaces go. */
  onCleanup(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  async cleanup(): Promise<void> {
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        /* keep cleaning */
      }
    }
    for (const ns of listNetns().filter((n) => n.startsWith(this.prefix))) await delNetns(ns);
    for (const ns of this.namespaces) await delNetns(ns);
    this.namespaces.clear();
    for (const d of this.dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  }
}

/** Remove every namespace of this run (global teardown; also after a crashed test file). */
export async function cleanupRun(prefix: string): Promise<void> {
  for (const ns of listNetns().filter((n) => n.startsWith(prefix))) await delNetns(ns);
}
