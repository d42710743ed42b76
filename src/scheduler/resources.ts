import type { V1Node, V1Pod } from '@kubernetes/client-node';
import { bytes, milliCpu } from './quantity.js';

export interface Resources {
  milliCpu: number;
  memory: number;
  pods: number;
}

/**
 * A pod's requests as the scheduler counts them: the sum over containers, raised to the largest init
 * container request (init containers run one at a time before the others).
 */
export function podRequests(pod: V1Pod): Resources {
  let cpu = 0;
  let mem = 0;
  for (const c of pod.spec?.containers ?? []) {
    cpu += milliCpu(c.resources?.requests?.cpu);
    mem += bytes(c.resources?.requests?.memory);
  }
  for (const c of pod.spec?.initContainers ?? []) {
    cpu = Math.max(cpu, milliCpu(c.resources?.requests?.cpu));
    mem = Math.max(mem, bytes(c.resources?.requests?.memory));
  }
  return { milliCpu: cpu, memory: mem, pods: 1 };
}

/** Allocatable (falling back to capacity); a node that declares nothing is treated as unlimited. */
export function nodeAllocatable(node: V1Node): Resources {
  const a = node.status?.allocatable ?? node.status?.capacity ?? {};
  return {
    milliCpu: a.cpu !== undefined ? milliCpu(a.cpu) : Number.POSITIVE_INFINITY,
    memory: a.memory !== undefined ? bytes(a.memory) : Number.POSITIVE_INFINITY,
    pods: a.pods !== undefined ? Number(a.pods) : 110,
  };
}

export function addResources(a: Resources, b: Resources): Resources {
  return { milliCpu: a.milliCpu + b.milliCpu, memory: a.memory + b.memory, pods: a.pods + b.pods };
}

export const ZERO: Resources = { milliCpu: 0, memory: 0, pods: 0 };
