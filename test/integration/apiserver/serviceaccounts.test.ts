/**
 * ServiceAccounts and TokenRequest with the real kubectl: `kubectl create token` issues a signed, expiring
 * token that authenticates as the ServiceAccount and gets only what RBAC grants it; a token bound to a pod dies
 * with the pod; pods are admitted with the ServiceAccount volume; a node gets tokens only for its own pods.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { issueKubeconfig, renderKubeconfig } from '../../../src/apiserver/auth/kubeconfig.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { kubectl, rawRequest, requireKubectlAndBuild, startServer, tokenOf, type ServerProc } from './server.js';

const lab = new Lab();
let s: ServerProc;

const claimsOf = (token: string) =>
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, any>;
const get = (token: string, path: string) => rawRequest(s, 'GET', path, { token });

beforeAll(async () => {
  requireRootAndTools([]);
  requireKubectlAndBuild();
  s = await startServer(lab.tmpdir(), ['--store', 'memory']);
  lab.onCleanup(() => s.stop());
  expect((await kubectl(s, ['create', 'serviceaccount', 'robot'])).code).toBe(0);
});

afterAll(async () => {
  await lab.cleanup();
});

describe('ServiceAccount tokens', () => {
  it('kubectl create token issues an expiring JWT that authenticates as the ServiceAccount', async () => {
    const r = await kubectl(s, ['create', 'token', 'robot', '--duration=20m']);
    expect(r.code, r.stderr).toBe(0);
    const token = r.stdout.trim();
    const c = claimsOf(token);
    expect(c.sub).toBe('system:serviceaccount:default:robot');
    expect(c.exp - c.iat).toBe(1200);
    expect(c['kubernetes.io'].serviceaccount.name).toBe('robot');
    // authenticated (its own access review works) but granted nothing
    const denied = await get(token, '/api/v1/namespaces/default/pods');
    expect(denied.status).toBe(403);
    expect(JSON.parse(denied.body).message).toMatch(/User "system:serviceaccount:default:robot" cannot list/);
    expect(
      (
        await kubectl(s, [
          'create',
          'rolebinding',
          'robot-view',
          '--clusterrole=view',
          '--serviceaccount=default:robot',
        ])
      ).code,
    ).toBe(0);
    expect((await get(token, '/api/v1/namespaces/default/pods')).status).toBe(200);
    expect((await get(token, '/api/v1/namespaces/default/secrets')).status).toBe(403);
    expect((await get(token, '/api/v1/namespaces/kube-system/pods')).status).toBe(403);
    const kc = join(s.dir, 'robot.kubeconfig');
    writeFileSync(
      kc,
      renderKubeconfig({
        server: s.url,
        caCertPem: readFileSync(join(s.dir, 'pki', 'ca.crt'), 'utf8'),
        user: 'robot',
        token,
      }),
    );
    expect((await kubectl({ ...s, kubeconfig: kc }, ['auth', 'can-i', 'list', 'pods'])).stdout.trim()).toBe('yes');
    const can = await kubectl({ ...s, kubeconfig: kc }, ['auth', 'can-i', 'create', 'pods']);
    expect(can.stdout.trim()).toBe('no');
  });

  it('refuses tampered, foreign-audience and orphaned tokens with 401', async () => {
    const token = (await kubectl(s, ['create', 'token', 'robot'])).stdout.trim();
    const [h, b, sig] = token.split('.') as [string, string, string];
    const forged = JSON.parse(Buffer.from(b, 'base64url').toString());
    forged['kubernetes.io'].serviceaccount.name = 'admin';
    const tampered = `${h}.${Buffer.from(JSON.stringify(forged)).toString('base64url')}.${sig}`;
    expect((await get(tampered, '/api')).status).toBe(401);
    const other = (await kubectl(s, ['create', 'token', 'robot', '--audience=vault'])).stdout.trim();
    expect((await get(other, '/api')).status).toBe(401);
    expect((await get(token, '/api')).status).toBe(200);
    // a ServiceAccount deleted and made again is another identity: old tokens die
    expect((await kubectl(s, ['delete', 'serviceaccount', 'robot'])).code).toBe(0);
    expect((await kubectl(s, ['create', 'serviceaccount', 'robot'])).code).toBe(0);
    expect((await get(token, '/api')).status).toBe(401);
  });

  it('binds a token to a pod: it stops working when the pod goes', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p1' },
      spec: { serviceAccountName: 'robot', containers: [{ name: 'c', image: 'skiff/netexec' }] },
    };
    expect((await kubectl(s, ['apply', '-f', '-'], JSON.stringify(pod))).code).toBe(0);
    const r = await kubectl(s, ['create', 'token', 'robot', '--bound-object-kind=Pod', '--bound-object-name=p1']);
    expect(r.code, r.stderr).toBe(0);
    const token = r.stdout.trim();
    expect(claimsOf(token)['kubernetes.io'].pod.name).toBe('p1');
    expect((await get(token, '/api')).status).toBe(200);
    expect((await kubectl(s, ['delete', 'pod', 'p1', '--wait=false'])).code).toBe(0);
    expect((await get(token, '/api')).status).toBe(401);
  });

  it('refuses durations under 10 minutes and unknown ServiceAccounts', async () => {
    expect((await kubectl(s, ['create', 'token', 'robot', '--duration=1m'])).stderr).toMatch(/less than 10 minutes/);
    expect((await kubectl(s, ['create', 'token', 'ghost'])).stderr).toMatch(/serviceaccounts "ghost" not found/);
  });
});

describe('pods and their ServiceAccount', () => {
  it('admits a pod with the default ServiceAccount and its projected token volume in every container', async () => {
    const pod = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p2' },
      spec: {
        containers: [
          { name: 'a', image: 'skiff/netexec' },
          { name: 'b', image: 'skiff/netexec' },
        ],
      },
    };
    expect((await kubectl(s, ['apply', '-f', '-'], JSON.stringify(pod))).code).toBe(0);
    const got = JSON.parse((await kubectl(s, ['get', 'pod', 'p2', '-o', 'json'])).stdout);
    expect(got.spec.serviceAccountName).toBe('default');
    const vol = got.spec.volumes.find((v: { name: string }) => v.name.startsWith('kube-api-access-'));
    expect(vol.projected.sources).toEqual([
      { serviceAccountToken: { expirationSeconds: 3607, path: 'token' } },
      { configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } },
      {
        downwardAPI: {
          items: [{ path: 'namespace', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.namespace' } }],
        },
      },
    ]);
    for (const c of got.spec.containers)
      expect(c.volumeMounts).toContainEqual({
        name: vol.name,
        readOnly: true,
        mountPath: '/var/run/secrets/kubernetes.io/serviceaccount',
      });
    const off = { ...pod, metadata: { name: 'p3' }, spec: { ...pod.spec, automountServiceAccountToken: false } };
    expect((await kubectl(s, ['apply', '-f', '-'], JSON.stringify(off))).code).toBe(0);
    expect(JSON.parse((await kubectl(s, ['get', 'pod', 'p3', '-o', 'json'])).stdout).spec.volumes ?? []).toEqual([]);
  });

  it('gives a node tokens only for pods bound to it', async () => {
    const n1 = issueKubeconfig({
      stateDir: s.dir,
      user: 'system:node:n1',
      groups: ['system:nodes'],
      server: s.url,
      out: join(s.dir, 'n1.kubeconfig'),
    }).token;
    await kubectl(s, ['create', 'serviceaccount', 'default']).catch(() => undefined);
    const admin = tokenOf(s.kubeconfig);
    for (const [pod, node] of [
      ['p2', 'n1'],
      ['p3', 'n2'],
    ] as const) {
      const r = await rawRequest(s, 'POST', `/api/v1/namespaces/default/pods/${pod}/binding`, {
        token: admin,
        body: JSON.stringify({
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: pod },
          target: { kind: 'Node', name: node },
        }),
      });
      expect(r.status, r.body).toBe(201);
    }
    const ask = async (pod: string) => {
      const uid = JSON.parse((await kubectl(s, ['get', 'pod', pod, '-o', 'json'])).stdout).metadata.uid;
      return rawRequest(s, 'POST', '/api/v1/namespaces/default/serviceaccounts/default/token', {
        token: n1,
        body: JSON.stringify({
          spec: { expirationSeconds: 3607, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: pod, uid } },
        }),
      });
    };
    const mine = await ask('p2');
    expect(mine.status, mine.body).toBe(201);
    const t = JSON.parse(mine.body).status.token as string;
    // the kubelet's 3607 s token is extended to a year, as kube-apiserver does
    expect(claimsOf(t).exp - claimsOf(t).iat).toBe(365 * 24 * 3600);
    expect((await ask('p3')).status).toBe(403);
  });
});
