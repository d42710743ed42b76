import { type CgroupMode, setupContainerCgroup } from '../os/cgroups.js';
import { cpuMillis, parseQuantity } from './quantity.js';
import type { Container } from './types.js';

/** A container's resources.limits as cgroup limits; the cgroup files themselves are src/os/cgroups.ts. */
export function setupContainerCgroups(mode: CgroupMode, podKey: string, container: Container): string[] {
  const limits = container.resources?.limits ?? {};
  return setupContainerCgroup(mode, podKey, container.name, {
    memoryBytes: limits.memory !== undefined ? Math.floor(parseQuantity(limits.memory)) : undefined,
    cpuMillis: limits.cpu !== undefined ? cpuMillis(limits.cpu) : undefined,
  });
}
