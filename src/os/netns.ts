import { existsSync, readdirSync, statSync } from 'node:fs';
import { run, runRaw } from './exec.js';
import { NETNS_DIR } from './ns.js';
import { selfNetnsInode } from './proc.js';

/** Named network namespaces (iproute2's /run/netns): create, list, delete, find the one we live in. */
export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

export function netnsExists(name: string): boolean {
  return existsSync(netnsPath(name));
}

export function listNetns(): string[] {
  try {
    return readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

/** Create a namespace with loopback up. Idempotent. */
export async function addNetns(name: string): Promise<void> {
  if (!netnsExists(name)) {
    const res = await runRaw(['ip', 'netns', 'add', name]);
    if (res.code !== 0 && !netnsExists(name)) throw new Error(`ip netns add ${name}: ${res.stderr.trim()}`);
  }
  await run(['ip', '-n', name, 'link', 'set', 'lo', 'up']);
}

/** Pids of processes whose network namespace is this one. */
export async function netnsPids(name: string): Promise<number[]> {
  const res = await runRaw(['ip', 'netns', 'pids', name]);
  if (res.code !== 0) return [];
  return res.stdout
    .split(/\s+/)
    .filter(Boolean)
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Kill every process in the namespace, then delete it. Idempotent. */
export async function delNetns(name: string): Promise<void> {
  if (!netnsExists(name)) return;
  for (const pid of await netnsPids(name)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  const res = await runRaw(['ip', 'netns', 'del', name]);
  if (res.code !== 0 && netnsExists(name)) throw new Error(`ip netns del ${name}: ${res.stderr.trim()}`);
}

/** The named netns this process lives in (matched by inode), if any. */
export function currentNetnsName(): string | undefined {
  const self = selfNetnsInode();
  if (self === undefined) return undefined;
  return listNetns().find((n) => {
    try {
      return statSync(netnsPath(n)).ino === self;
    } catch {
      return false;
    }
  });
}
