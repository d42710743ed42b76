/**
 * ApiPeerSource against the in-process Node endpoints stand-in (nodes-api.ts). Checks what the agent
 * relies on: peers from Nodes, the publish patch's content type and body, and that only overlay-relevant
 * changes wake it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiPeerSource } from '../../../src/overlay/vxlan/api-source.js';
import { fakeNode, NodesApi } from './nodes-api.js';

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('ApiPeerSource', () => {
  const api = new NodesApi();
  let dir: string;
  let source: ApiPeerSource;
  let changes = 0;

  beforeAll(async () => {
    await api.start();
    dir = mkdtempSync(join(tmpdir(), 'skiff-vxlan-api-'));
    api.upsert(fakeNode('n1', '10.244.1.0/24', '198.18.0.11'));
    api.upsert(
      fakeNode('n2', '10.244.2.0/24', '198.18.0.12', {
        'skiff.io/vtep-mac': '0e:00:00:00:00:02',
        'skiff.io/public-ip': '198.18.0.12',
      }),
    );
    source = new ApiPeerSource(api.writeKubeconfig(dir), pino({ level: 'silent' }));
    await source.start(() => changes++);
  });

  afterAll(async () => {
    await source?.stop();
    await api.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists peers from Nodes', () => {
    expect(source.peers().sort((a, b) => a.name.localeCompare(b.name))).toEqual([
      { name: 'n1', podCIDR: '10.244.1.0/24', publicIP: '198.18.0.11' },
      { name: 'n2', podCIDR: '10.244.2.0/24', publicIP: '198.18.0.12', vtepMAC: '0e:00:00:00:00:02' },
    ]);
    expect(changes).toBeGreaterThanOrEqual(1);
  });

  it('publishes the VTEP with a JSON merge patch and sees it come back through the watch', async () => {
    await until('watch connected', () => api.watchers.size > 0);
    const before = changes;
    await source.publish('n1', '0e:00:00:00:00:01', '198.18.0.11');
    expect(api.patches).toEqual([
      {
        contentType: 'application/merge-patch+json',
        name: 'n1',
        body: {
          metadata: { annotations: { 'skiff.io/vtep-mac': '0e:00:00:00:00:01', 'skiff.io/public-ip': '198.18.0.11' } },
        },
      },
    ]);
    await until('n1 update seen', () =>
      source.peers().some((p) => p.name === 'n1' && p.vtepMAC === '0e:00:00:00:00:01'),
    );
    expect(changes).toBeGreaterThan(before);
  });

  it('ignores heartbeat-only updates and reacts to a node leaving', async () => {
    const n2 = api.nodes.get('n2')!;
    const before = changes;
    api.upsert({
      ...n2,
      status: { ...n2.status, conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: 'now' }] },
    });
    // A later relevant event proves the heartbeat was processed first (the watch is ordered).
    api.upsert(fakeNode('n3', '10.244.3.0/24', '198.18.0.13'));
    await until('n3 seen', () => source.peers().some((p) => p.name === 'n3'));
    expect(changes).toBe(before + 1);
    api.remove('n3');
    await until('n3 gone', () => !source.peers().some((p) => p.name === 'n3'));
    expect(changes).toBe(before + 2);
  });
});
