import { describe, expect, it } from 'vitest';
import { bandwidthCapability, KUBELET_BURST_BITS } from '../../../src/kubelet/cnibandwidth.js';
import { capabilityArgs } from '../../../src/kubelet/hostports.js';
import { podSchema } from '../../../src/kubelet/types.js';

const pod = (annotations: Record<string, string>) =>
  podSchema.parse({
    metadata: { name: 'p', namespace: 'default', uid: 'u1', annotations },
    spec: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort: 8080 }] }] },
  });

describe('bandwidth annotations → the bandwidth capability (as the kubelet)', () => {
  it('rates in bit/s from quantities, the kubelet burst for each direction given', () => {
    expect(bandwidthCapability(pod({ 'kubernetes.io/ingress-bandwidth': '10M' }))).toEqual({
      bandwidth: { ingressRate: 10_000_000, ingressBurst: KUBELET_BURST_BITS },
    });
    expect(
      bandwidthCapability(pod({ 'kubernetes.io/ingress-bandwidth': '1Mi', 'kubernetes.io/egress-bandwidth': '2.5k' })),
    ).toEqual({
      bandwidth: { ingressRate: 1_048_576, ingressBurst: 2 ** 31 - 1, egressRate: 2500, egressBurst: 2 ** 31 - 1 },
    });
  });

  it('no annotation, no capability; merged with portMappings in the ADD', () => {
    expect(bandwidthCapability(pod({}))).toEqual({});
    expect(Object.keys(capabilityArgs(pod({ 'kubernetes.io/egress-bandwidth': '1M' })))).toEqual([
      'portMappings',
      'bandwidth',
    ]);
  });

  it('refuses what the kubelet refuses: unparsable, < 1kbit, > 1Pbit', () => {
    expect(() => bandwidthCapability(pod({ 'kubernetes.io/egress-bandwidth': 'fast' }))).toThrow(/failed to parse/);
    expect(() => bandwidthCapability(pod({ 'kubernetes.io/egress-bandwidth': '999' }))).toThrow(/unreasonably small/);
    expect(() => bandwidthCapability(pod({ 'kubernetes.io/ingress-bandwidth': '2P' }))).toThrow(/unreasonably large/);
  });
});
