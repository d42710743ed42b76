import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpGetIn } from '../../src/lab/http.js';
import { readLab } from '../../src/lab/state.js';
import { controlComponents } from '../../src/lab/supervisor.js';
import { Lab, requireRootAndTools } from '../helpers/lab.js';
import {
  type Cluster,
  type SvcJson,
  deployment,
  isReady,
  listPods,
  readyEndpoints,
  service,
  until,
  upCluster,
} from './helpers.js';

/**
 * The heavier checks, on one combination (bridge CNI, nftables proxy): scaling, a rolling update with no
 * failed request, and a node whose kubelet dies.
 */
describe('skiff up: workloads (bridge CNI, nftables proxy)', () => {
  const lab = new Lab('ewl');
  let c: Cluster;

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nsenter', 'unshare', 'socat', 'nft']);
    c = await upCluster(lab, { cni: 'bridge', proxyMode: 'nftables' });
  }, 180_000);

  afterAll(async () => {
    await lab.cleanup();
  }, 60_000);

  const scale = (name: string, replicas: number): Promise<unknown> =>
    c.api.request(
      'PATCH',
      `/apis/apps/v1/namespaces/default/deployments/${name}`,
      { spec: { replicas } },
      'application/merge-patch+json',
    );

  it('scales a Deployment 1 → 5 → 2 with exactly that many ready endpoints', async () => {
    await c.api.request('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('scale', 1));
    await c.api.request('POST', '/api/v1/namespaces/default/services', service('scale', 'ClusterIP', { app: 'scale' }));
    for (const n of [1, 5, 2]) {
      await scale('scale', n);
      const eps = await until(`${n} ready endpoints`, 120_000, async () => {
        const e = await readyEndpoints(c.api, 'scale');
        const pods = (await listPods(c.api, 'app=scale')).filter((p) => !p.metadata.deletionTimestamp);
        return e.length === n && pods.length === n ? e : undefined;
      });
      expect(eps).toHaveLength(n);
    }
  });

  it('keeps a ClusterIP answering through a rolling update (zero failed requests)', async () => {
    await c.api.request(
      'POST',
      '/apis/apps/v1/namespaces/default/deployments',
      deployment('roll', 3, { args: ['--http-port=8080', '--delay-shutdown=3'] }),
    );
    const svc = await c.api.request<SvcJson>(
      'POST',
      '/api/v1/namespaces/default/services',
      service('roll', 'ClusterIP', { app: 'roll' }),
    );
    const vip = svc.spec.clusterIP as string;
    const from = c.ns('node1');
    await until('3 ready endpoints', 120_000, async () => (await readyEndpoints(c.api, 'roll')).length === 3);
    await until('VIP answers', 30_000, () => httpGetIn(from, vip, 80, '/hostname'));
    const before = new Set((await listPods(c.api, 'app=roll')).map((p) => p.metadata.name));
    await c.api.request(
      'PATCH',
      '/apis/apps/v1/namespaces/default/deployments/roll',
      {
        spec: {
          template: {
            spec: {
              containers: [
                {
                  name: 'web',
                  image: 'skiff/netexec',
                  args: ['--http-port=8080', '--delay-shutdown=3'],
                  env: [{ name: 'VERSION', value: '2' }],
                },
              ],
            },
          },
        },
      },
      'application/strategic-merge-patch+json',
    );
    let ok = 0;
    let failed = 0;
    const deadline = Date.now() + 180_000;
    for (let i = 0; i < 5000 && Date.now() < deadline; i++) {
      if ((await httpGetIn(from, vip, 80, '/hostname', 3)) !== undefined) ok++;
      else failed++;
      if (i % 10 === 0) {
        const pods = await listPods(c.api, 'app=roll');
        const fresh = pods.filter((p) => !before.has(p.metadata.name));
        if (pods.length === 3 && fresh.length === 3 && fresh.every(isReady)) break;
      }
    }
    const pods = await listPods(c.api, 'app=roll');
    expect(pods.filter((p) => !before.has(p.metadata.name) && isReady(p))).toHaveLength(3);
    expect(ok).toBeGreaterThan(0);
    expect(failed).toBe(0);
  });

  it('moves pods off a node whose kubelet dies; the service keeps answering', async () => {
    await c.api.request('POST', '/apis/apps/v1/namespaces/default/deployments', deployment('move', 3));
    const svc = await c.api.request<SvcJson>(
      'POST',
      '/api/v1/namespaces/default/services',
      service('move', 'ClusterIP', { app: 'move' }),
    );
    await until('3 ready endpoints', 120_000, async () => (await readyEndpoints(c.api, 'move')).length === 3);
    const pods = await listPods(c.api, 'app=move');
    const victim = pods[0]?.spec.nodeName as string;
    const state = readLab(c.stateDir);
    const supervisor = state?.processes.find((p) => p.name === 'supervisor');
    expect(supervisor).toBeDefined();
    // `skiff stop kubelet-X`: the kubelet stays down (a crash would be restarted by the supervisor)
    await controlComponents(c.stateDir, supervisor!, [`kubelet-${victim}`], 'stop');
    await until(`pods moved off ${victim}`, 150_000, async () => {
      const ps = (await listPods(c.api, 'app=move')).filter((p) => p.spec.nodeName !== victim && isReady(p));
      return ps.length >= 3 ? ps : undefined;
    });
    // the dead node's pods are evicted (gone or terminating), not left running beside their replacements
    const onVictim = (await listPods(c.api, 'app=move')).filter((p) => p.spec.nodeName === victim);
    expect(onVictim.filter((p) => !p.metadata.deletionTimestamp)).toEqual([]);
    const survivor = ['node1', 'node2', 'node3'].find((n) => n !== victim) as string;
    await until('service answers after the move', 60_000, () =>
      httpGetIn(c.ns(survivor), svc.spec.clusterIP as string, 80, '/hostname'),
    );
  });
});
