/**
 * /openapi/v2 in JSON and in gnostic protobuf, against the real clients that need it: kubectl 1.27 (the
 * upstream binary, installed by scripts/setup.sh) explains from the protobuf document and applies with it;
 * the protobuf bytes are also decoded with protobufjs from gnostic's own OpenAPIv2.proto (Debian's copy, not
 * the server's generated descriptor) and compared with the JSON form.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab } from '../../helpers/lab.js';
import {
  kubectl,
  requireKubectlAndBuild,
  startServer,
  tokenOf,
  type KubectlResult,
  type ServerProc,
} from './server.js';

const KUBECTL_127 = '/opt/kubectl-1.27/kubectl';
const GNOSTIC_PROTO = '/usr/share/gocode/src/github.com/googleapis/gnostic/openapiv2/OpenAPIv2.proto';
const PB = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

const lab = new Lab();
let s: ServerProc;
let token: string;
let ca: Buffer;

function get(path: string, headers: Record<string, string> = {}) {
  return new Promise<{ status: number; body: Buffer; headers: Record<string, unknown> }>((res, rej) => {
    const req = request(
      new URL(path, s.url),
      { ca, headers: { Authorization: `Bearer ${token}`, ...headers } },
      (r) => {
        const chunks: Buffer[] = [];
        r.on('data', (c: Buffer) => chunks.push(c));
        r.on('end', () => res({ status: r.statusCode ?? 0, body: Buffer.concat(chunks), headers: r.headers }));
      },
    );
    req.on('error', rej);
    req.end();
  });
}

function kubectl127(args: string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(
      KUBECTL_127,
      ['--kubeconfig', s.kubeconfig, '--cache-dir', join(s.dir, 'kubectl-1.27-cache'), ...args],
      { timeout: 60_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    if (input !== undefined) child.stdin!.end(input);
  });
}

beforeAll(async () => {
  requireKubectlAndBuild();
  if (!existsSync(KUBECTL_127))
    throw new Error(`${KUBECTL_127} is missing: run scripts/setup.sh (it installs kubectl 1.27)`);
  if (!existsSync(GNOSTIC_PROTO))
    throw new Error(`${GNOSTIC_PROTO} is missing: run scripts/setup.sh (golang-github-googleapis-gnostic-dev)`);
  s = await startServer(lab.tmpdir(), ['--store', 'memory']);
  lab.onCleanup(() => s.stop());
  token = tokenOf(s.kubeconfig);
  const kc = parse(readFileSync(s.kubeconfig, 'utf8')) as {
    clusters: { cluster: { 'certificate-authority-data': string } }[];
  };
  ca = Buffer.from(kc.clusters[0]!.cluster['certificate-authority-data'], 'base64');
});

afterAll(async () => {
  await lab.cleanup();
});

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('/openapi/v2', () => {
  let json: Doc;

  it('serves Swagger 2.0 JSON converted from the same schema as /openapi/v3', async () => {
    const r = await get('/openapi/v2', { Accept: 'application/json' });
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json');
    json = JSON.parse(r.body.toString()) as Doc;
    expect(json.swagger).toBe('2.0');
    const dep = json.definitions['io.k8s.api.apps.v1.Deployment'];
    expect(dep['x-kubernetes-group-version-kind']).toEqual([{ group: 'apps', version: 'v1', kind: 'Deployment' }]);
    // v2 references sit beside the description (no allOf) and point into #/definitions
    expect(dep.properties.spec).toMatchObject({ $ref: '#/definitions/io.k8s.api.apps.v1.DeploymentSpec' });
    expect(JSON.stringify(json)).not.toContain('#/components/schemas/');
    const containers = json.definitions['io.k8s.api.core.v1.PodSpec'].properties.containers;
    expect(containers).toMatchObject({
      'x-kubernetes-patch-merge-key': 'name',
      'x-kubernetes-patch-strategy': 'merge',
    });

    // every v3 schema and path is in v2
    const index = JSON.parse((await get('/openapi/v3')).body.toString()) as { paths: Record<string, Doc> };
    for (const [gv, { serverRelativeURL }] of Object.entries(index.paths)) {
      const v3 = JSON.parse((await get(serverRelativeURL as string)).body.toString()) as Doc;
      for (const name of Object.keys(v3.components.schemas))
        expect(json.definitions[name], `${gv} ${name}`).toBeDefined();
      for (const p of Object.keys(v3.paths)) expect(json.paths[p], `${gv} ${p}`).toBeDefined();
    }
    const patch = json.paths['/apis/apps/v1/namespaces/{namespace}/deployments/{name}'].patch;
    expect(patch.consumes).toContain('application/strategic-merge-patch+json');
    expect(patch.parameters.map((p: Doc) => p.name)).toEqual(expect.arrayContaining(['body', 'fieldValidation']));
    expect(patch.parameters.find((p: Doc) => p.name === 'body').schema.$ref).toBe(
      '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch',
    );
  });

  it('negotiates protobuf, answers 304 to its ETag and 406 to what it cannot produce', async () => {
    const r = await get('/openapi/v2', { Accept: PB });
    expect(r.status).toBe(200);
    // kube-openapi's returned type (Go's mime parser refuses the '@' of the requested one)
    expect(r.headers['content-type']).toBe('application/com.github.proto-openapi.spec.v2.v1.0+protobuf');
    const etag = String(r.headers.etag);
    expect(etag).toMatch(/^"[0-9A-F]{128}"$/);
    expect((await get('/openapi/v2', { Accept: PB, 'If-None-Match': etag })).status).toBe(304);
    expect((await get('/openapi/v2', { Accept: 'text/html' })).status).toBe(406);
    // no Accept is */*: JSON first, as kube-openapi
    expect(JSON.parse((await get('/openapi/v2')).body.toString()).swagger).toBe('2.0');
    // q-values order the clauses
    const pref = await get('/openapi/v2', { Accept: `application/json;q=0.5, ${PB}` });
    expect(pref.headers['content-type']).toMatch(/protobuf$/);
  });

  it('decodes with gnostic OpenAPIv2.proto into the same document', async () => {
    const r = await get('/openapi/v2', { Accept: PB });
    const root = await protobuf.load(GNOSTIC_PROTO);
    const Document = root.lookupType('openapi.v2.Document');
    const doc = Document.toObject(Document.decode(r.body), { defaults: false }) as Doc;
    expect(doc.swagger).toBe('2.0');
    expect(doc.info).toEqual({ title: 'Kubernetes', version: 'v1.32.0' });
    const defs = doc.definitions.additionalProperties as { name: string; value: Doc }[];
    expect(defs.map((d) => d.name)).toEqual(Object.keys(json.definitions));
    const dep = defs.find((d) => d.name === 'io.k8s.api.apps.v1.Deployment')!.value;
    expect(dep.type.value).toEqual(['object']);
    const gvk = dep.vendorExtension.find((e: Doc) => e.name === 'x-kubernetes-group-version-kind');
    expect(parse(gvk.value.yaml)).toEqual([{ group: 'apps', version: 'v1', kind: 'Deployment' }]);
    const props = dep.properties.additionalProperties as { name: string; value: Doc }[];
    expect(props.map((p) => p.name)).toEqual(Object.keys(json.definitions['io.k8s.api.apps.v1.Deployment'].properties));
    expect(props.find((p) => p.name === 'spec')!.value._ref).toBe('#/definitions/io.k8s.api.apps.v1.DeploymentSpec');

    const paths = doc.paths.path as { name: string; value: Doc }[];
    expect(paths.map((p) => p.name)).toEqual(Object.keys(json.paths));
    const item = paths.find((p) => p.name === '/apis/apps/v1/namespaces/{namespace}/deployments/{name}')!.value;
    const queryNames = (item.patch.parameters as Doc[])
      .map((p) => p.parameter?.nonBodyParameter?.queryParameterSubSchema?.name)
      .filter(Boolean);
    expect(queryNames).toContain('fieldValidation');
    expect(item.patch.parameters[0].parameter.bodyParameter.schema._ref).toBe(
      '#/definitions/io.k8s.apimachinery.pkg.apis.meta.v1.Patch',
    );
    const opGvk = (item.patch.vendorExtension as Doc[]).find((e) => e.name === 'x-kubernetes-group-version-kind');
    expect(parse(opGvk!.value.yaml)).toEqual({ group: 'apps', version: 'v1', kind: 'Deployment' });
    const ok = item.get.responses.responseCode.find((c: Doc) => c.name === '200');
    expect(ok.value.response.schema.schema._ref).toBe('#/definitions/io.k8s.api.apps.v1.Deployment');
  });
});

const deployment = (image: string, env: boolean, extra = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: ${image}
${env ? '        env:\n        - name: A\n          value: "1"\n        - name: B\n          value: "2"\n' : ''}${extra}`;

describe('kubectl 1.27 (needs OpenAPI v2)', () => {
  it('explains from the protobuf v2 document and from v3', async () => {
    const v2 = await kubectl127([
      'explain',
      'deployment.spec.template.spec.containers',
      '--output=plaintext-openapiv2',
    ]);
    expect(v2.stderr).toBe('');
    expect(v2.stdout).toMatch(/^KIND:\s+Deployment\nVERSION:\s+apps\/v1/);
    expect(v2.stdout).toMatch(/RESOURCE: containers <\[\]Object>/);
    expect(v2.stdout).toMatch(/\n {3}image\t<string>/);
    const v3 = await kubectl127(['explain', 'pods.spec.containers.ports']);
    expect(v3.stderr).toBe('');
    expect(v3.stdout).toContain('FIELD: ports <[]ContainerPort>');
  });

  it('applies, re-applies with a strategic merge from v2 patch metadata, and validates server-side', async () => {
    const c = await kubectl127(['apply', '-f', '-'], deployment('nginx:1.0', true));
    expect(c.stderr).toBe('');
    expect(c.stdout).toContain('deployment.apps/web created');
    // dropping env B: the three-way merge (container list merged by name, env by name) deletes it alone
    const next = deployment('nginx:1.1', true).replace(/ {8}- name: B\n {10}value: "2"\n/, '');
    const u = await kubectl127(['apply', '-f', '-', '-v=6'], next);
    expect(u.stdout).toContain('deployment.apps/web configured');
    expect(u.stderr).toMatch(/GET https:\/\/[^ ]+\/openapi\/v2\S* 200/);
    expect(u.stderr).toMatch(/PATCH https:\/\/[^ ]+\/deployments\/web\?fieldManager=kubectl-client-side-apply/);
    const got = JSON.parse((await kubectl(s, ['get', 'deployment', 'web', '-o', 'json'])).stdout) as Doc;
    expect(got.spec.template.spec.containers).toMatchObject([
      { name: 'web', image: 'nginx:1.1', env: [{ name: 'A' }] },
    ]);
    expect(got.spec.template.spec.containers[0].env).toHaveLength(1);
    // kubectl 1.27 learns from v2 that PATCH takes fieldValidation, so an unknown field is the server's error
    const bad = await kubectl127(['apply', '-f', '-'], deployment('nginx:1.1', false, '        bogus: 1\n'));
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('unknown field "spec.template.spec.containers[0].bogus"');
  });
});
