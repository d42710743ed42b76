/**
 * The ingress add-on in a whole `skiff up` lab: the controller runs as a pod of Deployment
 * skiff-ingress/skiff-ingress on its ServiceAccount token, behind a LoadBalancer Service; the lab's external
 * client reaches Deployments through it by host (Ingress) and through a Gateway + HTTPRoute.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/os/exec.js';
import { INGRESS_NAME, INGRESS_NS } from '../../src/lab/addons/ingress.js';
import { Lab, requireRootAndTools } from '../helpers/lab.js';
import { ROOT, type Res } from '../helpers/ingress/lab.js';
import { deployment, service, until, upCluster, type Cluster, type SvcJson } from './helpers.js';

const lab = new Lab('inge2e');
let c: Cluster;

async function fromClient(url: string, host: string, count: number): Promise<Res[]> {
  const out = await run(
    [
      'ip',
      'netns',
      'exec',
      c.ns('client'),
      process.execPath,
      join(ROOT, 'test/helpers/ingress/client.mjs'),
      'get',
      url,
      String(count),
      host,
      '{}',
    ],
    { timeoutMs: 60_000 },
  );
  return JSON.parse(out.trim()) as Res[];
}

beforeAll(async () => {
  requireRootAndTools(['ip', 'nft', 'socat']);
  c = await upCluster(lab, { cni: 'bridge', proxyMode: 'nftables' });
}, 300_000);

afterAll(async () => {
  await lab.cleanup();
});

describe('ingress add-on', () => {
  it('serves an Ingress by host and a Gateway HTTPRoute to the external client through its LoadBalancer IP', async () => {
    const api = c.api;
    for (const [name, n] of [
      ['web-a', 2],
      ['web-b', 1],
    ] as const) {
      await api.request('POST', '/apis/apps/v1/namespaces/default/deployments', deployment(name, n));
      await api.request('POST', '/api/v1/namespaces/default/services', service(name, 'ClusterIP', { app: name }));
    }
    await api.request('POST', '/apis/networking.k8s.io/v1/namespaces/default/ingresses', {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'web' },
      spec: {
        rules: ['a', 'b'].map((x) => ({
          host: `${x}.lab.example`,
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: `web-${x}`, port: { number: 80 } } } },
            ],
          },
        })),
      },
    });
    const lbIP = await until('the ingress LoadBalancer IP', 60_000, async () => {
      const s = await api.request<SvcJson>('GET', `/api/v1/namespaces/${INGRESS_NS}/services/${INGRESS_NAME}`);
      return s.status?.loadBalancer?.ingress?.[0]?.ip;
    });
    // The Ingress got the default class and, from the controller, the LoadBalancer address.
    const ing = await until('the Ingress status', 60_000, async () => {
      const o = await api.request<{
        spec: { ingressClassName?: string };
        status?: { loadBalancer?: { ingress?: { ip: string }[] } };
      }>('GET', '/apis/networking.k8s.io/v1/namespaces/default/ingresses/web');
      return o.status?.loadBalancer?.ingress?.[0]?.ip ? o : undefined;
    });
    expect(ing.spec.ingressClassName).toBe('skiff');
    expect(ing.status!.loadBalancer!.ingress![0]!.ip).toBe(lbIP);

    const hostsOf = (rs: Res[]) => new Set(rs.filter((r) => r.status === 200).map((r) => r.body.trim()));
    const a = await until('web-a through the ingress', 90_000, async () => {
      const rs = await fromClient(`http://${lbIP}/hostname`, 'a.lab.example', 20);
      const h = hostsOf(rs);
      return rs.every((r) => r.status === 200) && h.size === 2 ? h : undefined;
    });
    for (const h of a) expect(h).toMatch(/^web-a-/);
    const b = hostsOf(await fromClient(`http://${lbIP}/hostname`, 'b.lab.example', 5));
    expect([...b].every((h) => h.startsWith('web-b-')) && b.size === 1).toBe(true);
    expect((await fromClient(`http://${lbIP}/hostname`, 'nobody.example', 1))[0]!.status).toBe(404);

    await api.request('POST', '/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways', {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'Gateway',
      metadata: { name: 'gw' },
      spec: { gatewayClassName: 'skiff', listeners: [{ name: 'http', port: 80, protocol: 'HTTP' }] },
    });
    await api.request('POST', '/apis/gateway.networking.k8s.io/v1/namespaces/default/httproutes', {
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name: 'gw-route' },
      spec: {
        parentRefs: [{ name: 'gw' }],
        hostnames: ['gw.lab.example'],
        rules: [
          {
            matches: [{ path: { type: 'PathPrefix', value: '/hostname' } }],
            backendRefs: [{ name: 'web-b', port: 80 }],
          },
        ],
      },
    });
    const gw = await until('the Gateway Programmed with the LoadBalancer address', 60_000, async () => {
      const o = await api.request<{
        status?: { addresses?: { value: string }[]; conditions?: { type: string; status: string }[] };
      }>('GET', '/apis/gateway.networking.k8s.io/v1/namespaces/default/gateways/gw');
      return o.status?.conditions?.some((x) => x.type === 'Programmed' && x.status === 'True') ? o : undefined;
    });
    expect(gw.status!.addresses).toEqual([{ type: 'IPAddress', value: lbIP }]);
    const viaGw = await until('web-b through the Gateway', 30_000, async () => {
      const [r] = await fromClient(`http://${lbIP}/hostname`, 'gw.lab.example', 1);
      return r?.status === 200 ? r : undefined;
    });
    expect(viaGw.body.trim()).toMatch(/^web-b-/);
  });
});
