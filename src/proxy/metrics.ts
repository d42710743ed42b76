import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SyncStats } from './backend.js';
import type { ProxyTracker } from './model/tracker.js';
import type { DesiredState } from './model/types.js';

const SYNC_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/**
 * The proxy's Prometheus metrics (own registry, so tests can make several), under kube-proxy's names
 * (pkg/proxy/metrics) so its dashboards and alerts work, plus a few skiff_proxy_* gauges kube-proxy has no
 * name for (rules, map elements, services).
 */
export class ProxyMetrics {
  readonly registry = new Registry();
  private tracker: ProxyTracker | undefined;
  readonly syncDuration = new Histogram({
    name: 'kubeproxy_sync_proxy_rules_duration_seconds',
    help: 'SyncProxyRules latency in seconds',
    buckets: SYNC_BUCKETS,
    registers: [this.registry],
  });
  readonly syncFullDuration = new Histogram({
    name: 'kubeproxy_sync_full_proxy_rules_duration_seconds',
    help: 'SyncProxyRules latency in seconds for full resyncs',
    buckets: SYNC_BUCKETS,
    registers: [this.registry],
  });
  readonly syncPartialDuration = new Histogram({
    name: 'kubeproxy_sync_partial_proxy_rules_duration_seconds',
    help: 'SyncProxyRules latency in seconds for partial resyncs',
    buckets: SYNC_BUCKETS,
    registers: [this.registry],
  });
  readonly lastSync = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
    help: 'The last time proxy rules were successfully synced',
    registers: [this.registry],
  });
  readonly lastQueued = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
    help: 'The last time a sync of proxy rules was queued',
    registers: [this.registry],
  });
  readonly networkProgramming = new Histogram({
    name: 'kubeproxy_network_programming_duration_seconds',
    help: 'In Cluster Network Programming Latency in seconds',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly syncErrors = new Counter({
    name: 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total',
    help: 'Cumulative proxy nftables sync failures',
    registers: [this.registry],
  });
  readonly noLocalEndpoints = new Gauge({
    name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
    help: 'Number of services with a Local traffic policy and no endpoints',
    labelNames: ['traffic_policy'] as const,
    registers: [this.registry],
  });
  readonly healthzTotal = new Counter({
    name: 'kubeproxy_proxy_healthz_total',
    help: 'Cumulative proxy healthz HTTP status',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });
  readonly livezTotal = new Counter({
    name: 'kubeproxy_proxy_livez_total',
    help: 'Cumulative proxy livez HTTP status',
    labelNames: ['code'] as const,
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

  constructor() {
    // prom-client calls `collect` with the metric as `this`; the proxy's metrics object is needed beside it.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const metrics = this;
    const fromTracker = (name: string, help: string, read: (t: ProxyTracker) => number, counter: boolean) => {
      const collect = function (this: Gauge | Counter) {
        const t = metrics.tracker;
        if (!t) return;
        this.reset();
        if (this instanceof Gauge) this.set(read(t));
        else this.inc(read(t));
      };
      if (counter) new Counter({ name, help, registers: [this.registry], collect });
      else new Gauge({ name, help, registers: [this.registry], collect });
    };
    fromTracker(
      'kubeproxy_sync_proxy_rules_service_changes_pending',
      'Pending proxy rules Service changes',
      (t) => t.pendingBy.services,
      false,
    );
    fromTracker(
      'kubeproxy_sync_proxy_rules_service_changes_total',
      'Cumulative proxy rules Service changes',
      (t) => t.changesTotal.services,
      true,
    );
    fromTracker(
      'kubeproxy_sync_proxy_rules_endpoint_changes_pending',
      'Pending proxy rules Endpoint changes',
      (t) => t.pendingBy.endpoints,
      false,
    );
    fromTracker(
      'kubeproxy_sync_proxy_rules_endpoint_changes_total',
      'Cumulative proxy rules Endpoint changes',
      (t) => t.changesTotal.endpoints,
      true,
    );
  }

  /** Read change counts and trigger times from this tracker. */
  attach(tracker: ProxyTracker): void {
    this.tracker = tracker;
  }

  queued(): void {
    this.lastQueued.set(Date.now() / 1000);
  }

  record(stats: SyncStats, seconds: number, services: number, desired?: DesiredState): void {
    this.syncDuration.observe(seconds);
    (stats.full ? this.syncFullDuration : this.syncPartialDuration).observe(seconds);
    this.rules.set(stats.rules);
    this.elements.set(stats.elements);
    this.services.set(services);
    this.lastSync.set(Date.now() / 1000);
    if (desired) {
      let internal = 0;
      let external = 0;
      for (const st of desired.values()) {
        if (st.ports.some((p) => p.internalLocal && p.clusterDisposition === 'drop')) internal++;
        if (st.ports.some((p) => p.externalLocal && p.externalDisposition === 'drop')) external++;
      }
      this.noLocalEndpoints.set({ traffic_policy: 'internal' }, internal);
      this.noLocalEndpoints.set({ traffic_policy: 'external' }, external);
    }
  }
}

/** Go's time.Time String() layout, which kube-proxy's /healthz and /livez print. */
function goTime(d: Date): string {
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return (
    `${d.getUTCFullYear()}-${p(d.getUTCMonth() + 1)}-${p(d.getUTCDate())} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}.${p(d.getUTCMilliseconds(), 3)}000000 +0000 UTC`
  );
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
      // kube-proxy's ProxyHealthServer: 200 while syncs succeed and are recent, else 503; lastUpdated is
      // "now" when healthy (its compatibility rule), the last sync otherwise; /healthz adds nodeEligible.
      const h = healthy();
      const now = new Date();
      const last = h.ok ? now : new Date(h.lastSync ?? 0);
      (path === '/healthz' ? metrics.healthzTotal : metrics.livezTotal).inc({ code: h.ok ? '200' : '503' });
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json', 'x-content-type-options': 'nosniff' });
      const eligible = path === '/healthz' ? `, "nodeEligible": true` : '';
      res.end(
        `{"lastUpdated": ${JSON.stringify(goTime(last))},"currentTime": ${JSON.stringify(goTime(now))}${eligible}}`,
      );
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
