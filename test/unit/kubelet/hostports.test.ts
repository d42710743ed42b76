import { describe, expect, it } from 'vitest';
import { capabilityArgs, portMappings } from '../../../src/kubelet/hostports.js';
import { podSchema } from '../../../src/kubelet/types.js';

const pod = (ports: unknown[][]) =>
  podSchema.parse({
    metadata: { name: 'p', namespace: 'default', uid: 'u1' },
    spec: { containers: ports.map((p, i) => ({ name: `c${i}`, image: 'x', ports: p })) },
  });

describe('hostPort → portMappings capability', () => {
  it('maps every hostPort of every container, protocol lower-cased, hostIP kept', () => {
    const p = pod([
      [{ containerPort: 80, hostPort: 8080 }, { containerPort: 81 }],
      [{ containerPort: 53, hostPort: 5353, protocol: 'UDP', hostIP: '192.168.0.11' }],
    ]);
    expect(portMappings(p)).toEqual([
      { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
      { hostPort: 5353, containerPort: 53, protocol: 'udp', hostIP: '192.168.0.11' },
    ]);
    expect(capabilityArgs(p)).toEqual({ portMappings: portMappings(p) });
  });

  it('a pod without hostPorts passes no capability args', () => {
    expect(capabilityArgs(pod([[{ containerPort: 80 }]]))).toEqual({});
  });
});
