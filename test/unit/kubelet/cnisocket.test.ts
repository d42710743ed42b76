import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { PluginExec } from '../../../src/cni/invoke.js';
import { CNI_SOCKET_ENV, RuntimeCniNetwork } from '../../../src/kubelet/cni.js';

/**
 * The kubelet hands its node's skiff-cnid socket to every plugin call (ADD, DEL, GC) through the exec
 * environment; without --cni-socket the environment is what it always was. The recording exec stands in
 * for the plugin process only; the kubelet's network seam and the CNI runtime are the real ones.
 */
const root = mkdtempSync(join(tmpdir(), 'skiff-kubelet-cnisock-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function setup(socket?: string) {
  const dir = mkdtempSync(join(root, 'n-'));
  const conf = join(dir, 'net.d');
  const bin = join(dir, 'bin');
  for (const d of [conf, bin]) mkdirSync(d);
  writeFileSync(
    join(conf, '10-skiff.conflist'),
    JSON.stringify({ cniVersion: '1.1.0', name: 'skiff', plugins: [{ type: 'bridge' }] }),
  );
  writeFileSync(join(bin, 'bridge'), '#!/bin/sh\n');
  chmodSync(join(bin, 'bridge'), 0o755);
  const calls: Record<string, string>[] = [];
  const exec: PluginExec = {
    exec: async (_path, env) => {
      calls.push(env);
      const result =
        env.CNI_COMMAND === 'ADD' ? JSON.stringify({ cniVersion: '1.1.0', ips: [{ address: '10.244.1.5/24' }] }) : '';
      return { code: 0, stdout: result, stderr: '' };
    },
  };
  const net = new RuntimeCniNetwork(conf, [bin], join(dir, 'cache'), { socket, exec });
  return { net, calls };
}

describe('kubelet --cni-socket', () => {
  it('passes SKIFF_CNI_SOCKET to ADD, DEL and GC plugin calls', async () => {
    const { net, calls } = setup('/var/lib/skiff/lab/nodes/node1/cni.sock');
    expect(await net.add({ containerId: 'uid-1', ifName: 'eth0' }, '/run/netns/p1', {})).toEqual({
      ips: ['10.244.1.5'],
    });
    await net.del({ containerId: 'uid-1', ifName: 'eth0' }, '/run/netns/p1');
    await net.gc([]);
    expect(calls.map((c) => c.CNI_COMMAND)).toEqual(['ADD', 'DEL', 'GC']);
    for (const c of calls) expect(c[CNI_SOCKET_ENV]).toBe('/var/lib/skiff/lab/nodes/node1/cni.sock');
  });

  it('leaves the environment alone without a socket', async () => {
    const { net, calls } = setup();
    await net.add({ containerId: 'uid-2', ifName: 'eth0' }, '/run/netns/p2', {});
    expect(calls).toHaveLength(1);
    expect(calls[0]).not.toHaveProperty(CNI_SOCKET_ENV);
  });
});
