import { cpus, totalmem } from 'node:os';
import { ApiClient, isStatus } from './api.js';

/**
 * The Node object and its Lease, as the kubelet owns them: registration (create, or adopt an existing
 * object), status (addresses, capacity/allocatable, Ready condition, nodeInfo) and the heartbeat Lease in
 * kube-node-lease that node lifecycle watches.
 */
const KUBELET_VERSION = 'v1.32.0-skiff';

export interface NodeFacts {
  name: string;
  ip: string;
  /** every InternalIP (dual stack); `ip` alone when unset */
  ips?: string[];
  maxPods: number;
  /** the kubelet server's port (0: none) */
  kubeletPort?: number;
}

export interface NodeReadiness {
  ready: boolean;
  reason: string;
  message: string;
}

export function nodeStatus(f: NodeFacts, r: NodeReadiness, since: string, now: string): Record<string, unknown> {
  const capacity = {
    cpu: String(cpus().length),
    memory: `${Math.floor(totalmem() / 1024)}Ki`,
    pods: String(f.maxPods),
  };
  return {
    addresses: [
      ...(f.ips?.length ? f.ips : [f.ip]).map((address) => ({ type: 'InternalIP', address })),
      { type: 'Hostname', address: f.name },
    ],
    capacity,
    allocatable: capacity,
    conditions: [
      {
        type: 'Ready',
        status: r.ready ? 'True' : 'False',
        reason: r.reason,
        message: r.message,
        lastHeartbeatTime: now,
        lastTransitionTime: since,
      },
    ],
    nodeInfo: {
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: KUBELET_VERSION,
      operatingSystem: 'linux',
      architecture: process.arch === 'x64' ? 'amd64' : process.arch,
      containerRuntimeVersion: 'skiff://0.1.0',
      osImage: 'skiff lab node',
      kernelVersion: '',
      machineID: '',
      systemUUID: '',
      bootID: '',
    },
    daemonEndpoints: { kubeletEndpoint: { Port: f.kubeletPort ?? 0 } },
  };
}

export interface NodeObject {
  metadata: { name: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec?: { podCIDR?: string; podCIDRs?: string[] };
  status?: { addresses?: { type: string; address: string }[] };
}

export async function registerNode(api: ApiClient, f: NodeFacts): Promise<NodeObject> {
  const body = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: f.name,
      labels: { 'kubernetes.io/hostname': f.name, 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' },
    },
    spec: {},
  };
  try {
    return await api.request<NodeObject>('POST', '/api/v1/nodes', body);
  } catch (err) {
    if (!isStatus(err, 409)) throw err;
    return api.request<NodeObject>('GET', `/api/v1/nodes/${f.name}`);
  }
}

export async function patchNodeStatus(
  api: ApiClient,
  name: string,
  status: Record<string, unknown>,
): Promise<NodeObject> {
  return api.request<NodeObject>('PATCH', `/api/v1/nodes/${name}/status`, { status }, 'application/merge-patch+json');
}

function microTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export async function renewLease(api: ApiClient, name: string, durationSeconds: number): Promise<void> {
  const path = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`;
  try {
    const lease = await api.request<{ metadata: Record<string, unknown>; spec?: Record<string, unknown> }>('GET', path);
    await api.request('PUT', path, {
      ...lease,
      spec: {
        ...(lease.spec ?? {}),
        holderIdentity: name,
        leaseDurationSeconds: durationSeconds,
        renewTime: microTime(),
      },
    });
  } catch (err) {
    if (!isStatus(err, 404)) throw err;
    await api.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name, namespace: 'kube-node-lease' },
      spec: { holderIdentity: name, leaseDurationSeconds: durationSeconds, renewTime: microTime() },
    });
  }
}
