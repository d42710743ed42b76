/**
 * Least privilege, end to end with the real kubectl: deny by default, RBAC bindings, the Node authorizer,
 * the components' own identities, and `kubectl auth can-i` (SelfSubjectAccessReview) answering truthfully.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueKubeconfig } from '../../../src/apiserver/auth/kubeconfig.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { kubectl, rawRequest, requireKubectlAndBuild, startServer, tokenOf, type ServerProc } from './server.js';

const lab = new Lab();
let s: ServerProc;
let admin: string;

/** kubectl as someone else: the same server and cache, another kubeconfig. */
const as = (kubeconfig: string, args: string[], input?: string) => kubectl({ ...s, kubeconfig }, args, input);

function credential(user: string, groups: string[] = []): { kubeconfig: string; token: string } {
  const out = join(s.dir, `${user.replace(/[^a-z0-9-]/gi, '_')}.kubeconfig`);
  const { token } = issueKubeconfig({ stateDir: s.dir, user, groups, server: s.url, out });
  return { kubeconfig: out, token };
}

beforeAll(async () => {
  requireRootAndTools([]);
  requireKubectlAndBuild();
  s = await startServer(lab.tmpdir(), ['--store', 'memory']);
  lab.onCleanup(() => s.stop());
  admin = tokenOf(s.kubeconfig);
  expect((await kubectl(s, ['create', 'namespace', 'other'])).code).toBe(0);
});

afterAll(async () => {
  await lab.cleanup();
});

describe('RBAC', () => {
  it('denies an authenticated user with no binding everything but discovery and its own reviews', async () => {
    const { kubeconfig, token } = credential('nobody');
    const get = await as(kubeconfig, ['get', 'pods']);
    expect(get.code).not.toBe(0);
    expect(get.stderr).toMatch(
      /pods is forbidden: User "nobody" cannot list resource "pods" in API group "" in the namespace "default"/,
    );
    expect((await as(kubeconfig, ['auth', 'can-i', 'list', 'pods'])).stdout.trim()).toBe('no');
    expect((await rawRequest(s, 'GET', '/version', { token })).status).toBe(200);
    expect((await rawRequest(s, 'GET', '/apis', { token })).status).toBe(200);
  });

  it('lets a user bound to view list but not create, only in the bound namespace', async () => {
    const { kubeconfig } = credential('alice');
    // kubectl create rolebinding sends a protobuf body
    const bind = await kubectl(s, ['create', 'rolebinding', 'alice-view', '--clusterrole=view', '--user=alice']);
    expect(bind.code, bind.stderr).toBe(0);
    const rb = JSON.parse((await kubectl(s, ['get', 'rolebinding', 'alice-view', '-o', 'json'])).stdout);
    expect(rb.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' });
    expect(rb.subjects).toEqual([{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }]);

    expect((await as(kubeconfig, ['get', 'pods'])).code).toBe(0);
    const create = await as(kubeconfig, ['create', 'configmap', 'c1', '--from-literal=a=b']);
    expect(create.code).not.toBe(0);
    expect(create.stderr).toMatch(/configmaps is forbidden: User "alice" cannot create resource "configmaps"/);
    expect((await as(kubeconfig, ['get', 'pods', '-n', 'other'])).code).not.toBe(0);
    const can = async (...a: string[]) => (await as(kubeconfig, ['auth', 'can-i', ...a])).stdout.trim();
    expect(await can('list', 'pods')).toBe('yes');
    expect(await can('watch', 'deployments.apps')).toBe('yes');
    expect(await can('create', 'pods')).toBe('no');
    expect(await can('get', 'secrets')).toBe('no');
    expect(await can('list', 'pods', '-n', 'other')).toBe('no');
    const list = await as(kubeconfig, ['auth', 'can-i', '--list']);
    expect(list.stdout).toMatch(/endpointslices\.discovery\.k8s\.io\s+\[\]\s+\[\]\s+\[get list watch\]/);
  });

  it('grants through a ClusterRoleBinding to a group, and takes it away on delete', async () => {
    const { kubeconfig } = credential('bob', ['devs']);
    expect((await as(kubeconfig, ['auth', 'can-i', 'create', 'deployments.apps', '-n', 'other'])).stdout.trim()).toBe(
      'no',
    );
    expect(
      (await kubectl(s, ['create', 'clusterrolebinding', 'devs-edit', '--clusterrole=edit', '--group=devs'])).code,
    ).toBe(0);
    expect((await as(kubeconfig, ['create', 'deployment', 'web', '--image=skiff/netexec', '-n', 'other'])).code).toBe(
      0,
    );
    // edit does not include RBAC: no escalation
    expect((await as(kubeconfig, ['auth', 'can-i', 'create', 'rolebindings'])).stdout.trim()).toBe('no');
    expect((await kubectl(s, ['delete', 'clusterrolebinding', 'devs-edit'])).code).toBe(0);
    expect((await as(kubeconfig, ['get', 'deployments', '-n', 'other'])).code).not.toBe(0);
  });

  it('honours a namespaced Role with resourceNames', async () => {
    const { kubeconfig } = credential('carol');
    await kubectl(s, ['create', 'configmap', 'public', '--from-literal=a=1']);
    await kubectl(s, ['create', 'configmap', 'private', '--from-literal=a=2']);
    expect(
      (await kubectl(s, ['create', 'role', 'one-cm', '--verb=get', '--resource=configmaps', '--resource-name=public']))
        .code,
    ).toBe(0);
    expect((await kubectl(s, ['create', 'rolebinding', 'carol-one', '--role=one-cm', '--user=carol'])).code).toBe(0);
    expect((await as(kubeconfig, ['get', 'configmap', 'public'])).code).toBe(0);
    expect((await as(kubeconfig, ['get', 'configmap', 'private'])).code).not.toBe(0);
    expect((await as(kubeconfig, ['get', 'configmaps'])).code).not.toBe(0);
  });

  it('answers anonymous requests with 401', async () => {
    const r = await rawRequest(s, 'GET', '/api/v1/namespaces/default/pods');
    expect(r.status).toBe(401);
    expect(JSON.parse(r.body)).toMatchObject({ kind: 'Status', reason: 'Unauthorized' });
  });
});

describe('the Node authorizer', () => {
  it("lets a node write its own Node and status, never another node's status or any Service", async () => {
    const n1 = credential('system:node:n1', ['system:nodes']).token;
    const node = (name: string) => JSON.stringify({ apiVersion: 'v1', kind: 'Node', metadata: { name } });
    expect((await rawRequest(s, 'POST', '/api/v1/nodes', { token: n1, body: node('n1') })).status).toBe(201);
    expect((await rawRequest(s, 'POST', '/api/v1/nodes', { token: admin, body: node('n2') })).status).toBe(201);
    expect((await rawRequest(s, 'POST', '/api/v1/nodes', { token: n1, body: node('n3') })).status).toBe(403);
    const status = JSON.stringify({ status: { conditions: [{ type: 'Ready', status: 'True' }] } });
    const patch = (name: string) =>
      rawRequest(s, 'PATCH', `/api/v1/nodes/${name}/status`, {
        token: n1,
        body: status,
        contentType: 'application/merge-patch+json',
      });
    expect((await patch('n1')).status).toBe(200);
    const other = await patch('n2');
    expect(other.status).toBe(403);
    expect(JSON.parse(other.body).message).toMatch(/User "system:node:n1" cannot patch resource "nodes\/status"/);
    const svc = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'x' },
      spec: { ports: [{ port: 80 }] },
    });
    expect((await rawRequest(s, 'POST', '/api/v1/namespaces/default/services', { token: n1, body: svc })).status).toBe(
      403,
    );
    expect(
      (
        await rawRequest(s, 'PATCH', '/api/v1/namespaces/default/services/kubernetes', {
          token: n1,
          body: '{"metadata":{"labels":{"x":"y"}}}',
          contentType: 'application/merge-patch+json',
        })
      ).status,
    ).toBe(403);
    expect((await rawRequest(s, 'GET', '/api/v1/services', { token: n1 })).status).toBe(200);
    expect((await rawRequest(s, 'GET', '/api/v1/secrets', { token: n1 })).status).not.toBe(200);
  });
});

describe("the components' own credentials", () => {
  it("leaves the proxy's credential read-only", async () => {
    const proxy = join(s.dir, 'proxy.kubeconfig');
    expect((await as(proxy, ['get', 'services', '-A'])).code).toBe(0);
    expect((await as(proxy, ['get', 'endpointslices', '-A'])).code).toBe(0);
    const w = await as(proxy, ['create', 'configmap', 'p', '--from-literal=a=b']);
    expect(w.code).not.toBe(0);
    expect(w.stderr).toMatch(/forbidden: User "system:kube-proxy"/);
    expect((await as(proxy, ['auth', 'can-i', 'delete', 'services'])).stdout.trim()).toBe('no');
  });

  it('gives the scheduler bindings but not deployments, the controller-manager pods but not RBAC', async () => {
    const sched = join(s.dir, 'scheduler.kubeconfig');
    const kcm = join(s.dir, 'controller-manager.kubeconfig');
    const can = async (kc: string, ...a: string[]) => (await as(kc, ['auth', 'can-i', ...a])).stdout.trim();
    expect(await can(sched, 'create', 'pods', '--subresource=binding')).toBe('yes');
    expect(await can(sched, 'create', 'deployments.apps')).toBe('no');
    expect(await can(kcm, 'create', 'pods')).toBe('yes');
    expect(await can(kcm, 'update', 'deployments.apps', '--subresource=status')).toBe('yes');
    expect(await can(kcm, 'create', 'endpointslices.discovery.k8s.io')).toBe('yes');
    expect(await can(kcm, 'create', 'clusterrolebindings')).toBe('no');
    expect(await can(kcm, 'create', 'secrets')).toBe('yes');
  });

  it('restores an edited bootstrap role on restart, unless autoupdate is off', async () => {
    const r = await kubectl(s, [
      'patch',
      'clusterrole',
      'view',
      '--type=json',
      '-p',
      '[{"op":"replace","path":"/rules","value":[]}]',
    ]);
    expect(r.code, r.stderr).toBe(0);
    await s.stop();
    s = await startServer(s.dir, ['--store', 'memory']);
    lab.onCleanup(() => s.stop());
    // memory store: a restart begins from nothing, the bootstrap policy is back
    const view = JSON.parse((await kubectl(s, ['get', 'clusterrole', 'view', '-o', 'json'])).stdout);
    expect(view.rules.length).toBeGreaterThan(3);
  });
});
