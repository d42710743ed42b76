import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { MemoryBackend } from '../../../src/store/memory.js';
import { Allocator } from '../../../src/apiserver/alloc.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { apiError } from '../../helpers/api-error.js';
import { Registry, type WriteOptions } from '../../../src/apiserver/rest.js';
import { deployments, findResource, nodes, pods, services } from '../../../src/apiserver/resources/index.js';
import { ObjectStore } from '../../../src/apiserver/storage.js';
import { Authorizer } from '../../../src/apiserver/auth/authz.js';
import { RbacAuthorizer } from '../../../src/apiserver/auth/rbac.js';

const w = (fv: WriteOptions['fieldValidation'] = 'Strict'): WriteOptions => ({
  fieldValidation: fv,
  dryRun: false,
  warnings: [],
});
const silent = pino({ level: 'silent' });

let backend: MemoryBackend;
let reg: Registry;
beforeEach(async () => {
  backend = new MemoryBackend();
  reg = new Registry(new ObjectStore(backend), new Allocator('10.96.0.0/12', { min: 30000, max: 30005 }), silent);
  await reg.bootstrap();
});
afterEach(async () => {
  await reg.stop();
  await backend.close();
});

const podBody = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, labels: { app: 'web' } },
  spec: { containers: [{ name: 'c', image: 'img' }], ...extra },
});

describe('registry', () => {
  it('creates with Kubernetes defaults and server metadata', async () => {
    const p = await reg.create(pods, 'default', podBody('a'), w());
    expect(p.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(p.metadata.creationTimestamp).toMatch(/Z$/);
    expect(Number(p.metadata.resourceVersion)).toBeGreaterThan(0);
    expect(p.spec).toMatchObject({
      restartPolicy: 'Always',
      dnsPolicy: 'ClusterFirst',
      terminationGracePeriodSeconds: 30,
      schedulerName: 'default-scheduler',
    });
    expect(p.spec.containers[0]).toMatchObject({
      imagePullPolicy: 'Always',
      terminationMessagePath: '/dev/termination-log',
    });
    expect(p.status).toMatchObject({ phase: 'Pending', qosClass: 'BestEffort' });
    const e = await apiError(reg.create(pods, 'default', podBody('a'), w()));
    expect([e.code, e.reason]).toEqual([409, 'AlreadyExists']);
    expect((await apiError(reg.create(pods, 'nope', podBody('b'), w()))).code).toBe(404);
  });

  it('reports each invalid field and unknown fields in Strict mode', async () => {
    const e = await apiError(
      reg.create(
        pods,
        'default',
        { metadata: { name: 'Bad' }, spec: { containers: [{ name: 'c', ports: [{ containerPort: 0 }] }] } },
        w(),
      ),
    );
    expect(e.code).toBe(422);
    expect(e.details?.causes?.map((c) => c.field).sort()).toEqual([
      'metadata.name',
      'spec.containers[0].image',
      'spec.containers[0].ports[0].containerPort',
    ]);
    const u = await apiError(
      reg.create(
        pods,
        'default',
        { ...podBody('x'), spec: { containers: [{ name: 'c', image: 'i', imag: 'typo' }] } },
        w(),
      ),
    );
    expect([u.code, u.message]).toEqual([400, expect.stringContaining('unknown field "spec.containers[0].imag"')]);
    const warn = w('Warn');
    await reg.create(pods, 'default', { ...podBody('y'), bogus: 1 }, warn);
    expect(warn.warnings).toEqual(['unknown field "bogus"']);
    const t = await apiError(reg.create(pods, 'default', { ...podBody('z'), spec: { containers: 'no' } }, w()));
    expect(t.code).toBe(400);
  });

  it('rejects stale updates with 409 and bumps generation only on spec changes', async () => {
    const d = await reg.create(
      deployments,
      'default',
      {
        metadata: { name: 'd' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
        },
      },
      w(),
    );
    expect(d.metadata.generation).toBe(1);
    expect(d.spec).toMatchObject({ replicas: 1, revisionHistoryLimit: 10, strategy: { type: 'RollingUpdate' } });
    const labelled = await reg.patch(deployments, 'default', 'd', 'merge', { metadata: { labels: { x: '1' } } }, w());
    expect(labelled.metadata.generation).toBe(1);
    const scaled = await reg.patch(deployments, 'default', 'd', 'merge', { spec: { replicas: 3 } }, w());
    expect(scaled.metadata.generation).toBe(2);
    const stale = await apiError(
      reg.update(deployments, 'default', 'd', { ...d, spec: { ...d.spec, replicas: 5 } }, w()),
    );
    expect([stale.code, stale.reason]).toEqual([409, 'Conflict']);
    const status = await reg.update(
      deployments,
      'default',
      'd',
      { ...scaled, spec: { ...scaled.spec, replicas: 9 }, status: { replicas: 3 } },
      w(),
      true,
    );
    expect(status.spec.replicas).toBe(3);
    expect(status.status.replicas).toBe(3);
    const ignored = await reg.patch(deployments, 'default', 'd', 'merge', { status: { replicas: 7 } }, w());
    expect(ignored.status.replicas).toBe(3);
    const sel = await apiError(
      reg.patch(
        deployments,
        'default',
        'd',
        'merge',
        { spec: { selector: { matchLabels: { app: 'other' } }, template: { metadata: { labels: { app: 'other' } } } } },
        w(),
      ),
    );
    expect(sel.details?.causes?.[0]?.field).toBe('spec.selector');
    const scale = await reg.patchScale(deployments, 'default', 'd', 'merge', { spec: { replicas: 4 } }, w());
    expect(scale).toMatchObject({ kind: 'Scale', spec: { replicas: 4 }, status: { selector: 'app=web' } });
  });

  it('allocates service IPs and node ports without duplicates and releases them on delete', async () => {
    const svc = (name: string, spec: Record<string, unknown>) => ({
      metadata: { name },
      spec: { selector: { app: 'web' }, ports: [{ port: 80 }], ...spec },
    });
    const a = await reg.create(services, 'default', svc('a', { type: 'NodePort' }), w());
    expect(a.spec).toMatchObject({
      type: 'NodePort',
      sessionAffinity: 'None',
      externalTrafficPolicy: 'Cluster',
      ports: [{ port: 80, targetPort: 80, protocol: 'TCP' }],
    });
    expect(a.spec.clusterIP).toMatch(/^10\.(9[6-9]|10[0-9]|11[01])\./);
    const np = a.spec.ports[0].nodePort as number;
    expect(np).toBeGreaterThanOrEqual(30000);
    const b = await reg.create(
      services,
      'default',
      svc('b', { type: 'LoadBalancer', externalTrafficPolicy: 'Local' }),
      w(),
    );
    expect(b.spec.clusterIP).not.toBe(a.spec.clusterIP);
    expect(b.spec.healthCheckNodePort).toBeGreaterThan(0);
    expect(b.spec.ports[0].nodePort).not.toBe(np);
    const dup = await apiError(
      reg.create(services, 'default', svc('c', { type: 'NodePort', ports: [{ port: 80, nodePort: np }] }), w()),
    );
    expect([dup.code, dup.details?.causes?.[0]?.field]).toEqual([422, 'spec.ports[0].nodePort']);
    const dupIP = await apiError(reg.create(services, 'default', svc('c', { clusterIP: a.spec.clusterIP }), w()));
    expect(dupIP.message).toContain('already allocated');
    const headless = await reg.create(services, 'default', svc('h', { clusterIP: 'None' }), w());
    expect(headless.spec.clusterIPs).toEqual(['None']);
    const imm = await apiError(reg.patch(services, 'default', 'a', 'merge', { spec: { clusterIP: '10.96.9.9' } }, w()));
    expect(imm.details?.causes?.[0]?.field).toBe('spec.clusterIP');
    // Going back to ClusterIP gives the node port up.
    const back = await reg.patch(
      services,
      'default',
      'a',
      'strategic',
      { spec: { type: 'ClusterIP', externalTrafficPolicy: null } },
      w(),
    );
    expect(back.spec.ports[0].nodePort).toBeUndefined();
    expect(back.spec.clusterIP).toBe(a.spec.clusterIP);
    const again = await reg.create(
      services,
      'default',
      svc('d', { type: 'NodePort', ports: [{ port: 80, nodePort: np }] }),
      w(),
    );
    expect(again.spec.ports[0].nodePort).toBe(np);
    await reg.delete(services, 'default', 'd', {}, { dryRun: false });
    await reg.delete(services, 'default', 'a', {}, { dryRun: false });
    const reuse = await reg.create(
      services,
      'default',
      svc('e', { type: 'NodePort', clusterIP: a.spec.clusterIP, ports: [{ port: 80, nodePort: np }] }),
      w(),
    );
    expect(reuse.spec.clusterIP).toBe(a.spec.clusterIP);
  });

  it('externalTrafficPolicy belongs to externally-accessible Services, external IPs included (as Kubernetes)', async () => {
    const svc = (name: string, spec: Record<string, unknown>) => ({
      metadata: { name },
      spec: { selector: { app: 'web' }, ports: [{ port: 80 }], ...spec },
    });
    const ext = await reg.create(services, 'default', svc('x1', { externalIPs: ['198.18.0.11'] }), w());
    expect(ext.spec.externalTrafficPolicy).toBe('Cluster');
    const local = await reg.create(
      services,
      'default',
      svc('x2', { externalIPs: ['198.18.0.11'], externalTrafficPolicy: 'Local' }),
      w(),
    );
    expect(local.spec.externalTrafficPolicy).toBe('Local');
    const plain = await apiError(reg.create(services, 'default', svc('x3', { externalTrafficPolicy: 'Local' }), w()));
    expect([plain.code, plain.details?.causes?.[0]?.field]).toEqual([422, 'spec.externalTrafficPolicy']);
    expect(plain.message).toContain('may only be set for externally-accessible services');
    // without its external IPs the Service is internal only: the policy it did not change is dropped
    const internal = await reg.patch(services, 'default', 'x2', 'merge', { spec: { externalIPs: null } }, w());
    expect(internal.spec.externalTrafficPolicy).toBeUndefined();
  });

  it('deletes bound pods gracefully, unbound ones at once, and honours finalizers', async () => {
    await reg.create(pods, 'default', podBody('unbound'), w());
    await reg.delete(pods, 'default', 'unbound', {}, { dryRun: false });
    expect((await apiError(reg.get(pods, 'default', 'unbound'))).code).toBe(404);

    await reg.create(pods, 'default', podBody('bound'), w());
    await reg.bind('default', 'bound', { target: { kind: 'Node', name: 'n1' } }, w());
    const again = await apiError(reg.bind('default', 'bound', { target: { kind: 'Node', name: 'n2' } }, w()));
    expect(again.code).toBe(409);
    const bound = await reg.get(pods, 'default', 'bound');
    expect(bound.spec.nodeName).toBe('n1');
    expect(bound.status.conditions).toContainEqual(expect.objectContaining({ type: 'PodScheduled', status: 'True' }));
    const marked = await reg.delete(pods, 'default', 'bound', {}, { dryRun: false });
    expect(marked.metadata.deletionTimestamp).toBeDefined();
    expect(marked.metadata.deletionGracePeriodSeconds).toBe(30);
    expect((await reg.list(pods, 'default', { fieldSelector: 'spec.nodeName=n1' })).items).toHaveLength(1);
    await reg.delete(pods, 'default', 'bound', { gracePeriodSeconds: 0 }, { dryRun: false });
    expect((await apiError(reg.get(pods, 'default', 'bound'))).code).toBe(404);

    await reg.create(
      pods,
      'default',
      { ...podBody('fin'), metadata: { name: 'fin', finalizers: ['example.com/hold'] } },
      w(),
    );
    const held = await reg.delete(pods, 'default', 'fin', {}, { dryRun: false });
    expect(held.metadata.deletionTimestamp).toBeDefined();
    await reg.patch(pods, 'default', 'fin', 'merge', { metadata: { finalizers: null } }, w());
    expect((await apiError(reg.get(pods, 'default', 'fin'))).code).toBe(404);
  });

  it('filters lists by labels and fields and pages with limit/continue', async () => {
    for (let i = 0; i < 5; i++)
      await reg.create(
        pods,
        'default',
        { ...podBody(`p${i}`), metadata: { name: `p${i}`, labels: { i: String(i % 2) } } },
        w(),
      );
    expect((await reg.list(pods, 'default', { labelSelector: 'i=1' })).items.map((p) => p.metadata.name)).toEqual([
      'p1',
      'p3',
    ]);
    expect((await reg.list(pods, undefined, { fieldSelector: 'metadata.name=p4' })).items).toHaveLength(1);
    const first = await reg.list(pods, 'default', { limit: 2 });
    expect(first.items).toHaveLength(2);
    const second = await reg.list(pods, 'default', { limit: 10, continue: first.continue });
    expect(second.items.map((p) => p.metadata.name)).toEqual(['p2', 'p3', 'p4']);
    expect((await apiError(reg.list(pods, 'default', { fieldSelector: 'spec.bogus=1' }))).code).toBe(400);
    expect((await apiError(reg.list(pods, 'default', { labelSelector: 'a in (' }))).code).toBe(400);
  });

  it('garbage-collects dependents of a deleted owner', async () => {
    const owner = await reg.create(
      findResource('apps', 'v1', 'replicasets')!,
      'default',
      {
        metadata: { name: 'rs' },
        spec: {
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'i' }] } },
        },
      },
      w(),
    );
    await reg.create(
      pods,
      'default',
      {
        ...podBody('child'),
        metadata: {
          name: 'child',
          ownerReferences: [
            { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: owner.metadata.uid!, controller: true },
          ],
        },
      },
      w(),
    );
    await reg.delete(
      findResource('apps', 'v1', 'replicasets')!,
      'default',
      'rs',
      { propagationPolicy: 'Background' },
      { dryRun: false },
    );
    for (let i = 0; i < 100; i++) {
      if ((await reg.list(pods, 'default', {})).items.length === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect((await reg.list(pods, 'default', {})).items).toHaveLength(0);
  });
});

describe('node authorization', () => {
  // no roles or bindings stored: what a kubelet may do comes from the Node authorizer alone
  let authz: Authorizer;
  beforeEach(async () => {
    const rbac = new RbacAuthorizer(new ObjectStore(backend), silent);
    await rbac.start();
    authz = new Authorizer(rbac);
    return () => rbac.stop();
  });
  const kubelet = { name: 'system:node:n1', groups: ['system:nodes', 'system:authenticated'] };
  it('lets a kubelet write only its own node, lease and bound pods', () => {
    expect(authz.authorize(kubelet, { verb: 'list', group: '', resource: 'pods' })).toBeUndefined();
    expect(() => authz.authorize(kubelet, { verb: 'update', group: '', resource: 'nodes', name: 'n2' })).toThrow(
      /forbidden/,
    );
    const g = authz.authorize(kubelet, { verb: 'create', group: '', resource: 'nodes' })!;
    expect(() => g({ metadata: { name: 'n1' } })).not.toThrow();
    expect(() => g({ metadata: { name: 'n2' } })).toThrow(ApiError);
    const s = authz.authorize(kubelet, {
      verb: 'patch',
      group: '',
      resource: 'pods',
      subresource: 'status',
      namespace: 'default',
      name: 'p',
    })!;
    expect(() => s({ metadata: { name: 'p' }, spec: { nodeName: 'n1' } })).not.toThrow();
    expect(() => s({ metadata: { name: 'p' }, spec: { nodeName: 'n2' } })).toThrow(
      /cannot patch resource "pods\/status"/,
    );
    expect(() =>
      authz.authorize(kubelet, { verb: 'update', group: '', resource: 'pods', namespace: 'default', name: 'p' }),
    ).toThrow(ApiError);
    expect(() =>
      authz.authorize(kubelet, { verb: 'create', group: '', resource: 'services', namespace: 'default' }),
    ).toThrow(ApiError);
    expect(
      authz.authorize(kubelet, {
        verb: 'update',
        group: 'coordination.k8s.io',
        resource: 'leases',
        namespace: 'kube-node-lease',
        name: 'n1',
      }),
    ).toBeDefined();
    expect(() =>
      authz.authorize(
        { name: 'system:kube-proxy', groups: ['skiff:read-only'] },
        { verb: 'create', group: '', resource: 'pods', namespace: 'default' },
      ),
    ).toThrow(ApiError);
    expect(
      authz.authorize(
        { name: 'admin', groups: ['system:masters'] },
        { verb: 'delete', group: '', resource: 'nodes', name: 'x' },
      ),
    ).toBeUndefined();
  });
  it("lets a kubelet write its own node status and no other node's", () => {
    const status = (name: string) => ({ verb: 'patch', group: '', resource: 'nodes', subresource: 'status', name });
    const g = authz.authorize(kubelet, status('n1'))!;
    expect(() => g({ metadata: { name: 'n1' } })).not.toThrow();
    // the object written must be the node named in the request: a body naming another node is refused
    expect(() => g({ metadata: { name: 'n2' } })).toThrow(ApiError);
    expect(() => authz.authorize(kubelet, status('n2'))).toThrow(/forbidden/);
    expect(nodes.statusSubresource).toBe(true);
  });
});
