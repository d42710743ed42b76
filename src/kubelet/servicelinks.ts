import type { ApiClient } from './api.js';

/**
 * Service environment variables, as the kubelet sets them: for every Service of the pod's namespace with a
 * cluster IP (and always `kubernetes` of the default namespace), `<NAME>_SERVICE_HOST`, `_SERVICE_PORT`,
 * `_SERVICE_PORT_<PORT NAME>` and the docker-link `<NAME>_PORT`, `<NAME>_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]`.
 * With `enableServiceLinks: false` only the `kubernetes` Service's.
 */
export interface ServiceLite {
  metadata: { name: string; namespace?: string };
  spec?: { clusterIP?: string; ports?: { name?: string; port: number; protocol?: string }[] };
}

const envName = (s: string): string => s.toUpperCase().replace(/-/g, '_');

export function serviceEnvVars(services: ServiceLite[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const svc of [...services].sort((a, b) => a.metadata.name.localeCompare(b.metadata.name))) {
    const ip = svc.spec?.clusterIP;
    const ports = svc.spec?.ports ?? [];
    if (!ip || ip === 'None' || ports.length === 0) continue;
    const n = envName(svc.metadata.name);
    const host = ip.includes(':') ? `[${ip}]` : ip;
    env[`${n}_SERVICE_HOST`] = ip;
    env[`${n}_SERVICE_PORT`] = String(ports[0]!.port);
    for (const p of ports) if (p.name) env[`${n}_SERVICE_PORT_${envName(p.name)}`] = String(p.port);
    const first = ports[0]!;
    env[`${n}_PORT`] = `${(first.protocol ?? 'TCP').toLowerCase()}://${host}:${first.port}`;
    for (const p of ports) {
      const proto = (p.protocol ?? 'TCP').toUpperCase();
      const prefix = `${n}_PORT_${p.port}_${proto}`;
      env[prefix] = `${proto.toLowerCase()}://${host}:${p.port}`;
      env[`${prefix}_PROTO`] = proto.toLowerCase();
      env[`${prefix}_PORT`] = String(p.port);
      env[`${prefix}_ADDR`] = ip;
    }
  }
  return env;
}

/** The Services a pod's environment names (Kubernetes' getServiceEnvVarMap). */
export async function podServiceEnv(
  api: ApiClient,
  namespace: string,
  enableServiceLinks: boolean,
): Promise<Record<string, string>> {
  const chosen = new Map<string, ServiceLite>();
  if (enableServiceLinks) {
    const own = await api.request<{ items: ServiceLite[] }>('GET', `/api/v1/namespaces/${namespace}/services`);
    for (const s of own.items) chosen.set(s.metadata.name, s);
  }
  if (!chosen.has('kubernetes') || namespace !== 'default') {
    try {
      chosen.set('kubernetes', await api.request<ServiceLite>('GET', '/api/v1/namespaces/default/services/kubernetes'));
    } catch {
      /* no API server Service (yet): nothing to add */
    }
  }
  return serviceEnvVars([...chosen.values()]);
}
