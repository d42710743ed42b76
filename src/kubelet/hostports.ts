import { z } from 'zod';
import { bandwidthCapability } from './cnibandwidth.js';
import type { Pod } from './types.js';

/**
 * Pure: a pod's `hostPort`s as the CNI `portMappings` capability arg, in the shape the kubelet's CRI
 * runtimes hand to the portmap plugins (ours and the reference): {hostPort, containerPort, protocol
 * (lower case), hostIP}. Ports without a hostPort are not mapped.
 */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: 'tcp' | 'udp' | 'sctp';
  hostIP?: string;
}

const portSchema = z
  .object({
    containerPort: z.number().int(),
    hostPort: z.number().int().min(1).max(65535).optional(),
    hostIP: z.string().optional(),
    protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(),
  })
  .passthrough();

export function portMappings(pod: Pod): PortMapping[] {
  const out: PortMapping[] = [];
  for (const c of pod.spec.containers) {
    for (const raw of c.ports ?? []) {
      const p = portSchema.safeParse(raw);
      if (!p.success || !p.data.hostPort) continue;
      out.push({
        hostPort: p.data.hostPort,
        containerPort: p.data.containerPort,
        protocol: (p.data.protocol ?? 'TCP').toLowerCase() as PortMapping['protocol'],
        ...(p.data.hostIP ? { hostIP: p.data.hostIP } : {}),
      });
    }
  }
  return out;
}

/**
 * The capability args of a pod's CNI ADD: only what it uses (plugins see nothing for an absent one):
 * hostPorts as `portMappings`, the bandwidth annotations as `bandwidth` (cnibandwidth.ts).
 */
export function capabilityArgs(pod: Pod): Record<string, unknown> {
  const pm = portMappings(pod);
  return { ...(pm.length ? { portMappings: pm } : {}), ...bandwidthCapability(pod) };
}
