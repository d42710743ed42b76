import { describe, expect, it } from 'vitest';
import type { ProxyBackend, SyncStats } from '../../../src/proxy/backend.js';
import { ProxyMetrics, serveMetrics } from '../../../src/proxy/metrics.js';
import type { DesiredState } from '../../../src/proxy/model/types.js';
import { ProxyTracker } from '../../../src/proxy/model/tracker.js';
import { ProxyRunner } from '../../../src/proxy/runner.js';
import { FakeClock, settle } from '../../helpers/clock.js';
import { slice, svc } from '../../helpers/proxy/objects.js';

class RecordingBackend implements ProxyBackend {
  readonly mode = 'recording';
  calls: { changed: string[] | 'full'; services: string[] }[] = [];
  failNext = false;
  async init(): Promise<void> {}
  async sync(desired: DesiredState, changed: ReadonlySet<string> | 'full'): Promise<SyncStats> {
    this.calls.push({
      changed: changed === 'full' ? 'full' : [...changed].sort(),
      services: [...desired.keys()].sort(),
    });
    if (this.failNext) {
      this.failNext = false;
      throw new Error('kernel said no');
    }
    return { full: changed === 'full', rules: 1, elements: desired.size, bytes: 0 };
  }
  async cleanup(): Promise<void> {}
}

const node = { nodeName: 'n1' };

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('proxy runner', () => {
  it('starts with a full sync, then coalesces changes into one partial sync', async () => {
    const t = new ProxyTracker();
    const b = new RecordingBackend();
    const metrics = new ProxyMetrics();
    // burst 1: the rate limit applies from the second sync on, so the two changes below must coalesce; the
    // fake clock keeps a loaded machine from stretching the gap between them past the interval
    const clock = new FakeClock();
    const r = new ProxyRunner(t, b, node, {
      minSyncIntervalMs: 50,
      fullSyncIntervalMs: 3_600_000,
      burst: 1,
      metrics,
      clock,
    });
    t.updateService(svc('a', { clusterIP: '10.96.0.1' }));
    r.notify(); // before start: nothing
    expect(b.calls).toHaveLength(0);
    r.start();
    await r.idle();
    expect(b.calls).toEqual([{ changed: 'full', services: ['default/a'] }]);
    t.updateService(svc('b', { clusterIP: '10.96.0.2' }));
    r.notify();
    await settle();
    expect(b.calls).toHaveLength(1); // held back by the minimum interval
    t.updateSlice(slice('a', [{ ip: '10.244.1.2' }]));
    r.notify();
    await clock.advance(50);
    await r.idle();
    expect(b.calls.slice(1)).toEqual([{ changed: ['default/a', 'default/b'], services: ['default/a', 'default/b'] }]);
    // kube-proxy's names: every sync in the combined histogram, this one also in the partial one
    expect(
      await metrics.registry.getSingleMetricAsString('kubeproxy_sync_partial_proxy_rules_duration_seconds'),
    ).toMatch(/_count 1$/m);
    expect(await metrics.registry.getSingleMetricAsString('kubeproxy_sync_proxy_rules_duration_seconds')).toMatch(
      /_count 2$/m,
    );
    await r.stop();
  });

  it('follows a failed sync with a full one, and requests full syncs on its timer', async () => {
    const t = new ProxyTracker();
    const b = new RecordingBackend();
    const r = new ProxyRunner(t, b, node, { minSyncIntervalMs: 0, fullSyncIntervalMs: 3_600_000, retryMs: 20 });
    r.start();
    await r.idle();
    b.failNext = true;
    t.updateService(svc('a', { clusterIP: '10.96.0.1' }));
    r.notify();
    await r.idle();
    expect(b.calls.map((c) => c.changed)).toEqual(['full', ['default/a'], 'full']);
    expect(r.healthy().ok).toBe(true);
    await r.stop();

    const b2 = new RecordingBackend();
    const r2 = new ProxyRunner(t, b2, node, { minSyncIntervalMs: 0, fullSyncIntervalMs: 30 });
    r2.start();
    await until(() => b2.calls.length >= 3);
    expect(b2.calls.every((c) => c.changed === 'full')).toBe(true);
    await r2.stop();
  });

  it('measures network programming latency from the slice trigger time, once per change', async () => {
    const t = new ProxyTracker();
    const b = new RecordingBackend();
    const metrics = new ProxyMetrics();
    const r = new ProxyRunner(t, b, node, { minSyncIntervalMs: 0, fullSyncIntervalMs: 3_600_000, metrics });
    const withTrigger = (ms: number, ip = '10.244.1.2') => {
      const s = slice('a', [{ ip }]);
      s.metadata!.annotations = { 'endpoints.kubernetes.io/last-change-trigger-time': new Date(ms).toISOString() };
      return s;
    };
    t.updateService(svc('a', { clusterIP: '10.96.0.1' }));
    t.updateSlice(withTrigger(Date.now() - 2500)); // changed 2.5 s ago
    r.start();
    await r.idle();
    const count = async () =>
      (await metrics.networkProgramming.get()).values.find((v) => v.metricName?.endsWith('_count'))?.value;
    const sum = async () =>
      (await metrics.networkProgramming.get()).values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
    expect(await count()).toBe(1);
    expect(await sum()).toBeGreaterThanOrEqual(2.5);
    expect(await sum()).toBeLessThan(10);
    r.requestFull(); // the same content again: not a new change
    await r.idle();
    expect(await count()).toBe(1);
    t.updateSlice(withTrigger(Date.now(), '10.244.1.3')); // a new change
    r.notify();
    await r.idle();
    expect(await count()).toBe(2);
    expect(await metrics.registry.getSingleMetricAsString('kubeproxy_network_programming_duration_seconds')).toContain(
      'le="1"',
    );
    await r.stop();
  });

  it('serves /metrics and /healthz', async () => {
    const metrics = new ProxyMetrics();
    metrics.record({ full: true, rules: 7, elements: 42, bytes: 1 }, 0.01, 3);
    let ok = false;
    const server = await serveMetrics(metrics, () => ({ ok, lastSync: ok ? Date.now() : undefined }), 0, '127.0.0.1');
    try {
      const addr = server.address() as { port: number };
      const base = `http://127.0.0.1:${addr.port}`;
      const m = await (await fetch(`${base}/metrics`)).text();
      expect(m).toContain('skiff_proxy_map_elements 42');
      expect(m).toContain('skiff_proxy_rules 7');
      expect(m).toMatch(/^kubeproxy_sync_proxy_rules_last_timestamp_seconds \d/m);
      expect((await fetch(`${base}/healthz`)).status).toBe(503);
      ok = true;
      const h = await fetch(`${base}/healthz`);
      expect(h.status).toBe(200);
      // kube-proxy's body, Go time layout included
      const goTime = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} \+0000 UTC$/;
      const body = (await h.json()) as { lastUpdated: string; currentTime: string; nodeEligible: boolean };
      expect(body.nodeEligible).toBe(true);
      expect(body.lastUpdated).toMatch(goTime);
      expect(body.currentTime).toMatch(goTime);
      const l = (await (await fetch(`${base}/livez`)).json()) as Record<string, unknown>;
      expect(Object.keys(l)).toEqual(['lastUpdated', 'currentTime']);
      expect(await metrics.registry.getSingleMetricAsString('kubeproxy_proxy_healthz_total')).toContain(
        'kubeproxy_proxy_healthz_total{code="503"} 1',
      );
    } finally {
      server.close();
    }
  });
});
