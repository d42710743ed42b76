import { describe, expect, it } from 'vitest';
import { buildDesired } from '../../../src/proxy/model/desired.js';
import { ProxyTracker } from '../../../src/proxy/model/tracker.js';
import { ProxyMetrics } from '../../../src/proxy/metrics.js';
import { slice, svc } from '../../helpers/proxy/objects.js';

const node = { nodeName: 'n1', clusterCIDR: '10.244.0.0/16' };

describe("kube-proxy's metrics", () => {
  it('counts pending and total changes and Local services without local endpoints', async () => {
    const t = new ProxyTracker();
    const m = new ProxyMetrics();
    m.attach(t);
    const text = async (name: string) => m.registry.getSingleMetricAsString(name);
    t.updateService(svc('a', { clusterIP: '10.96.0.1', internalTrafficPolicy: 'Local' }));
    t.updateSlice(slice('a', [{ ip: '10.244.2.2', node: 'n2' }]));
    expect(await text('kubeproxy_sync_proxy_rules_service_changes_pending')).toMatch(/ 1$/m);
    expect(await text('kubeproxy_sync_proxy_rules_endpoint_changes_pending')).toMatch(/ 1$/m);
    const changed = t.takeChanges();
    const desired = buildDesired(t, node, new Map(), changed);
    m.record({ full: false, rules: 1, elements: 1, bytes: 1 }, 0.01, desired.size, desired);
    expect(await text('kubeproxy_sync_proxy_rules_service_changes_pending')).toMatch(/ 0$/m);
    expect(await text('kubeproxy_sync_proxy_rules_service_changes_total')).toMatch(/ 1$/m);
    expect(await text('kubeproxy_sync_proxy_rules_endpoint_changes_total')).toMatch(/ 1$/m);
    // the only endpoint is on n2 and the policy is Local: one internal service without local endpoints
    expect(await text('kubeproxy_sync_proxy_rules_no_local_endpoints_total')).toContain('traffic_policy="internal"} 1');
  });
});
