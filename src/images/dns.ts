import { createServer } from 'node:http';
import { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../client/kubeconfig.js';
import { ClusterZone } from '../dns/cluster.js';
import { startDnsServer, type Upstream } from '../dns/server.js';
import { UserError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import { parseImageFlags } from './flags.js';
import type { Running } from './netexec.js';

/**
 * skiff/dns: the cluster DNS server (the role CoreDNS plays in kube-dns's place). Serves the cluster zone
 * on UDP and TCP `--port` (53) from Services, EndpointSlices, Pods and Namespaces it watches, forwards
 * other names to `--upstream HOST[:PORT]` or refuses them, and answers `/health` on `--health-port` (8080)
 * and `/ready` on `--ready-port` (8181) once its caches are synced, as CoreDNS's health and ready plugins.
 * API credentials: `--kubeconfig FILE`, else the in-cluster ServiceAccount (KUBERNETES_SERVICE_HOST/PORT and
 * /var/run/secrets/kubernetes.io/serviceaccount: how `skiff up` runs it).
 */

export interface DnsImageOptions {
  port: number;
  healthPort: number;
  readyPort: number;
  domain: string;
  ttl: number;
  kubeconfig?: string;
  upstream?: Upstream;
}

export function parseUpstream(v: string): Upstream {
  const m = /^\[?([0-9a-fA-F:.]+?)\]?(?::(\d+))?$/.exec(v.trim());
  const port = Number(m?.[2] ?? 53);
  if (!m || !m[1] || !Number.isInteger(port) || port < 1 || port > 65535)
    throw new UserError(`--upstream: expected IP[:PORT], got "${v}"`, 2);
  return { host: m[1], port };
}

export function parseDnsArgs(argv: string[]): DnsImageOptions {
  const f = parseImageFlags(argv, ['port', 'health-port', 'ready-port', 'domain', 'ttl', 'kubeconfig', 'upstream']);
  const domain = (f.str('domain') ?? 'cluster.local').replace(/\.$/, '').toLowerCase();
  if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(domain))
    throw new UserError(`--domain: "${domain}" is not a DNS name`, 2);
  const upstream = f.str('upstream');
  return {
    port: f.int('port', 53),
    healthPort: f.int('health-port', 8080),
    readyPort: f.int('ready-port', 8181),
    domain,
    ttl: f.int('ttl', 5),
    kubeconfig: f.str('kubeconfig'),
    upstream: upstream ? parseUpstream(upstream) : undefined,
  };
}

function clusterConfig(file: string | undefined): KubeConfig {
  if (file) return loadKubeConfig(file);
  if (!process.env.KUBERNETES_SERVICE_HOST)
    throw new UserError('skiff/dns: no --kubeconfig and not in a pod (KUBERNETES_SERVICE_HOST is unset)', 2);
  const kc = new KubeConfig();
  kc.loadFromCluster();
  return kc;
}

function listen(port: number, answer: (path: string) => [number, string]): Promise<() => Promise<void>> {
  const server = createServer((req, res) => {
    const [code, body] = answer(new URL(req.url ?? '/', 'http://x').pathname);
    res.writeHead(code, { 'content-type': 'text/plain' });
    res.end(body);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () =>
      resolve(async () => {
        server.closeAllConnections();
        await new Promise<void>((r) => server.close(() => r()));
      }),
    );
  });
}

export async function startDns(o: DnsImageOptions): Promise<Running> {
  const log = createLogger('dns');
  const cluster = new ClusterZone(clusterConfig(o.kubeconfig), o.domain, o.ttl, log);
  cluster.start();
  const dns = await startDnsServer({ port: o.port, zone: () => cluster.zone(), upstream: o.upstream, log });
  const closers = [
    await listen(o.healthPort, (p) => (p === '/health' ? [200, 'OK'] : [404, 'not found'])),
    await listen(o.readyPort, (p) =>
      p !== '/ready' ? [404, 'not found'] : cluster.synced ? [200, 'OK'] : [503, 'caches not synced'],
    ),
  ];
  log.info({ port: o.port, domain: o.domain, upstream: o.upstream }, 'serving cluster DNS');
  return {
    close: async () => {
      cluster.stop();
      await dns.close();
      for (const c of closers) await c();
    },
  };
}
