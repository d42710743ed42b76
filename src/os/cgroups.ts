import { existsSync, mkdirSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Optional cgroup limits. Detects a pure cgroup v2 mount (/sys/fs/cgroup/cgroup.controllers) or v1
 * memory/cpu hierarchies; with neither (or no write access) containers simply run unlimited.
 * Layout: <root>/skiff/<pod key>/<container>, where the pod key carries the lab prefix (so a lab's teardown
 * finds its own). Setup returns the cgroup.procs files the container's init joins.
 */
export type CgroupMode = 'v2' | 'v1' | 'none';

export interface CgroupLimits {
  memoryBytes?: number;
  cpuMillis?: number;
}

const ROOT = '/sys/fs/cgroup';
/** Where skiff's pod cgroups live in each hierarchy (v2, v1 memory, v1 cpu). */
const BASES = [join(ROOT, 'skiff'), join(ROOT, 'memory', 'skiff'), join(ROOT, 'cpu', 'skiff')];

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

/** Create (idempotently) the container's cgroups with these limits; [] when there is nothing to limit. */
export function setupContainerCgroup(
  mode: CgroupMode,
  podKey: string,
  container: string,
  limits: CgroupLimits,
): string[] {
  const { memoryBytes: mem, cpuMillis: cpu } = limits;
  if (mode === 'none' || (mem === undefined && cpu === undefined)) return [];
  const procs: string[] = [];
  try {
    if (mode === 'v2') {
      const dir = join(ROOT, 'skiff', podKey, container);
      tryWrite(join(ROOT, 'cgroup.subtree_control'), '+cpu +memory');
      mkdirSync(dir, { recursive: true });
      tryWrite(join(ROOT, 'skiff', 'cgroup.subtree_control'), '+cpu +memory');
      tryWrite(join(ROOT, 'skiff', podKey, 'cgroup.subtree_control'), '+cpu +memory');
      if (mem !== undefined) tryWrite(join(dir, 'memory.max'), String(mem));
      if (cpu !== undefined) tryWrite(join(dir, 'cpu.max'), `${cpu * 100} 100000`);
      procs.push(join(dir, 'cgroup.procs'));
    } else {
      if (mem !== undefined) {
        const dir = join(ROOT, 'memory', 'skiff', podKey, container);
        mkdirSync(dir, { recursive: true });
        if (tryWrite(join(dir, 'memory.limit_in_bytes'), String(mem))) procs.push(join(dir, 'cgroup.procs'));
      }
      if (cpu !== undefined) {
        const dir = join(ROOT, 'cpu', 'skiff', podKey, container);
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

/** Remove one pod directory and its container directories; false while something still lives there. */
function removePodDir(podDir: string): boolean {
  try {
    for (const c of readdirSync(podDir, { withFileTypes: true })) if (c.isDirectory()) rmdirSync(join(podDir, c.name));
    rmdirSync(podDir);
    return true;
  } catch {
    return false;
  }
}

/** Remove the pod's cgroup directories (after its processes are gone); a busy one is left for a later GC. */
export function removePodCgroups(podKey: string): void {
  for (const base of BASES) {
    const podDir = join(base, podKey);
    if (!existsSync(podDir) || !removePodDir(podDir)) continue;
    try {
      rmdirSync(base); // the shared parent goes with the last pod (fails harmlessly while other pods remain)
    } catch {
      /* other pods remain */
    }
  }
}

/** Remove every pod cgroup whose key starts with `${prefix}-` (a lab's teardown). */
export function removeCgroupsWithPrefix(prefix: string): void {
  for (const base of BASES) {
    if (!existsSync(base)) continue;
    for (const pod of readdirSync(base).filter((n) => n.startsWith(`${prefix}-`))) removePodDir(join(base, pod));
  }
}
