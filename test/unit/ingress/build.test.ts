import { describe, expect, it } from 'vitest';
import { build, intersectHosts, type Inputs } from '../../../src/ingress/build.js';

const names = {
  ingressController: 'skiff.dev/ingress-controller',
  gatewayController: 'skiff.dev/gateway-controller',
  httpPort: 80,
  httpsPort: 443,
};
const meta = (name: string, ns?: string, extra: Record<string, unknown> = {}) => ({
  name,
  ...(ns ? { namespace: ns } : {}),
  creationTimestamp: '2026-01-01T00:00:00Z',
  generation: 1,
  ...extra,
});
const empty = (): Inputs => ({
  ingressClasses: [],
  ingresses: [],
  gatewayClasses: [],
  gateways: [],
  httpRoutes: [],
  services: [],
  namespaces: [],
});
const req = (host: string, path: string) => ({
  scheme: 'http' as const,
  host,
  path,
  method: 'GET',
  headers: {},
  query: new URLSearchParams(),
});

describe('Ingress selection', () => {
  it('serves only Ingresses of an IngressClass with our controller (field or legacy annotation)', () => {
    const i = empty();
    i.ingressClasses = [
      { metadata: meta('skiff'), spec: { controller: names.ingressController } },
      { metadata: meta('nginx'), spec: { controller: 'k8s.io/ingress-nginx' } },
    ];
    const ing = (name: string, spec: object, annotations?: object) => ({
      metadata: meta(name, 'default', annotations ? { annotations } : {}),
      spec: {
        rules: [
          {
            host: `${name}.example`,
            http: {
              paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 's', port: { number: 80 } } } }],
            },
          },
        ],
        ...spec,
      },
    });
    i.ingresses = [
      ing('ours', { ingressClassName: 'skiff' }),
      ing('legacy', {}, { 'kubernetes.io/ingress.class': 'skiff' }),
      ing('theirs', { ingressClassName: 'nginx' }),
      ing('none', {}),
    ];
    const b = build(i, names);
    expect(b.servedIngresses.sort()).toEqual(['default/legacy', 'default/ours']);
    expect(b.table.match(req('ours.example', '/'))).toBeDefined();
    expect(b.table.match(req('theirs.example', '/'))).toBeUndefined();
  });
});

describe('Gateway API attachment and status', () => {
  const base = (): Inputs => {
    const i = empty();
    i.gatewayClasses = [{ metadata: meta('skiff'), spec: { controllerName: names.gatewayController } }];
    i.namespaces = [
      { metadata: meta('default', undefined, { labels: { team: 'a' } }) },
      { metadata: meta('other', undefined, { labels: { team: 'b' } }) },
    ];
    i.services = [{ metadata: meta('web', 'default') }, { metadata: meta('web', 'other') }];
    i.gateways = [
      {
        metadata: meta('gw', 'default'),
        spec: {
          gatewayClassName: 'skiff',
          listeners: [
            {
              name: 'http',
              port: 80,
              protocol: 'HTTP',
              hostname: '*.example.com',
              allowedRoutes: { namespaces: { from: 'Same' } },
            },
            {
              name: 'all',
              port: 80,
              protocol: 'HTTP',
              hostname: 'all.test',
              allowedRoutes: { namespaces: { from: 'All' } },
            },
            { name: 'tcp', port: 9000, protocol: 'TCP' },
          ],
        },
      },
    ];
    return i;
  };
  const route = (name: string, ns: string, spec: object) => ({ metadata: meta(name, ns), spec });

  it('attaches by sectionName, namespace policy and hostname intersection, and says why not', () => {
    const i = base();
    i.httpRoutes = [
      route('ok', 'default', {
        parentRefs: [{ name: 'gw', sectionName: 'http' }],
        hostnames: ['a.example.com'],
        rules: [{ backendRefs: [{ name: 'web', port: 80 }] }],
      }),
      route('nohost', 'default', {
        parentRefs: [{ name: 'gw', sectionName: 'http' }],
        hostnames: ['a.other.org'],
        rules: [{ backendRefs: [{ name: 'web', port: 80 }] }],
      }),
      route('foreign', 'other', {
        parentRefs: [{ name: 'gw', namespace: 'default', sectionName: 'http' }],
        rules: [{ backendRefs: [{ name: 'web', port: 80 }] }],
      }),
      route('foreign-all', 'other', {
        parentRefs: [{ name: 'gw', namespace: 'default', sectionName: 'all' }],
        rules: [{ backendRefs: [{ name: 'web', port: 80 }] }],
      }),
      route('broken', 'default', {
        parentRefs: [{ name: 'gw', sectionName: 'http' }],
        rules: [{ backendRefs: [{ name: 'nope', port: 80 }] }],
      }),
    ];
    const b = build(i, names);
    const cond = (key: string, type: string) => b.routeParents.get(key)?.[0]?.conditions.find((c) => c.type === type);
    expect(cond('default/ok', 'Accepted')).toMatchObject({ status: 'True', reason: 'Accepted' });
    expect(cond('default/nohost', 'Accepted')).toMatchObject({ status: 'False', reason: 'NoMatchingListenerHostname' });
    expect(cond('other/foreign', 'Accepted')).toMatchObject({ status: 'False', reason: 'NotAllowedByListeners' });
    expect(cond('other/foreign-all', 'Accepted')).toMatchObject({ status: 'True' });
    expect(cond('default/broken', 'ResolvedRefs')).toMatchObject({ status: 'False', reason: 'BackendNotFound' });
    // A route without hostnames on a listener with one takes the listener's hostname.
    expect(b.table.match(req('all.test', '/'))?.source).toBe('HTTPRoute other/foreign-all');
    expect(b.table.match(req('a.example.com', '/'))?.source).toBe('HTTPRoute default/ok');
    const gw = b.gateways[0]!;
    expect(gw.listeners.map((l) => [l.name, l.attachedRoutes])).toEqual([
      ['http', 2],
      ['all', 1],
      ['tcp', 0],
    ]);
    expect(gw.listeners[2]!.conditions[0]).toMatchObject({
      type: 'Accepted',
      status: 'False',
      reason: 'UnsupportedProtocol',
    });
    expect(gw.listeners[2]!.supportedKinds).toEqual([]);
  });

  it('ignores Gateways of other classes and their routes', () => {
    const i = base();
    i.gatewayClasses[0]!.spec.controllerName = 'example.com/other';
    i.httpRoutes = [
      route('ok', 'default', { parentRefs: [{ name: 'gw' }], rules: [{ backendRefs: [{ name: 'web', port: 80 }] }] }),
    ];
    const b = build(i, names);
    expect(b.gateways).toEqual([]);
    expect(b.routeParents.get('default/ok')).toEqual([]);
    expect(b.acceptedClasses).toEqual([]);
  });

  it('hostname intersection follows the Gateway API rules', () => {
    expect(intersectHosts(undefined, ['a.b'])).toEqual(['a.b']);
    expect(intersectHosts('*.example.com', [])).toEqual(['*.example.com']);
    expect(intersectHosts('*.example.com', ['x.example.com', 'y.other'])).toEqual(['x.example.com']);
    expect(intersectHosts('x.example.com', ['*.example.com'])).toEqual(['x.example.com']);
    expect(intersectHosts('*.example.com', ['example.com'])).toBeUndefined();
  });
});
