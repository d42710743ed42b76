/**
 * Server-side apply and managedFields against the real clients: kubectl 1.32 (`apply --server-side`,
 * `--force-conflicts`, `scale`, `label`, `create`, client-side `apply`), @kubernetes/client-node's
 * KubernetesObjectApi with PatchStrategy.ServerSideApply, and the official Python client; raw HTTP for the
 * Status details.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../helpers/lab.js';
import { kubectl, rawRequest, requireKubectlAndBuild, startServer, tokenOf, type ServerProc } from './server.js';

const PY_SSA = join(import.meta.dirname, 'peers/python-ssa.py');

const lab = new Lab();
let s: ServerProc;
let token: string;

beforeAll(async () => {
  requireKubectlAndBuild();
  s = await startServer(lab.tmpdir(), ['--store', 'memory']);
  lab.onCleanup(() => s.stop());
  token = tokenOf(s.kubeconfig);
});

afterAll(async () => {
  await lab.cleanup();
});

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const deployment = (replicas: number, env: string[], extra = '') => `apiVersion: apps/v1
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
        image: nginx:1.0
        ports:
        - containerPort: 80
${env.length ? '        env:\n' + env.map((e) => `        - name: ${e}\n          value: "1"\n`).join('') : ''}${extra}`;

async function getJson(args: string[]): Promise<Doc> {
  const r = await kubectl(s, ['get', ...args, '-o', 'json', '--show-managed-fields']);
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as Doc;
}

const managers = (o: Doc) =>
  (o.metadata.managedFields as Doc[]).map(
    (m) => `${m.manager}/${m.operation}${m.subresource ? `/${m.subresource}` : ''}`,
  );

describe('kubectl apply --server-side', () => {
  it('creates the object and records the applier as the Apply manager of exactly the applied fields', async () => {
    const r = await kubectl(s, ['apply', '--server-side', '-f', '-'], deployment(2, ['A', 'B']));
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('deployment.apps/web serverside-applied');
    const d = await getJson(['deployment', 'web']);
    expect(managers(d)).toEqual(['kubectl/Apply']);
    const entry = d.metadata.managedFields[0];
    expect(entry).toMatchObject({ apiVersion: 'apps/v1', fieldsType: 'FieldsV1' });
    expect(entry.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    const container = entry.fieldsV1['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"web"}'];
    // ports are keyed by containerPort and protocol (defaulted to TCP), env by name; selector is atomic
    expect(container['f:ports']).toEqual({
      'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} },
    });
    expect(Object.keys(container['f:env'])).toEqual(['k:{"name":"A"}', 'k:{"name":"B"}']);
    expect(entry.fieldsV1['f:spec']['f:selector']).toEqual({});
    // defaulted fields are nobody's
    expect(entry.fieldsV1['f:spec']['f:strategy']).toBeUndefined();
  });

  it('conflicts with the scale subresource manager, and --force-conflicts takes the field over', async () => {
    const sc = await kubectl(s, ['scale', 'deployment', 'web', '--replicas=5']);
    expect(sc.stderr).toBe('');
    expect(managers(await getJson(['deployment', 'web']))).toEqual(['kubectl/Apply', 'kubectl/Update/scale']);
    const c = await kubectl(s, ['apply', '--server-side', '-f', '-'], deployment(3, ['A', 'B']));
    expect(c.code).not.toBe(0);
    expect(c.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas',
    );
    expect((await getJson(['deployment', 'web'])).spec.replicas).toBe(5);
    // the same value is no conflict: both own it
    const same = await kubectl(s, ['apply', '--server-side', '-f', '-'], deployment(5, ['A', 'B']));
    expect(same.stderr).toBe('');
    const f = await kubectl(s, ['apply', '--server-side', '--force-conflicts', '-f', '-'], deployment(3, ['A', 'B']));
    expect(f.stderr).toBe('');
    const d = await getJson(['deployment', 'web']);
    expect(d.spec.replicas).toBe(3);
    expect(managers(d)).toEqual(['kubectl/Apply']);
  });

  it('a re-apply that drops a field removes it only when the applier owned it alone', async () => {
    const l = await kubectl(s, ['label', 'deployment', 'web', 'team=blue']);
    expect(l.stderr).toBe('');
    // kubectl-edit-like co-ownership: another applier also sets env B
    const other = await kubectl(
      s,
      ['apply', '--server-side', '--field-manager', 'other', '-f', '-'],
      `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      containers:
      - name: web
        env:
        - name: B
          value: "1"
`,
    );
    expect(other.stderr).toBe('');
    const r = await kubectl(s, ['apply', '--server-side', '-f', '-'], deployment(3, []));
    expect(r.stderr).toBe('');
    const d = await getJson(['deployment', 'web']);
    // A was kubectl's alone: gone; B is still "other"'s; the label is kubectl-label's (an Update manager)
    expect(d.spec.template.spec.containers[0].env).toEqual([{ name: 'B', value: '1' }]);
    expect(d.metadata.labels).toEqual({ team: 'blue' });
    expect(managers(d).sort()).toEqual(['kubectl-label/Update', 'kubectl/Apply', 'other/Apply']);
    const kubectlSet = (d.metadata.managedFields as Doc[]).find((m) => m.manager === 'kubectl')!.fieldsV1;
    expect(kubectlSet['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"web"}']['f:env']).toBeUndefined();
  });

  it('records Update managers for create, client-side apply and merge patches as kube-apiserver does', async () => {
    const c = await kubectl(s, ['create', 'configmap', 'cfg', '--from-literal=a=1']);
    expect(c.stderr).toBe('');
    let cm = await getJson(['configmap', 'cfg']);
    expect(cm.metadata.managedFields).toMatchObject([
      {
        manager: 'kubectl-create',
        operation: 'Update',
        apiVersion: 'v1',
        fieldsV1: { 'f:data': { '.': {}, 'f:a': {} } },
      },
    ]);
    const a = await kubectl(
      s,
      ['apply', '-f', '-'],
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {a: "1", b: "2"}\n',
    );
    expect(a.stderr).toContain('missing the kubectl.kubernetes.io/last-applied-configuration annotation');
    cm = await getJson(['configmap', 'cfg']);
    const csa = (cm.metadata.managedFields as Doc[]).find((m) => m.manager === 'kubectl-client-side-apply')!;
    expect(csa.operation).toBe('Update');
    expect(csa.fieldsV1['f:data']).toEqual({ 'f:b': {} });
    expect(Object.keys(csa.fieldsV1['f:metadata']['f:annotations'])).toEqual([
      '.',
      'f:kubectl.kubernetes.io/last-applied-configuration',
    ]);
    // a raw merge patch without fieldManager is recorded under the user agent's name
    const p = await rawRequest(s, 'PATCH', '/api/v1/namespaces/default/configmaps/cfg', {
      token,
      body: JSON.stringify({ data: { a: '9' } }),
      contentType: 'application/merge-patch+json',
    });
    expect(p.status).toBe(200);
    cm = JSON.parse(p.body) as Doc;
    const kc = (cm.metadata.managedFields as Doc[]).find((m) => m.manager === 'kubectl-create')!;
    // a moved to the patcher; kubectl-create keeps the data map itself
    expect(kc.fieldsV1['f:data']).toEqual({});
    // clearing: one empty entry strips them all
    const clear = await rawRequest(s, 'PATCH', '/api/v1/namespaces/default/configmaps/cfg', {
      token,
      body: JSON.stringify({ metadata: { managedFields: [{}] } }),
      contentType: 'application/merge-patch+json',
    });
    expect((JSON.parse(clear.body) as Doc).metadata.managedFields).toBeUndefined();
  });
});

describe('apply over HTTP', () => {
  const url = '/api/v1/namespaces/default/configmaps/raw';
  const cm = (data: Record<string, string>) =>
    JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'raw' }, data });
  const apply = (query: string, body: string) =>
    rawRequest(s, 'PATCH', `${url}${query}`, { token, body, contentType: 'application/apply-patch+yaml' });

  it('refuses an apply without fieldManager and force on other patches, as PatchOptions validation', async () => {
    const r = await apply('', cm({ a: '1' }));
    expect(r.status).toBe(422);
    const st = JSON.parse(r.body) as Doc;
    expect(st.message).toBe(
      'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
    );
    expect(st.details).toMatchObject({ group: 'meta.k8s.io', kind: 'PatchOptions' });
    const f = await rawRequest(s, 'PATCH', `${url}?force=false`, {
      token,
      body: '{}',
      contentType: 'application/merge-patch+json',
    });
    expect(f.status).toBe(422);
    expect((JSON.parse(f.body) as Doc).message).toContain('force: Forbidden: may not be specified for non-apply patch');
  });

  it('creates with 201, answers 409 with the conflicting managers and fields in details.causes', async () => {
    expect(
      (
        await apply(
          '?fieldManager=one',
          'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: raw}\ndata: {a: "1", b: "1"}\n',
        )
      ).status,
    ).toBe(201);
    const r = await apply('?fieldManager=two', cm({ a: '2', b: '2' }));
    expect(r.status).toBe(409);
    const st = JSON.parse(r.body) as Doc;
    expect(st.reason).toBe('Conflict');
    expect(st.message).toBe('Apply failed with 2 conflicts: conflicts with "one":\n- .data.a\n- .data.b');
    expect(st.details.causes).toEqual([
      { reason: 'FieldManagerConflict', message: 'conflict with "one"', field: '.data.a' },
      { reason: 'FieldManagerConflict', message: 'conflict with "one"', field: '.data.b' },
    ]);
    const forced = await apply('?fieldManager=two&force=true', cm({ a: '2' }));
    expect(forced.status).toBe(200);
    const o = JSON.parse(forced.body) as Doc;
    expect(o.data).toEqual({ a: '2', b: '1' });
    expect((o.metadata.managedFields as Doc[]).map((m) => [m.manager, m.fieldsV1])).toEqual([
      ['one', { 'f:data': { 'f:b': {} } }],
      ['two', { 'f:data': { 'f:a': {} } }],
    ]);
  });
});

describe('other clients', () => {
  it('@kubernetes/client-node applies with PatchStrategy.ServerSideApply and gets conflicts as errors', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(s.kubeconfig);
    const client = k8s.KubernetesObjectApi.makeApiClient(kc);
    const spec: k8s.V1Service = {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'svc', namespace: 'default' },
      spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 8080 }] },
    };
    const svc = await client.patch(
      spec,
      undefined,
      undefined,
      'node-app',
      undefined,
      k8s.PatchStrategy.ServerSideApply,
    );
    expect(svc.metadata?.managedFields?.map((m) => m.manager)).toEqual(['node-app']);
    const fields = svc.metadata!.managedFields![0]!.fieldsV1 as Doc;
    expect(Object.keys(fields['f:spec']['f:ports'])).toEqual(['k:{"port":80,"protocol":"TCP"}']);
    const changed = { ...spec, spec: { ...spec.spec, ports: [{ port: 80, targetPort: 9090 }] } };
    await expect(
      client.patch(changed, undefined, undefined, 'node-other', undefined, k8s.PatchStrategy.ServerSideApply),
    ).rejects.toThrow(
      /Apply failed with 1 conflict: conflict with \W+node-app\W+: \.spec\.ports\[port=80,protocol=\W+TCP\W+\]\.targetPort/,
    );
  });

  it('the Python client applies and sees a conflict', async () => {
    const run = (manager: string, force: boolean, data: Record<string, string>) =>
      new Promise<Doc>((resolve, reject) => {
        const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'py', namespace: 'default' }, data };
        execFile(
          '/usr/bin/python3',
          [PY_SSA, s.kubeconfig, manager, force ? 'force' : 'no', JSON.stringify(body)],
          { timeout: 40_000 },
          (err, stdout, stderr) =>
            err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(JSON.parse(stdout) as Doc),
        );
      });
    const a = await run('py-one', false, { k: '1' });
    expect(a.object.metadata.managed_fields ?? a.object.metadata.managedFields).toBeDefined();
    const b = await run('py-two', false, { k: '2' });
    expect(b.status).toBe(409);
    expect(b.body.message).toBe('Apply failed with 1 conflict: conflict with "py-one": .data.k');
    const c = await run('py-two', true, { k: '2' });
    expect(c.object.data).toEqual({ k: '2' });
  });
});
