/**
 * default/kubernetes: the API server's own Service (first ClusterIP, port 443 → the serving port), its
 * Endpoints and its EndpointSlice, reconciled to this server's advertise address and port on every start, as
 * kube-apiserver's "kubernetes service" controller does. Level-triggered: read, compare, write what differs.
 */
import type { KObject } from '../api/meta.js';
import { ApiError } from './errors.js';
import { endpoints, services } from './resources/index.js';
import { endpointslices } from './resources/other.js';
import type { ResourceDef } from './resources/types.js';
import type { Registry, WriteOptions } from './rest.js';

const NAME = 'kubernetes';
const NS = 'default';

function writeOpts(): WriteOptions {
  return { fieldValidation: 'Strict', dryRun: false, warnings: [] };
}

/** Create `desired`, or update the stored object when `differs(stored)`; the update keeps everything else. */
async function reconcile(
  reg: Registry,
  def: ResourceDef,
  desired: KObject,
  differs: (cur: KObject) => boolean,
  merge: (cur: KObject) => KObject,
): Promise<void> {
  let cur: KObject | undefined;
  try {
    cur = await reg.get(def, NS, NAME);
  } catch (e) {
    if (!(e instanceof ApiError && e.code === 404)) throw e;
  }
  if (!cur) {
    await reg.create(def, NS, desired, writeOpts());
    return;
  }
  if (differs(cur)) await reg.update(def, NS, NAME, merge(structuredClone(cur)), writeOpts());
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export async function reconcileKubernetesService(
  reg: Registry,
  clusterIP: string,
  advertise: string,
  port: number,
): Promise<void> {
  const svcPorts = [{ name: 'https', protocol: 'TCP', port: 443, targetPort: port }];
  await reconcile(
    reg,
    services,
    {
      metadata: { name: NAME, namespace: NS, labels: { component: 'apiserver', provider: 'kubernetes' } },
      spec: { clusterIP, ports: svcPorts, sessionAffinity: 'None', type: 'ClusterIP' },
    },
    (cur) =>
      !same(
        (cur.spec?.ports ?? []).map((p: Record<string, unknown>) => [p.name, p.protocol, p.port, p.targetPort]),
        svcPorts.map((p) => [p.name, p.protocol, p.port, p.targetPort]),
      ),
    (cur) => {
      cur.spec = { ...cur.spec, ports: svcPorts };
      return cur;
    },
  );

  const epPorts = [{ name: 'https', port, protocol: 'TCP' }];
  const subsets = [{ addresses: [{ ip: advertise }], ports: epPorts }];
  await reconcile(
    reg,
    endpoints,
    {
      metadata: { name: NAME, namespace: NS, labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
      subsets,
    },
    (cur) => !same(cur.subsets, subsets),
    (cur) => ({ ...cur, subsets }),
  );

  // kube-apiserver writes this slice itself (the endpointslice controller skips selector-less Services), so
  // proxies route the kubernetes Service's ClusterIP like any other.
  const sliceEndpoints = [{ addresses: [advertise], conditions: { ready: true, serving: true, terminating: false } }];
  const addressType = advertise.includes(':') ? 'IPv6' : 'IPv4';
  await reconcile(
    reg,
    endpointslices,
    {
      metadata: {
        name: NAME,
        namespace: NS,
        labels: {
          'kubernetes.io/service-name': NAME,
          'endpointslice.kubernetes.io/managed-by': 'apiserver.skiff.io',
        },
      },
      addressType,
      endpoints: sliceEndpoints,
      ports: epPorts,
    },
    (cur) => !same(cur.endpoints, sliceEndpoints) || !same(cur.ports, epPorts),
    (cur) => ({ ...cur, endpoints: sliceEndpoints, ports: epPorts }),
  );
}
