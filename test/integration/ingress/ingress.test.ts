/**
 * The ingress controller on the real datapath: the API server and `skiff ingress-controller` run in a
 * server namespace with a bridge; three backend namespaces run a small HTTP/WebSocket server each; a
 * client namespace sends requests to the controller's address. Objects are applied with the real kubectl;
 * Services and EndpointSlices are written by hand (no kubelet here), as a Service's controller would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { CTRL_IP, IngressLab, KUBECTL, SKIFF, until, type Res } from '../../helpers/ingress/lab.js';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { selfSignedServingCert } from '../../../src/apiserver/auth/pki.js';

const lab = new Lab('ing');
const L = new IngressLab(lab);
const kubectl = (args: string[], input?: string) => L.kubectl(args, input);
const kubectlFails = (args: string[], input?: string) => L.kubectlFails(args, input);
const client = <T = Res[]>(args: string[]) => L.client<T>(args);
const get = (path: string, host: string, count = 1, headers: Record<string, string> = {}) =>
  L.get(path, host, count, headers);
const serviceYaml = (name: string, backends: string[]) => L.serviceYaml(name, backends);

beforeAll(async () => {
  requireRootAndTools(['ip']);
  for (const f of [KUBECTL, SKIFF])
    if (!existsSync(f)) throw new Error(`${f} is missing (kubectl 1.32; \`node scripts/build.mjs\` builds dist/)`);
  await L.up({ backends: 3 });
}, 180_000);

afterAll(async () => {
  await lab.cleanup();
});

describe('Ingress', () => {
  it('routes by host and by path to two Services, with X-Forwarded headers and the client Host', async () => {
    await kubectl(['apply', '-f', '-'], serviceYaml('svc-a', ['b1']) + '---\n' + serviceYaml('svc-b', ['b2']));
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: default}
spec:
  ingressClassName: skiff
  rules:
  - host: a.example
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: svc-a, port: {number: 80}}}}]
  - host: b.example
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: svc-b, port: {name: http}}}}]
  - http:
      paths:
      - {path: /a, pathType: Prefix, backend: {service: {name: svc-a, port: {number: 80}}}}
      - {path: /b, pathType: Exact, backend: {service: {name: svc-b, port: {number: 80}}}}
`,
    );
    const r = await until('host routing', 20_000, async () => {
      const [a] = await get('/x?q=1', 'a.example');
      return a?.backend === 'b1' ? a : undefined;
    });
    const seen = JSON.parse(r.body) as { url: string; headers: Record<string, string> };
    expect(seen.url).toBe('/x?q=1');
    expect(seen.headers.host).toBe('a.example');
    expect(seen.headers['x-forwarded-for']).toBe('10.250.0.100');
    expect(seen.headers['x-forwarded-proto']).toBe('http');
    expect(seen.headers['x-forwarded-host']).toBe('a.example');
    expect((await get('/', 'b.example'))[0]!.backend).toBe('b2');
    expect((await get('/a/deep', 'other.example'))[0]!.backend).toBe('b1');
    expect((await get('/b', 'other.example'))[0]!.backend).toBe('b2');
    // Exact does not match a longer path; /ab is not under the /a prefix; nothing else matches: 404.
    const miss = await get('/b/c', 'other.example');
    expect(miss[0]!.status).toBe(404);
    expect((await get('/ab', 'other.example'))[0]!.status).toBe(404);
    expect(miss[0]!.body).toMatch(/no Ingress or HTTPRoute matches/);
  });

  it('reports the controller Service address in the Ingress status, and kubectl shows it', async () => {
    const out = await until('the Ingress address', 20_000, async () => {
      const o = await kubectl(['get', 'ingress', 'web', '-o', 'wide']);
      return /198\.18\.0\.240/.test(o) ? o : undefined;
    });
    expect(out).toMatch(/web\s+skiff\s+a\.example,b\.example\s+198\.18\.0\.240\s+80/);
  });

  it('gives an Ingress without a class the default IngressClass (DefaultIngressClass admission)', async () => {
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: noclass, namespace: default}
spec:
  defaultBackend: {service: {name: svc-b, port: {number: 80}}}
`,
    );
    expect(await kubectl(['get', 'ingress', 'noclass', '-o', 'jsonpath={.spec.ingressClassName}'])).toBe('skiff');
    // Its defaultBackend now serves requests no rule matches.
    await until('the default backend', 20_000, async () =>
      (await get('/nothing', 'nohost.example'))[0]!.backend === 'b2' ? true : undefined,
    );
    await kubectl(['delete', 'ingress', 'noclass']);
  });

  it('takes the protobuf body of `kubectl create ingress`', async () => {
    await kubectl([
      'create',
      'ingress',
      'simple',
      '--class=skiff',
      '--rule=s.example/api*=svc-a:80',
      '--rule=s.example/exact=svc-b:http',
    ]);
    const o = JSON.parse(await kubectl(['get', 'ingress', 'simple', '-o', 'json'])) as { spec: unknown };
    expect(o.spec).toEqual({
      ingressClassName: 'skiff',
      rules: [
        {
          host: 's.example',
          http: {
            paths: [
              { path: '/api', pathType: 'Prefix', backend: { service: { name: 'svc-a', port: { number: 80 } } } },
              { path: '/exact', pathType: 'Exact', backend: { service: { name: 'svc-b', port: { name: 'http' } } } },
            ],
          },
        },
      ],
    });
    await until('s.example', 20_000, async () =>
      (await get('/api/v1', 's.example'))[0]!.backend === 'b1' ? true : undefined,
    );
    await kubectl(['delete', 'ingress', 'simple']);
  });

  it('rejects invalid Ingresses as kube-apiserver does', async () => {
    const bad = (spec: string) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bad, namespace: default}
spec:
${spec}`;
    expect(
      await kubectlFails(
        ['apply', '-f', '-'],
        bad('  rules: [{http: {paths: [{path: /x, backend: {service: {name: a, port: {number: 80}}}}]}}]\n'),
      ),
    ).toMatch(/spec\.rules\[0\]\.http\.paths\[0\]\.pathType: Required value/);
    expect(
      await kubectlFails(
        ['apply', '-f', '-'],
        bad(
          '  rules: [{host: "*.*.example", http: {paths: [{path: /, pathType: Prefix, ' +
            'backend: {service: {name: a, port: {number: 80}}}}]}}]\n',
        ),
      ),
    ).toMatch(/wildcard DNS-1123 subdomain/);
    expect(
      await kubectlFails(
        ['apply', '-f', '-'],
        bad(
          '  rules: [{host: 10.0.0.1, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: a, port: {number: 80}}}}]}}]\n',
        ),
      ),
    ).toMatch(/must be a DNS name, not an IP address/);
    expect(
      await kubectlFails(
        ['apply', '-f', '-'],
        bad(
          '  rules: [{http: {paths: [{path: "a//b", pathType: Exact, backend: {service: {name: a, port: {number: 80}}}}]}}]\n',
        ),
      ),
    ).toMatch(/must be an absolute path/);
    expect(await kubectlFails(['apply', '-f', '-'], bad('  tls: []\n'))).toMatch(
      /either `defaultBackend` or `rules` must be specified/,
    );
  });

  it('answers 503 with a clear body when a backend has no ready endpoint (scaled to zero)', async () => {
    await kubectl(['apply', '-f', '-'], serviceYaml('svc-a', []));
    const r = await until('the 503', 20_000, async () => {
      const [x] = await get('/', 'a.example');
      return x?.status === 503 ? x : undefined;
    });
    expect(r.body).toMatch(/no ready endpoints for service default\/svc-a port 80/);
    await kubectl(['apply', '-f', '-'], serviceYaml('svc-a', ['b1']));
    await until('svc-a back', 20_000, async () =>
      (await get('/', 'a.example'))[0]!.backend === 'b1' ? true : undefined,
    );
  });

  it('balances over the endpoints itself (not through a ClusterIP)', async () => {
    await kubectl(['apply', '-f', '-'], serviceYaml('svc-c', ['b1', 'b2', 'b3']));
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: spread, namespace: default}
spec:
  rules: [{host: c.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: svc-c, port: {number: 80}}}}]}}]
`,
    );
    await until('c.example', 20_000, async () => ((await get('/', 'c.example'))[0]!.status === 200 ? true : undefined));
    const rs = await get('/', 'c.example', 30);
    const counts = new Map<string, number>();
    for (const r of rs) counts.set(r.backend ?? `!${r.status}`, (counts.get(r.backend ?? `!${r.status}`) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual(['b1', 'b2', 'b3']);
    for (const n of counts.values()) expect(n).toBe(10);
  });

  it('moves a path to another Service while a client loops, without a failed request', async () => {
    const move = (svc: string) => `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: moving, namespace: default}
spec:
  rules: [{host: m.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: ${svc}, port: {number: 80}}}}]}}]
`;
    await kubectl(['apply', '-f', '-'], move('svc-a'));
    await until('m.example', 20_000, async () =>
      (await get('/', 'm.example'))[0]!.backend === 'b1' ? true : undefined,
    );
    const loop = client<{
      total: number;
      failed: number;
      statuses: Record<string, number>;
      backends: Record<string, number>;
    }>(['loop', `http://${CTRL_IP}/`, '4000', 'm.example']);
    await new Promise((r) => setTimeout(r, 1500));
    await kubectl(['apply', '-f', '-'], move('svc-b'));
    const r = await loop;
    expect(r.failed, JSON.stringify(r)).toBe(0);
    expect(r.backends.b1).toBeGreaterThan(0);
    expect(r.backends.b2).toBeGreaterThan(0);
  });

  it('proxies WebSocket upgrades to the backend', async () => {
    const r = await client<{ reply?: string; err?: string }>(['ws', `ws://${CTRL_IP}/chat`, 'hello', 'a.example']);
    expect(r).toEqual({ reply: 'b1:hello' });
  });

  it('terminates TLS with the certificate of a kubernetes.io/tls Secret (SNI)', async () => {
    const { certPem, keyPem } = selfSignedServingCert('secure.example', ['secure.example']);
    const crt = join(L.dir, 'secure.crt');
    const key = join(L.dir, 'secure.key');
    writeFileSync(crt, certPem);
    writeFileSync(key, keyPem);
    await kubectl(['create', 'secret', 'tls', 'secure-tls', '--cert', crt, '--key', key]);
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: secure, namespace: default}
spec:
  tls: [{hosts: [secure.example], secretName: secure-tls}]
  rules: [{host: secure.example, http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: svc-c, port: {number: 80}}}}]}}]
`,
    );
    const r = await until('TLS with the secret', 20_000, async () => {
      const x = await client<Res>(['tls', `https://${CTRL_IP}/tls`, 'secure.example', crt]);
      return x.status === 200 ? x : undefined;
    });
    expect(r.subject).toBe('secure.example');
    expect((JSON.parse(r.body) as { headers: Record<string, string> }).headers['x-forwarded-proto']).toBe('https');
  });
});

describe('Gateway API', () => {
  const gatewayYaml = `apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata: {name: skiff}
spec: {controllerName: skiff.dev/gateway-controller}
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata: {name: gw, namespace: default}
spec:
  gatewayClassName: skiff
  listeners:
  - {name: http, port: 80, protocol: HTTP}
  - {name: odd, port: 8081, protocol: HTTP}
`;

  it('accepts our GatewayClass and Gateway and reports listener conditions and the address', async () => {
    await kubectl(['apply', '-f', '-'], gatewayYaml);
    await until('GatewayClass Accepted', 20_000, async () =>
      (await kubectl([
        'get',
        'gatewayclass',
        'skiff',
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Accepted")].status}',
      ])) === 'True'
        ? true
        : undefined,
    );
    const gw = await until('Gateway Programmed', 20_000, async () => {
      const o = JSON.parse(await kubectl(['get', 'gateway', 'gw', '-o', 'json'])) as {
        status: {
          conditions: { type: string; status: string }[];
          addresses?: { value: string }[];
          listeners?: { name: string; conditions: { type: string; status: string; reason: string }[] }[];
        };
      };
      return o.status.conditions.find((c) => c.type === 'Programmed')?.status === 'True' ? o : undefined;
    });
    expect(gw.status.addresses).toEqual([{ type: 'IPAddress', value: '198.18.0.240' }]);
    const odd = gw.status.listeners!.find((l) => l.name === 'odd')!;
    expect(odd.conditions.find((c) => c.type === 'Accepted')).toMatchObject({
      status: 'False',
      reason: 'PortUnavailable',
    });
    expect(await kubectl(['get', 'gateway', 'gw'])).toMatch(/gw\s+skiff\s+198\.18\.0\.240\s+True/);
  });

  it('routes HTTPRoutes by path, header and method, splits by weight, modifies headers and redirects', async () => {
    await kubectl(['apply', '-f', '-'], serviceYaml('canary', ['b3']));
    await kubectl(
      ['apply', '-f', '-'],
      `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: app, namespace: default}
spec:
  parentRefs: [{name: gw, sectionName: http}]
  hostnames: [gw.example]
  rules:
  - matches: [{path: {type: PathPrefix, value: /split}}]
    backendRefs: [{name: svc-a, port: 80, weight: 80}, {name: canary, port: 80, weight: 20}]
  - matches: [{path: {type: PathPrefix, value: /api}, headers: [{name: x-env, value: canary}]}]
    filters: [{type: RequestHeaderModifier, requestHeaderModifier: {set: [{name: x-routed, value: canary}], remove: [x-env]}}]
    backendRefs: [{name: canary, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /api}, method: POST}]
    backendRefs: [{name: svc-b, port: 80}]
  - matches: [{path: {type: PathPrefix, value: /api}}]
    backendRefs: [{name: svc-a, port: 80}]
  - matches: [{path: {type: Exact, value: /old}}]
    filters: [{type: RequestRedirect, requestRedirect: {scheme: https, hostname: new.example, statusCode: 301}}]
  - matches: [{path: {type: PathPrefix, value: /missing}}]
    backendRefs: [{name: does-not-exist, port: 80}]
`,
    );
    const parents = await until('HTTPRoute status', 20_000, async () => {
      const o = JSON.parse(await kubectl(['get', 'httproute', 'app', '-o', 'json'])) as {
        status: {
          parents: { controllerName: string; conditions: { type: string; status: string; reason: string }[] }[];
        };
      };
      return o.status.parents.length ? o.status.parents : undefined;
    });
    expect(parents[0]!.controllerName).toBe('skiff.dev/gateway-controller');
    expect(parents[0]!.conditions.find((c) => c.type === 'Accepted')?.status).toBe('True');
    expect(parents[0]!.conditions.find((c) => c.type === 'ResolvedRefs')).toMatchObject({
      status: 'False',
      reason: 'BackendNotFound',
    });

    await until('the route', 20_000, async () =>
      (await get('/api/x', 'gw.example'))[0]!.backend === 'b1' ? true : undefined,
    );
    const canary = (await get('/api/x', 'gw.example', 1, { 'x-env': 'canary' }))[0]!;
    expect(canary.backend).toBe('b3');
    const seen = JSON.parse(canary.body) as { headers: Record<string, string> };
    expect(seen.headers['x-routed']).toBe('canary');
    expect(seen.headers['x-env']).toBeUndefined();
    const redirect = (await get('/old?x=1', 'gw.example'))[0]!;
    expect(redirect.status).toBe(301);
    expect(redirect.location).toBe('https://new.example/old?x=1');
    const missing = (await get('/missing', 'gw.example'))[0]!;
    expect(missing.status).toBe(500);
    expect(missing.body).toMatch(/service default\/does-not-exist not found/);
    // Another host is not served by this route (its hostnames do not match).
    expect((await get('/api/x', 'elsewhere.example'))[0]!.status).toBe(404);

    const N = 400;
    const rs = await get('/split', 'gw.example', N);
    const toCanary = rs.filter((r) => r.backend === 'b3').length;
    const toMain = rs.filter((r) => r.backend === 'b1').length;
    process.stdout.write(`canary split over ${N} requests: ${toMain} main / ${toCanary} canary (weights 80/20)\n`);
    expect(toMain + toCanary).toBe(N);
    // 20% of 400 = 80; five standard deviations (8 each) either side.
    expect(toCanary).toBeGreaterThan(40);
    expect(toCanary).toBeLessThan(120);
  });

  it('rejects HTTPRoutes the Gateway API CRDs reject', async () => {
    const bad = (rules: string) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: {name: bad, namespace: default}
spec:
  parentRefs: [{name: gw}]
  rules:
${rules}`;
    expect(await kubectlFails(['apply', '-f', '-'], bad('  - backendRefs: [{name: svc-a}]\n'))).toMatch(
      /Must have port for Service reference/,
    );
    expect(
      await kubectlFails(
        ['apply', '-f', '-'],
        bad('  - matches: [{path: {type: PathPrefix, value: "api"}}]\n    backendRefs: [{name: svc-a, port: 80}]\n'),
      ),
    ).toMatch(/value must be an absolute path/);
    expect(
      await kubectlFails(
        ['apply', '-f', '-'],
        bad('  - filters: [{type: RequestRedirect, requestRedirect: {statusCode: 307}}]\n'),
      ),
    ).toMatch(/Unsupported value: 307/);
  });
});
