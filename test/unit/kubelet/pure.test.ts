import { describe, expect, it } from 'vitest';
import { afterExit, restartDelay, resetsBackoff, shouldRestart } from '../../../src/kubelet/backoff.js';
import { computePhase, computeStatus, type ContainerView } from '../../../src/kubelet/status.js';
import { cpuMillis, parseQuantity } from '../../../src/kubelet/quantity.js';
import { renderConflist } from '../../../src/kubelet/cniconf.js';
import { desiredPeerRoutes } from '../../../src/kubelet/routes.js';
import { ProbeTracker, resolvePort } from '../../../src/kubelet/probes.js';
import { podNetnsName } from '../../../src/kubelet/pod.js';
import { containerSchema, podSchema, probeSchema } from '../../../src/kubelet/types.js';
import { unshareArgs } from '../../../src/os/container.js';

const running = (name: string, ready = true): ContainerView => ({
  name,
  image: 'skiff/netexec',
  ready,
  started: true,
  restartCount: 0,
  done: false,
  state: { running: { startedAt: '2026-01-01T00:00:00Z' } },
  lastState: {},
});
const exited = (name: string, code: number, done = true): ContainerView => ({
  name,
  image: 'x',
  ready: false,
  started: false,
  restartCount: 0,
  done,
  state: { terminated: { exitCode: code, reason: code ? 'Error' : 'Completed', finishedAt: '2026-01-01T00:00:01Z' } },
  lastState: {},
});

describe('restart back-off', () => {
  it('doubles from the base to the cap', () => {
    const p = { baseMs: 10_000, maxMs: 300_000 };
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => restartDelay(n, p))).toEqual([
      0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000,
    ]);
    expect(resetsBackoff(600_000, p)).toBe(true);
    expect(resetsBackoff(599_999, p)).toBe(false);
  });
  it('a long run resets the back-off series, not the restart count (which afterExit never sees)', () => {
    const p = { baseMs: 10_000, maxMs: 300_000 };
    expect(afterExit(0, 5, true, 1000, p)).toEqual({ crashLoop: 1, nextStartAt: 11_000 });
    expect(afterExit(3, 5, true, 1000, p)).toEqual({ crashLoop: 4, nextStartAt: 1000 + 80_000 });
    expect(afterExit(6, 600_000, true, 1000, p)).toEqual({ crashLoop: 1, nextStartAt: 11_000 });
    expect(afterExit(6, 5, false, 1000, p)).toEqual({ crashLoop: 6 });
  });
  it('follows restartPolicy', () => {
    expect(shouldRestart('Always', 0)).toBe(true);
    expect(shouldRestart('OnFailure', 0)).toBe(false);
    expect(shouldRestart('OnFailure', 2)).toBe(true);
    expect(shouldRestart('Never', 1)).toBe(false);
  });
});

describe('pod status', () => {
  const base = {
    restartPolicy: 'Always' as const,
    sandboxReady: true,
    podIPs: ['10.244.1.5'],
    hostIP: '198.18.0.11',
    startTime: 't0',
    now: 't1',
  };
  it('phases', () => {
    expect(computePhase({ sandboxReady: false, containers: [running('a')] })).toBe('Pending');
    expect(
      computePhase({
        sandboxReady: true,
        containers: [running('a'), { ...running('b'), state: { waiting: { reason: 'ContainerCreating' } } }],
      }),
    ).toBe('Pending');
    expect(computePhase({ sandboxReady: true, containers: [running('a')] })).toBe('Running');
    expect(computePhase({ sandboxReady: true, containers: [exited('a', 0)] })).toBe('Succeeded');
    expect(computePhase({ sandboxReady: true, containers: [exited('a', 0), exited('b', 3)] })).toBe('Failed');
    expect(computePhase({ sandboxReady: true, containers: [exited('a', 1, false)] })).toBe('Running');
  });
  it('conditions, IPs and container statuses', () => {
    const s = computeStatus({ ...base, containers: [running('a'), running('b', false)] });
    expect(s.phase).toBe('Running');
    expect(s.podIP).toBe('10.244.1.5');
    expect(s.podIPs).toEqual([{ ip: '10.244.1.5' }]);
    expect(s.hostIP).toBe('198.18.0.11');
    expect(Object.fromEntries(s.conditions.map((c) => [c.type, c.status]))).toEqual({
      PodScheduled: 'True',
      Initialized: 'True',
      ContainersReady: 'False',
      Ready: 'False',
    });
    expect(s.containerStatuses.map((c) => [c.name, c.ready])).toEqual([
      ['a', true],
      ['b', false],
    ]);
  });
  it('keeps lastTransitionTime while a condition holds, moves it on a flip', () => {
    const first = computeStatus({ ...base, containers: [running('a', false)], now: 'T1' });
    const same = computeStatus({ ...base, containers: [running('a', false)], previous: first.conditions, now: 'T2' });
    expect(same.conditions.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe('T1');
    const flipped = computeStatus({ ...base, containers: [running('a', true)], previous: same.conditions, now: 'T3' });
    expect(flipped.conditions.find((c) => c.type === 'Ready')?.lastTransitionTime).toBe('T3');
    expect(flipped.conditions.find((c) => c.type === 'PodScheduled')?.lastTransitionTime).toBe('T1');
  });
  it('omits podIP before the sandbox has one', () => {
    const s = computeStatus({ ...base, sandboxReady: false, podIPs: [], containers: [running('a')] });
    expect(s.podIP).toBeUndefined();
    expect(s.phase).toBe('Pending');
  });
});

describe('quantities', () => {
  it('parses CPU and memory', () => {
    expect(cpuMillis('500m')).toBe(500);
    expect(cpuMillis('1.5')).toBe(1500);
    expect(cpuMillis(2)).toBe(2000);
    expect(parseQuantity('128Mi')).toBe(128 * 2 ** 20);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(() => parseQuantity('12 bananas')).toThrow(/invalid quantity/);
  });
});

describe('CNI configuration from the podCIDR', () => {
  it('bridge: host-local over the podCIDR, no masquerade, per-node IPAM dir', () => {
    const c = renderConflist({
      mode: 'bridge',
      podCIDR: '10.244.3.0/24',
      clusterCIDR: '10.244.0.0/16',
      ipamDir: '/x/ipam',
    }) as { plugins: Record<string, unknown>[] };
    const bridge = c.plugins[0] as { type: string; ipMasq: boolean; ipam: { ranges: unknown; dataDir: string } };
    expect(bridge.type).toBe('bridge');
    expect(bridge.ipMasq).toBe(false);
    expect(bridge.ipam.ranges).toEqual([[{ subnet: '10.244.3.0/24' }]]);
    expect(bridge.ipam.dataDir).toBe('/x/ipam');
  });
  it("vxlan: the overlay plugin with the agent's subnet file", () => {
    const c = renderConflist({
      mode: 'vxlan',
      podCIDR: '10.244.3.0/24',
      clusterCIDR: '10.244.0.0/16',
      ipamDir: '/x/ipam',
      subnetFile: '/x/subnet.env',
    }) as { plugins: Record<string, unknown>[] };
    expect(c.plugins[0]).toMatchObject({
      type: 'vxlan',
      subnetFile: '/x/subnet.env',
      delegate: { ipam: { dataDir: '/x/ipam' } },
    });
  });
});

describe('peer routes (bridge CNI)', () => {
  it("routes every other node's podCIDR via its InternalIP, skipping incomplete nodes", () => {
    expect(
      desiredPeerRoutes('node1', [
        { name: 'node1', podCIDR: '10.244.0.0/24', ip: '198.18.0.11' },
        { name: 'node3', podCIDR: '10.244.2.0/24', ip: '198.18.0.13' },
        { name: 'node2', podCIDR: '10.244.1.0/24', ip: '198.18.0.12' },
        { name: 'node4', ip: '198.18.0.14' },
      ]),
    ).toEqual([
      { cidr: '10.244.1.0/24', via: '198.18.0.12' },
      { cidr: '10.244.2.0/24', via: '198.18.0.13' },
    ]);
  });

  it('dual stack: each pod CIDR goes via the InternalIP of its own family', () => {
    expect(
      desiredPeerRoutes('node1', [
        {
          name: 'node2',
          podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'],
          ips: ['198.18.0.12', 'fd00:198:18::12'],
        },
        { name: 'node3', podCIDRs: ['10.244.2.0/24', 'fd00:10:244:2::/64'], ips: ['198.18.0.13'] },
      ]),
    ).toEqual([
      { cidr: '10.244.1.0/24', via: '198.18.0.12' },
      { cidr: '10.244.2.0/24', via: '198.18.0.13' },
      { cidr: 'fd00:10:244:1::/64', via: 'fd00:198:18::12' }, // node3 has no IPv6 InternalIP: no v6 route
    ]);
  });
  it('dual stack: host-local gets one range set and one default route per family', () => {
    const c = renderConflist({
      mode: 'bridge',
      podCIDR: '10.244.1.0/24',
      podCIDRs: ['10.244.1.0/24', 'fd00:10:244:1::/64'],
      clusterCIDR: '10.244.0.0/16',
      ipamDir: '/x',
    }) as { plugins: { ipam: { ranges: unknown; routes: unknown } }[] };
    expect(c.plugins[0]!.ipam.ranges).toEqual([[{ subnet: '10.244.1.0/24' }], [{ subnet: 'fd00:10:244:1::/64' }]]);
    expect(c.plugins[0]!.ipam.routes).toEqual([{ dst: '0.0.0.0/0' }, { dst: '::/0' }]);
  });
});

describe('probes', () => {
  const c = containerSchema.parse({ name: 'a', ports: [{ containerPort: 8080, name: 'http' }] });
  it('resolves named and numeric ports', () => {
    expect(resolvePort('http', c)).toBe(8080);
    expect(resolvePort(9376, c)).toBe(9376);
    expect(resolvePort('81', c)).toBe(81);
    expect(resolvePort('nope', c)).toBeUndefined();
  });
  it('flips only after the thresholds', () => {
    const p = probeSchema.parse({
      httpGet: { port: 80 },
      periodSeconds: 1,
      failureThreshold: 3,
      successThreshold: 2,
      initialDelaySeconds: 5,
    });
    const t = new ProbeTracker(p, false, 0);
    expect(t.due(4_999)).toBe(false);
    expect(t.due(5_000)).toBe(true);
    expect(t.record(true, 5_000)).toBe(false);
    expect(t.due(5_500)).toBe(false);
    expect(t.record(true, 6_000)).toBe(true);
    expect(t.result).toBe(true);
    expect(t.record(false, 7_000)).toBe(false);
    expect(t.record(false, 8_000)).toBe(false);
    expect(t.record(true, 9_000)).toBe(false);
    expect(t.record(false, 10_000)).toBe(false);
    expect(t.record(false, 11_000)).toBe(false);
    expect(t.record(false, 12_000)).toBe(true);
    expect(t.result).toBe(false);
  });
  it('applies Kubernetes defaults', () => {
    expect(probeSchema.parse({ tcpSocket: { port: 1 } })).toMatchObject({
      periodSeconds: 10,
      timeoutSeconds: 1,
      failureThreshold: 3,
      successThreshold: 1,
      initialDelaySeconds: 0,
    });
  });
});

describe('pod parsing and naming', () => {
  it('defaults restartPolicy and namespace, rejects a pod without containers', () => {
    const p = podSchema.parse({ metadata: { name: 'p', uid: 'u' }, spec: { containers: [{ name: 'c' }] } });
    expect(p.spec.restartPolicy).toBe('Always');
    expect(p.metadata.namespace).toBe('default');
    expect(podSchema.safeParse({ metadata: { name: 'p', uid: 'u' }, spec: { containers: [] } }).success).toBe(false);
  });
  it('names sandboxes with the node prefix and 8 characters of the uid', () => {
    expect(podNetnsName('sk12ab-node1', '1F2e3d4c-5b6a-7980-aaaa-bbbbbbbbbbbb')).toBe('sk12ab-node1-pod-1f2e3d4c');
  });
  it('asks unshare only for the namespaces the kernel allows', () => {
    expect(unshareArgs({ uts: true, ipc: true, pid: true, mount: true })).toEqual([
      '--uts',
      '--ipc',
      '--mount',
      '--propagation',
      'private',
      '--pid',
      '--fork',
      '--kill-child',
    ]);
    expect(unshareArgs({ uts: true, ipc: false, pid: true, mount: true })).toEqual([
      '--uts',
      '--mount',
      '--propagation',
      'private',
      '--pid',
      '--fork',
      '--kill-child',
    ]);
    // no private root view without mount + PID namespaces: refuse rather than expose the host
    expect(() => unshareArgs({ uts: true, ipc: true, pid: false, mount: true })).toThrow(/root view/);
    expect(() => unshareArgs({ uts: true, ipc: true, pid: true, mount: false })).toThrow(/root view/);
  });
});
