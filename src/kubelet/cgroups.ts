import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cpuMillis, parseQuantity } from './quantity.js';
import type { Container } from './types.js';

/**
 * Optional cgroup limits. Detects a pure cgroup v2 mount (/sys/fs/cgroup/cgroup.controllers) or v1
 * memory/cpu hierarchies; with neither (or no write access) containers simply run unlimited.
 * Layout: <root>/skiff/<pod netns>/<container>. Returns the cgroup.procs files the container init joins.
 */
export type CgroupMode = 'v2' | 'v1' | 'none';
const ROOT = '/sys/fs/cgroup';

export function detectCgroups(): CgroupMode {
  if (existsSync(join(ROOT, 'cgroup.controllers'))) return 'v2';
  if (existsSync(join(ROOT, 'memory', 'memory.limit_in_bytes')) && existsSync(join(ROOT, 'cpu', 'cpu.cfs_quota_us')))
    return 'v1';
  return 'none';
}

function tryWrite(file: string, value: string): boolean {
  try {
    writeFileSync(file, value);
    return true;
  } catch {
    return false;
  }
}

export function setupContainerCgroups(mode: CgroupMode, podKey: string, container: Container): string[] {
  const limits = container.resources?.limits ?? {};
  const mem = limits.memory !== undefined ? Math.floor(parseQuantity(limits.memory)) : undefined;
  const cpu = limits.cpu !== undefined ? cpuMillis(limits.cpu) : undefined;
  if (mode === 'none' || (mem === undefined && cpu === undefined)) return [];
  const procs: string[] = [];
  try {
    if (mode === 'v2') {
      const dir = join(ROOT, 'skiff', podKey, container.name);
      tryWrite(join(ROOT, 'cgroup.subtree_control'), '+cpu +memory');
      mkdirSync(dir, { recursive: true });
      tryWrite(join(ROOT, 'skiff', 'cgroup.subtree_control'), '+cpu +memory');
      tryWrite(join(ROOT, 'skiff', podKey, 'cgroup.subtree_control'), '+cpu +memory');
      if (mem !== undefined) tryWrite(join(dir, 'memory.max'), String(mem));
      if (cpu !== undefined) tryWrite(join(dir, 'cpu.max'), `${cpu * 100} 100000`);
      procs.push(join(dir, 'cgroup.procs'));
    } else {
      if (mem !== undefined) {
        const dir = join(ROOT, 'memory', 'skiff', podKey, container.name);
        mkdirSync(dir, { recursive: true });
        if (tryWrite(join(dir, 'memory.limit_in_bytes'), String(mem))) procs.push(join(dir, 'cgroup.procs'));
      }
      if (cpu !== undefined) {
        const dir = join(ROOT, 'cpu', 'skiff', podKey, container.name);
        mkdirSync(dir, { recursive: true });
        tryWrite(join(dir, 'cpu.cfs_period_us'), '100000');
        if (tryWrite(join(dir, 'cpu.cfs_quota_us'), String(cpu * 100))) procs.push(join(dir, 'cgroup.procs'));
      }
    }
  } catch {
    /* no write access to cgroupfs: run without limits */
  }
  return procs;
}

/** Remove the pod's cgroup directories (after its processes are gone). */
export function removePodCgroups(podKey: string): void {
  for (const base of [join(ROOT, 'skiff'), join(ROOT, 'memory', 'skiff'), join(ROOT, 'cpu', 'skiff')]) {
    const podDir = join(base, podKey);
    if (!existsSync(podDir)) continue;
    try {
      for (const c of readdirSync(podDir, { withFileTypes: true }))
        if (c.isDirectory()) rmdirSync(join(podDir, c.name));
      rmdirSync(podDir);
      // the shared parent goes with the last pod (fails harmlessly while other pods remain)
      rmdirSync(base);
    } catch {
      /* still busy: a later GC retries */
    }
  }
}
