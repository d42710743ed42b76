/**
 * The API server driven by the real kubectl and by @kubernetes/client-node, end to end over HTTPS.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as k8s from '@kubernetes/client-node';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import {
  KUBECTL,
  kubectl,
  rawRequest,
  requireKubectlAndBuild,
  SKIFF,
  startServer,
  tokenOf,
  until,
  type ServerProc,
} from './server.js';

const manifests = (replicas: number, withEnv: boolean) => `apiVersion: v1
kind: Pod
metadata:
  name: web-1
  labels: {app: web}
spec:
  containers:
  - name: web
    image: skiff/netexec
    ports:
    - containerPort: 8080
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: NodePort
  selector: {app: web}
  ports:
  - name: http
    port: 80
    targetPort: 8080
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: ${replicas}
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: skiff/netexec:1.0
${withEnv ? '        env:\n        - name: GREETING\n          value: hello\n' : ''}`;

const lab = new Lab();
let s: ServerProc;
let dir: string;

beforeAll(async () => {
  requireRootAndTools([]);
  requireKubectlAndBuild();
  dir = lab.tmpdir();
  s = await startServer(dir, ['--store', 'memory', '--max-body-bytes', '1048576', '--max-requests-per-second', '20']);
  lab.onCleanup(() => s.stop());
});

afterAll(async () => {
  await lab.cleanup();
});

describe('kubectl against skiff apiserver', () => {
  it('serves the kubernetes Service with an EndpointSlice pointing at the API server itself', async () => {
    const r = await kubectl(s, ['get', 'endpointslice', 'kubernetes', '-n', 'default', '-o', 'json']);
    expect(r.stderr).toBe('');
    const slice = JSON.parse(r.stdout) as { endpoints: { addresses: string[] }[]; ports: { port: number }[] };
    expect(slice.endpoints[0]?.addresses).toEqual(['127.0.0.1']);
    expect(slice.ports[0]?.port).toBe(Number(new URL(s.url).port));
  });

  it('applies a Pod, a Service and a Deployment and prints them like Kubernetes', async () => {
    const file = join(dir, 'app.yaml');
    writeFileSync(file, manifests(2, true));
    const r = await kubectl(s, ['apply', '-f', file]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('pod/web-1 created');
    expect(r.stdout).toContain('service/web created');
    expect(r.stdout).toContain('deployment.apps/web created');

    const pods = await kubectl(s, ['get', 'pods', '-o', 'wide']);
    expect(pods.stdout.split('\n')[0]).toMatch(
      /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$/,
    );
    expect(pods.stdout).toMatch(/web-1\s+0\/1\s+Pending\s+0\s+\S+\s+<none>\s+<none>/);

    const svc = await kubectl(s, ['get', 'svc', 'web']);
    expect(svc.stdout.split('\n')[0]).toMatch(/^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE$/);
    expect(svc.stdout).toMatch(/web\s+NodePort\s+10\.(9[6-9]|10\d|11[01])\.\d+\.\d+\s+<none>\s+80:3\d{4}\/TCP/);

    const deploy = await kubectl(s, ['get', 'deploy', '-o', 'wide']);
    expect(deploy.stdout).toMatch(/web\s+0\/2\s+0\s+0\s+\S+\s+web\s+skiff\/netexec:1.0\s+app=web/);

    const ns = await kubectl(s, ['get', 'ns']);
    for (const n of ['default', 'kube-system', 'kube-public', 'kube-node-lease'])
      expect(ns.stdout).toMatch(new RegExp(`${n}\\s+Active`));
    const api = await kubectl(s, ['api-resources']);
    expect(api.stdout).toMatch(/deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/);
  });

  it('sees changes with kubectl get -w', async () => {
    const child = spawn(KUBECTL, [
      '--kubeconfig',
      s.kubeconfig,
      '--cache-dir',
      join(dir, 'kubectl-cache'),
      'get',
      'pod',
      'web-1',
      '-w',
      '--show-labels',
    ]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      await until('the initial row', 20_000, () => (out.includes('web-1') ? true : undefined));
      expect((await kubectl(s, ['label', 'pod', 'web-1', 'color=blue'])).code).toBe(0);
      await until('the watch to show the new label', 20_000, () =>
        /web-1\s+0\/1\s+Pending\s+0\s+\S+\s+(\S+,)?color=blue/.test(out) ? true : undefined,
      );
      expect(out.split('\n')[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+LABELS$/);
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('scales a deployment', async () => {
    const r = await kubectl(s, ['scale', 'deployment', 'web', '--replicas=4']);
    expect(r.stdout).toContain('deployment.apps/web scaled');
    expect((await kubectl(s, ['get', 'deploy', 'web', '-o', 'jsonpath={.spec.replicas}'])).stdout).toBe('4');
  });

  it('applies an edited file as a three-way merge', async () => {
    expect((await kubectl(s, ['label', 'svc', 'web', 'owner=someone-else'])).code).toBe(0);
    const before = JSON.parse((await kubectl(s, ['get', 'svc', 'web', '-o', 'json'])).stdout);
    const file = join(dir, 'app.yaml');
    writeFileSync(file, manifests(3, false));
    const r = await kubectl(s, ['apply', '-f', file]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('deployment.apps/web configured');
    const d = JSON.parse((await kubectl(s, ['get', 'deploy', 'web', '-o', 'json'])).stdout);
    expect(d.spec.replicas).toBe(3);
    expect(d.spec.template.spec.containers[0].env).toBeUndefined();
    const svc = JSON.parse((await kubectl(s, ['get', 'svc', 'web', '-o', 'json'])).stdout);
    expect(svc.metadata.labels).toEqual({ owner: 'someone-else' });
    expect(svc.spec.clusterIP).toBe(before.spec.clusterIP);
    expect(svc.spec.ports[0].nodePort).toBe(before.spec.ports[0].nodePort);
  });

  it('explains service.spec from the OpenAPI document', async () => {
    const r = await kubectl(s, ['explain', 'service.spec']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('FIELD: spec <ServiceSpec>');
    expect(r.stdout).toMatch(/clusterIP\s+<string>/);
    expect(r.stdout).toMatch(/ports\s+<\[\]ServicePort>/);
    const ports = await kubectl(s, ['explain', 'deployment.spec.template.spec.containers.ports']);
    expect(ports.stdout).toMatch(/containerPort\s+<integer> -required-/);
  });

  it("answers bad manifests with kubectl's usual error lines", async () => {
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: Bad_Name\nspec:\n  ports:\n  - port: 70000\n  bogus: 1\n',
    );
    const unknown = await kubectl(s, ['apply', '-f', bad]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('Error from server (BadRequest)');
    expect(unknown.stderr).toContain('unknown field "spec.bogus"');

    writeFileSync(
      bad,
      'apiVersion: v1\nkind: Service\nmetadata:\n  name: Bad_Name\nspec:\n  ports:\n  - port: 70000\n',
    );
    const inv = await kubectl(s, ['apply', '-f', bad]);
    expect(inv.code).not.toBe(0);
    expect(inv.stderr).toContain('The Service "Bad_Name" is invalid');
    expect(inv.stderr).toContain('spec.ports[0].port: Invalid value: 70000: must be between 1 and 65535, inclusive');

    const conflict = await kubectl(s, ['create', '-f', join(dir, 'app.yaml')]);
    expect(conflict.stderr).toMatch(/Error from server \(AlreadyExists\).*pods "web-1" already exists/);
    const missing = await kubectl(s, ['get', 'pod', 'nope']);
    expect(missing.stderr).toContain('Error from server (NotFound): pods "nope" not found');
    for (const r of [unknown, inv, conflict, missing]) expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('accepts the protobuf bodies of kubectl create', async () => {
    expect((await kubectl(s, ['create', 'namespace', 'team-a'])).stdout).toContain('namespace/team-a created');
    expect((await kubectl(s, ['-n', 'team-a', 'create', 'configmap', 'cfg', '--from-literal=a=b'])).stdout).toContain(
      'configmap/cfg created',
    );
    const svc = await kubectl(s, ['-n', 'team-a', 'create', 'service', 'nodeport', 'np', '--tcp=80:8080']);
    expect(svc.stderr).toBe('');
    const d = await kubectl(s, [
      '-n',
      'team-a',
      'create',
      'deployment',
      'api',
      '--image=skiff/netexec:1.0',
      '--replicas=0',
      '--port=8080',
    ]);
    expect(d.stdout).toContain('deployment.apps/api created');
    const dep = JSON.parse((await kubectl(s, ['-n', 'team-a', 'get', 'deploy', 'api', '-o', 'json'])).stdout);
    expect(dep.spec.replicas).toBe(0);
    expect(dep.spec.template.spec.containers[0]).toMatchObject({
      name: 'netexec',
      image: 'skiff/netexec:1.0',
      ports: [{ containerPort: 8080, protocol: 'TCP' }],
    });
    const np = JSON.parse((await kubectl(s, ['-n', 'team-a', 'get', 'svc', 'np', '-o', 'json'])).stdout);
    expect(np.spec.ports[0]).toMatchObject({
      port: 80,
      targetPort: 8080,
      protocol: 'TCP',
      nodePort: expect.any(Number),
    });
    expect(JSON.parse((await kubectl(s, ['-n', 'team-a', 'get', 'cm', 'cfg', '-o', 'json'])).stdout).data).toEqual({
      a: 'b',
    });
  });

  it('deletes what it applied', async () => {
    const r = await kubectl(s, ['delete', '-f', join(dir, 'app.yaml')]);
    expect(r.stdout).toContain('pod "web-1" deleted');
    expect(r.stdout).toContain('deployment.apps "web" deleted');
    expect((await kubectl(s, ['get', 'svc', 'web'])).stderr).toContain('NotFound');
  });
});

describe('HTTP contract', () => {
  it('refuses anonymous requests with 401 and answers health probes', async () => {
    const anon = await rawRequest(s, 'GET', '/api/v1/pods');
    expect(anon.status).toBe(401);
    expect(JSON.parse(anon.body)).toMatchObject({ kind: 'Status', reason: 'Unauthorized', code: 401 });
    expect((await rawRequest(s, 'GET', '/readyz')).status).toBe(200);
  });

  it('maps malformed bodies, media types and oversized bodies to Status errors', async () => {
    const token = tokenOf(s.kubeconfig);
    const malformed = await rawRequest(s, 'POST', '/api/v1/namespaces/default/configmaps', {
      token,
      body: '{"metadata": ',
    });
    expect([malformed.status, JSON.parse(malformed.body).reason]).toEqual([400, 'BadRequest']);
    const yaml = await rawRequest(s, 'POST', '/api/v1/namespaces/default/configmaps', {
      token,
      body: 'metadata:\n  name: from-yaml\ndata:\n  a: "1"\n',
      contentType: 'application/yaml',
    });
    expect(yaml.status).toBe(201);
    const media = await rawRequest(s, 'POST', '/api/v1/namespaces/default/configmaps', {
      token,
      body: 'x',
      contentType: 'text/plain',
    });
    expect([media.status, JSON.parse(media.body).reason]).toEqual([415, 'UnsupportedMediaType']);
    const ssa = await rawRequest(s, 'PATCH', '/api/v1/namespaces/default/configmaps/from-yaml', {
      token,
      body: '{}',
      contentType: 'application/apply-patch+yaml',
    });
    // server-side apply without a fieldManager (ssa.test.ts covers apply itself)
    expect(ssa.status).toBe(422);
    const big = await rawRequest(s, 'POST', '/api/v1/namespaces/default/configmaps', {
      token,
      body: JSON.stringify({ metadata: { name: 'big' }, data: { a: 'x'.repeat(1_200_000) } }),
    });
    expect([big.status, JSON.parse(big.body).code]).toEqual([413, 413]);
    const stale = await rawRequest(s, 'PUT', '/api/v1/namespaces/default/configmaps/from-yaml', {
      token,
      body: JSON.stringify({ metadata: { name: 'from-yaml', resourceVersion: '1' } }),
    });
    expect([stale.status, JSON.parse(stale.body).reason]).toEqual([409, 'Conflict']);
  });
});

describe('rate limit', () => {
  it('answers a client over its rate with 429 and Retry-After, and never throttles system:masters', async () => {
    const proxy = tokenOf(join(dir, 'proxy.kubeconfig'));
    const results = await Promise.all(
      Array.from({ length: 200 }, () =>
        rawRequest(s, 'GET', '/api/v1/namespaces/default/configmaps', { token: proxy }),
      ),
    );
    const limited = results.filter((r) => r.status === 429);
    expect(limited.length).toBeGreaterThan(0);
    expect(limited[0]!.headers['retry-after']).toBeDefined();
    expect(JSON.parse(limited[0]!.body)).toMatchObject({ kind: 'Status', reason: 'TooManyRequests', code: 429 });
    const admin = tokenOf(s.kubeconfig);
    const adminResults = await Promise.all(
      Array.from({ length: 100 }, () =>
        rawRequest(s, 'GET', '/api/v1/namespaces/default/configmaps', { token: admin }),
      ),
    );
    expect(adminResults.every((r) => r.status === 200)).toBe(true);
  });
});

describe('@kubernetes/client-node and node credentials', () => {
  it('serves informers, and limits a kubelet to its own pods', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(s.kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const seen = new Map<string, string | undefined>();
    const informer = k8s.makeInformer(kc, '/api/v1/namespaces/default/pods', () =>
      core.listNamespacedPod({ namespace: 'default' }),
    );
    informer.on('add', (p) => seen.set(p.metadata!.name!, p.spec?.nodeName));
    informer.on('update', (p) => seen.set(p.metadata!.name!, p.spec?.nodeName));
    informer.on('error', () => undefined);
    await informer.start();
    try {
      for (const name of ['mine', 'theirs']) {
        await core.createNamespacedPod({
          namespace: 'default',
          body: { metadata: { name }, spec: { containers: [{ name: 'c', image: 'skiff/hostname' }] } },
        });
      }
      await core.createNamespacedBinding({
        namespace: 'default',
        body: { metadata: { name: 'mine' }, target: { kind: 'Node', name: 'node-1' } },
      });
      await core.createNamespacedBinding({
        namespace: 'default',
        body: { metadata: { name: 'theirs' }, target: { kind: 'Node', name: 'node-2' } },
      });
      await until('the informer to see both bindings', 20_000, () =>
        seen.get('mine') === 'node-1' && seen.get('theirs') === 'node-2' ? true : undefined,
      );

      const nodeKc = join(dir, 'node-1.kubeconfig');
      const { execFileSync } = await import('node:child_process');
      execFileSync(process.execPath, [
        SKIFF,
        'apiserver',
        'issue-kubeconfig',
        '--state-dir',
        dir,
        '--user',
        'system:node:node-1',
        '--group',
        'system:nodes',
        '--server',
        s.url,
        '--out',
        nodeKc,
      ]);
      const nkc = new k8s.KubeConfig();
      nkc.loadFromFile(nodeKc);
      const ncore = nkc.makeApiClient(k8s.CoreV1Api);
      const patch = { status: { phase: 'Running', podIP: '10.244.1.5' } };
      const opts = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
      const ok = await ncore.patchNamespacedPodStatus({ name: 'mine', namespace: 'default', body: patch }, opts);
      expect(ok.status?.phase).toBe('Running');
      await expect(
        ncore.patchNamespacedPodStatus({ name: 'theirs', namespace: 'default', body: patch }, opts),
      ).rejects.toMatchObject({ code: 403 });
      await expect(
        ncore.createNamespacedService({
          namespace: 'default',
          body: { metadata: { name: 'x' }, spec: { ports: [{ port: 1 }] } },
        }),
      ).rejects.toMatchObject({ code: 403 });
      await ncore.createNode({ body: { metadata: { name: 'node-1' } } });
      await expect(ncore.createNode({ body: { metadata: { name: 'node-2' } } })).rejects.toMatchObject({ code: 403 });
      // The kubelet confirms a graceful deletion of its pod with gracePeriodSeconds=0.
      const marked = await core.deleteNamespacedPod({ name: 'mine', namespace: 'default' });
      expect(marked.metadata?.deletionTimestamp).toBeDefined();
      await ncore.deleteNamespacedPod({ name: 'mine', namespace: 'default', gracePeriodSeconds: 0 });
      await expect(core.readNamespacedPod({ name: 'mine', namespace: 'default' })).rejects.toMatchObject({ code: 404 });
    } finally {
      await informer.stop();
    }
  });
});
