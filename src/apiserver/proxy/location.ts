import { KUBELET_PORT } from '../../api/well-known.js';
import type { KObject } from '../../api/meta.js';
import { ApiError, badRequest } from '../errors.js';
import { findResource } from '../resources/index.js';
import type { Registry } from '../rest.js';

/**
 * Where a pod subresource is served (pkg/registry/core/pod/strategy.go's LogLocation, ExecLocation,
 * PortForwardLocation): the kubelet of the pod's node, at its InternalIP and daemonEndpoints port, with the
 * API's query parameters translated into the kubelet's.
 */
export interface KubeletLocation {
  host: string;
  port: number;
  /** path and query on the kubelet */
  path: string;
}

interface PodLike extends KObject {
  spec?: { nodeName?: string; containers?: { name: string }[] };
  metadata: KObject['metadata'] & { annotations?: Record<string, string> };
}

interface NodeLike extends KObject {
  status?: {
    addresses?: { type: string; address: string }[];
    daemonEndpoints?: { kubeletEndpoint?: { Port?: number } };
  };
}

const podsDef = () => findResource('', 'v1', 'pods')!;
const nodesDef = () => findResource('', 'v1', 'nodes')!;

/** The node's kubelet address (InternalIP first, as the API server's preferred address type). */
async function nodeKubelet(reg: Registry, nodeName: string): Promise<{ host: string; port: number }> {
  const node = (await reg.get(nodesDef(), undefined, nodeName)) as NodeLike;
  const addrs = node.status?.addresses ?? [];
  const ip = addrs.find((a) => a.type === 'InternalIP') ?? addrs.find((a) => a.type === 'ExternalIP');
  if (!ip) throw new ApiError(503, 'ServiceUnavailable', `node "${nodeName}" has no address`);
  const port = node.status?.daemonEndpoints?.kubeletEndpoint?.Port || KUBELET_PORT;
  return { host: ip.address, port };
}

/** The container a request is about: the named one (it must exist), else the only one. */
function containerOf(pod: PodLike, requested: string | null): string {
  const names = (pod.spec?.containers ?? []).map((c) => c.name);
  if (requested) {
    if (!names.includes(requested))
      throw badRequest(`container ${requested} is not valid for pod ${pod.metadata.name}`);
    return requested;
  }
  const def = pod.metadata.annotations?.['kubectl.kubernetes.io/default-container'];
  if (def && names.includes(def)) return def;
  if (names.length === 1) return names[0]!;
  throw badRequest(
    `a container name must be specified for pod ${pod.metadata.name}, choose one of: [${names.join(' ')}]`,
  );
}

async function scheduledPod(reg: Registry, ns: string, name: string): Promise<{ pod: PodLike; node: string }> {
  const pod = (await reg.get(podsDef(), ns, name)) as PodLike;
  const node = pod.spec?.nodeName;
  if (!node) throw badRequest(`pod ${name} does not have a host assigned`);
  return { pod, node };
}

const LOG_PARAMS = ['follow', 'previous', 'timestamps', 'tailLines', 'sinceSeconds', 'sinceTime', 'limitBytes'];
/** API parameter -> kubelet parameter for exec/attach (api.ExecStdinParam is "input", ...). */
const STREAM_PARAMS: Record<string, string> = { stdin: 'input', stdout: 'output', stderr: 'error', tty: 'tty' };

export async function podSubresourceLocation(
  reg: Registry,
  ns: string,
  name: string,
  sub: 'log' | 'exec' | 'attach' | 'portforward',
  q: URLSearchParams,
): Promise<KubeletLocation> {
  const { pod, node } = await scheduledPod(reg, ns, name);
  const k = await nodeKubelet(reg, node);
  const out = new URLSearchParams();
  const enc = (s: string) => encodeURIComponent(s);
  if (sub === 'portforward') {
    for (const p of q.getAll('ports')) out.append('port', p);
    return { ...k, path: `/portForward/${enc(ns)}/${enc(name)}?${out}` };
  }
  const container = containerOf(pod, q.get('container'));
  if (sub === 'log') {
    for (const p of LOG_PARAMS) {
      const v = q.get(p);
      if (v !== null && v !== '') out.set(p, v);
    }
    if (q.get('sinceSeconds') && q.get('sinceTime'))
      throw badRequest('at most one of sinceTime or sinceSeconds may be specified');
    return { ...k, path: `/containerLogs/${enc(ns)}/${enc(name)}/${enc(container)}?${out}` };
  }
  for (const [api, kubelet] of Object.entries(STREAM_PARAMS))
    if (q.get(api) === 'true' || q.get(api) === '1') out.set(kubelet, '1');
  if (sub === 'exec') {
    const command = q.getAll('command');
    if (command.length === 0) throw badRequest('you must specify at least 1 command');
    for (const c of command) out.append('command', c);
  }
  const kind = sub === 'exec' ? 'exec' : 'attach';
  return { ...k, path: `/${kind}/${enc(ns)}/${enc(name)}/${enc(container)}?${out}` };
}
