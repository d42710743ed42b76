/**
 * The agent's API mode: two agents (in-process, each programming its own lab node namespace) learn their
 * subnets from Node objects, publish their VTEP on their Node, build each other's entries from what the
 * other published, and drop a Node that is deleted. The Node endpoints are the in-process stand-in from
 * test/unit/overlay/nodes-api.ts (the full API server is exercised by the cluster tests).
 * Datapath: node-to-node across the overlay (VTEP .0 addresses), which needs every entry to be right.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, runRaw } from '../../../src/os/exec.js';
import { VxlanAgent } from '../../../src/overlay/vxlan/agent.js';
import { ApiPeerSource } from '../../../src/overlay/vxlan/api-source.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { fakeNode, NodesApi } from '../../unit/overlay/nodes-api.js';

const lab = new Lab();
const api = new NodesApi();
const agents: VxlanAgent[] = [];
const ns: Record<string, string> = {};
let tmp = '';

async function waitFor(what: string, fn: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; !(await fn()); i++) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, Math.min(50 * (i + 1), 250)));
  }
}

async function routes(node: string): Promise<string[]> {
  const r = await runRaw(['ip', '-n', ns[node]!, '-json', 'route', 'show', 'dev', 'skiff.1']);
  if (r.code !== 0) return [];
  return (JSON.parse(r.stdout || '[]') as { dst: string; gateway?: string }[])
    .filter((x) => x.gateway)
    .map((x) => x.dst);
}

async function fdb(node: string): Promise<{ mac: string; dst?: string }[]> {
  const r = await runRaw(['bridge', '-n', ns[node]!, '-json', 'fdb', 'show', 'dev', 'skiff.1']);
  return r.code === 0 ? (JSON.parse(r.stdout || '[]') as { mac: string; dst?: string }[]) : [];
}

describe('vxlan agent, API mode', () => {
  beforeAll(async () => {
    requireRootAndTools(['ip', 'bridge', 'ping']);
    tmp = lab.tmpdir();
    const ul = await lab.netns('ul');
    await run(['ip', '-n', ul, 'link', 'add', 'br0', 'type', 'bridge']);
    await run(['ip', '-n', ul, 'link', 'set', 'br0', 'up']);
    await api.start();
    lab.onCleanup(() => api.stop());
    const kubeconfig = api.writeKubeconfig(tmp);
    for (const [i, name] of ['n1', 'n2'].entries()) {
      const n = await lab.netns(name);
      ns[name] = n;
      const ip = `198.18.0.${11 + i}`;
      await run(['ip', '-n', n, 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', `p-${name}`, 'netns', ul]);
      await run(['ip', '-n', ul, 'link', 'set', `p-${name}`, 'master', 'br0', 'up']);
      await run(['ip', '-n', n, 'addr', 'add', `${ip}/24`, 'dev', 'u0']);
      await run(['ip', '-n', n, 'link', 'set', 'u0', 'up']);
      api.upsert(fakeNode(name, `10.244.${i + 1}.0/24`, ip));
      const log = pino({ level: 'silent' });
      const agent = new VxlanAgent({
        nodeName: name,
        source: new ApiPeerSource(kubeconfig, log),
        subnetFile: join(tmp, `${name}.env`),
        clusterCIDR: '10.244.0.0/16',
        vni: 1,
        port: 8472,
        device: 'skiff.1',
        resyncMs: 500,
        netns: n,
        log,
      });
      agents.push(agent);
      lab.onCleanup(() => agent.stop());
      await agent.start();
    }
  });

  afterAll(async () => {
    await lab.cleanup();
  });

  it('each agent publishes its VTEP on its Node and programs the other node', async () => {
    await waitFor('both Nodes annotated', () =>
      ['n1', 'n2'].every((n) => api.nodes.get(n)?.metadata.annotations?.['skiff.io/vtep-mac']),
    );
    const mac2 = api.nodes.get('n2')!.metadata.annotations!['skiff.io/vtep-mac'];
    expect(api.nodes.get('n2')!.metadata.annotations!['skiff.io/public-ip']).toBe('198.18.0.12');
    const link2 = JSON.parse(await run(['ip', '-n', ns.n2!, '-json', 'link', 'show', 'dev', 'skiff.1']))[0];
    expect(link2.address).toBe(mac2);
    await waitFor('n1 route to n2', async () => (await routes('n1')).includes('10.244.2.0/24'));
    await waitFor('n2 route to n1', async () => (await routes('n2')).includes('10.244.1.0/24'));
    expect(await fdb('n1')).toContainEqual(expect.objectContaining({ mac: mac2, dst: '198.18.0.12' }));
    expect(existsSync(join(tmp, 'n1.env'))).toBe(true);
  });

  it('nodes reach each other across the overlay', async () => {
    // n1's skiff.1 holds 10.244.1.0/32, so this goes out with that source and n2 routes the reply back.
    const r = await runRaw(['ip', 'netns', 'exec', ns.n1!, 'ping', '-c', '2', '-i', '0.2', '-W', '2', '10.244.2.0'], {
      timeoutMs: 10_000,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('a deleted Node loses its entries', async () => {
    const mac2 = api.nodes.get('n2')!.metadata.annotations!['skiff.io/vtep-mac'];
    api.remove('n2');
    await waitFor(
      'n1 to drop n2',
      async () => !(await routes('n1')).includes('10.244.2.0/24') && !(await fdb('n1')).some((e) => e.mac === mac2),
    );
    expect(await routes('n1')).toEqual([]);
  });
});
