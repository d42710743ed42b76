import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SyncStats } from './backend.js';

/** The proxy's Prometheus metrics (own registry, so tests can make several). */
export class ProxyMetrics {
  readonly registry = new Registry();
  readonly syncDuration = new Histogram({
    name: 'skiff_proxy_sync_duration_seconds',
    help: 'Time to program one sync into the datapath',
    labelNames: ['kind'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly rules = new Gauge({
    name: 'skiff_proxy_rules',
    help: 'Rules (nftables) or listeners (userspace)',
    registers: [this.registry],
  });
  readonly elements = new Gauge({
    name: 'skiff_proxy_map_elements',
    help: 'Map elements (nftables) or flows (userspace)',
    registers: [this.registry],
  });
  readonly services = new Gauge({
    name: 'skiff_proxy_services',
    help: 'Services programmed',
    registers: [this.registry],
  });
  readonly lastSync = new Gauge({
    name: 'skiff_proxy_last_sync_timestamp_seconds',
    help: 'Unix time of the last successful sync',
    registers: [this.registry],
  });
  readonly syncErrors = new Counter({
    name: 'skiff_proxy_sync_errors_total',
    help: 'Failed syncs',
    registers: [this.registry],
  });
  /** kube-proxy's SLI: from the change time the EndpointSlice controller recorded to the rule programmed. */
  readonly networkProgramming = new Histogram({
    name: 'kubeproxy_network_programming_duration_seconds',
    help: 'In Cluster Network Programming Latency in seconds',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });

  record(stats: SyncStats, seconds: number, services: number): void {
    this.syncDuration.observe({ kind: stats.full ? 'full' : 'partial' }, seconds);
    this.rules.set(stats.rules);
    this.elements.set(stats.elements);
    this.services.set(services);
    this.lastSync.set(Date.now() / 1000);
  }
}

/** /metrics and /healthz on one port (kube-proxy serves these on 10249 / 10256). */
export function serveMetrics(
  metrics: ProxyMetrics,
  healthy: () => { ok: boolean; lastSync?: number },
  port: number,
  host = '0.0.0.0',
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      metrics.registry
        .metrics()
        .then((body) => {
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          res.end(body);
        })
        .catch((err: unknown) => {
          res.writeHead(500);
          res.end(String(err));
        });
      return;
    }
    if (path === '/healthz' || path === '/livez') {
      const h = healthy();
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ healthy: h.ok, lastUpdated: h.lastSync ? new Date(h.lastSync).toISOString() : null }));
      return;
    }
    res.writeHead(404);
    res.end('not found\n');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}
