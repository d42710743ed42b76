import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniRuntime, parseConfList, type LoadedList } from '../../../src/cni/runtime/index.js';
import { run, runRaw } from '../../../src/os/exec.js';
import { namedNs } from '../../../src/os/ns.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { echoServer, IMPLS, nodeExec, requirePlugins, tcpEcho } from './cnilab.js';

/**
 * portmap on the kernel, both plugin sets: a mapping bound to a hostIP answers on that address only, and
 * 127.0.0.1:hostPort works from the node itself (route_localnet on the bridge + localhost masquerade, the
 * reference's design). skiff's portmap also: CHECK notices its rules are gone, GC removes only the stale
 * attachment's mapping (the reference 1.1.1 has no GC).
 */
const list = (dataDir: string, cniVersion = '1.0.0'): LoadedList =>
  parseConfList(
    JSON.stringify({
      cniVersion,
      name: 'pmnet',
      plugins: [
        {
          type: 'bridge',
          bridge: 'pm0',
          isGateway: true,
          ipam: {
            type: 'host-local',
            ranges: [[{ subnet: '10.244.81.0/24' }]],
            routes: [{ dst: '0.0.0.0/0' }], // replies to the client go back via the node
            dataDir,
          },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    }),
  );

/** One TCP connection attempt that must fail (refused or timed out): nothing maps or listens there. */
async function unreachable(ns: string, host: string, port: number): Promise<boolean> {
  const r = await runRaw(['socat', '-T2', '-', `TCP:${host}:${port},connect-timeout=2`], {
    ns: namedNs(ns),
    input: 'x\n',
    timeoutMs: 10_000,
  });
  return r.code !== 0 || r.stdout.trim() !== 'x';
}

for (const impl of IMPLS) {
  describe(`portmap hostIP and localhost (${impl.name})`, () => {
    const lab = new Lab();
    let node = '';
    let client = '';
    let rt: CniRuntime;
    let net: LoadedList;

    beforeAll(async () => {
      requireRootAndTools(['ip', 'nft', 'socat', 'flock', 'iptables']);
      requirePlugins(['bridge', 'host-local', 'portmap']);
      node = await lab.netns('node');
      client = await lab.netns('client');
      await lab.veth(node, 'ext0', client, 'eth0');
      await run(['ip', '-n', node, 'addr', 'add', '192.168.97.1/24', 'dev', 'ext0']);
      await run(['ip', '-n', node, 'addr', 'add', '192.168.97.3/24', 'dev', 'ext0']);
      await run(['ip', '-n', client, 'addr', 'add', '192.168.97.2/24', 'dev', 'eth0']);
      const tmp = lab.tmpdir();
      rt = new CniRuntime({ path: [impl.path], cacheDir: join(tmp, 'cache'), exec: nodeExec(node) });
      net = list(tmp);
    });
    afterAll(() => lab.cleanup());

    it('hostIP: the mapping answers on that node address only', async () => {
      const a = {
        containerId: 'pm-hostip',
        netns: `/run/netns/${await lab.netns('a')}`,
        ifname: 'eth0',
        capabilityArgs: {
          portMappings: [{ hostPort: 18081, containerPort: 8080, protocol: 'tcp', hostIP: '192.168.97.1' }],
        },
      };
      await rt.addNetworkList(net, a);
      const srv = echoServer(await lab.netns('a'), 8080);
      lab.onCleanup(srv.stop);
      expect(await tcpEcho(client, '192.168.97.1', 18081, 'bound')).toBe('bound');
      // the node's other address, same port: not mapped
      expect(await unreachable(client, '192.168.97.3', 18081)).toBe(true);
      srv.stop();
      await rt.delNetworkList(net, a);
      expect(await unreachable(client, '192.168.97.1', 18081)).toBe(true);
    });

    it('localhost: 127.0.0.1:hostPort from the node reaches the pod (route_localnet on the bridge)', async () => {
      const b = {
        containerId: 'pm-local',
        netns: `/run/netns/${await lab.netns('b')}`,
        ifname: 'eth0',
        capabilityArgs: { portMappings: [{ hostPort: 18082, containerPort: 8080, protocol: 'tcp' }] },
      };
      await rt.addNetworkList(net, b);
      const srv = echoServer(await lab.netns('b'), 8080);
      lab.onCleanup(srv.stop);
      const localnet = await run(['sysctl', '-n', 'net.ipv4.conf.pm0.route_localnet'], { ns: namedNs(node) });
      expect(localnet.trim()).toBe('1');
      expect(await tcpEcho(node, '127.0.0.1', 18082, 'local')).toBe('local');
      // and from outside through the node's address
      expect(await tcpEcho(client, '192.168.97.1', 18082, 'remote')).toBe('remote');
      srv.stop();
      await rt.delNetworkList(net, b);
    });
  });
}

describe('portmap CHECK and GC (skiff)', () => {
  const lab = new Lab();
  let node = '';
  let client = '';
  let rt: CniRuntime;
  let net: LoadedList;
  const ours = IMPLS.find((i) => i.name === 'skiff')!;

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nft', 'socat', 'flock']);
    requirePlugins(['bridge', 'host-local', 'portmap']);
    node = await lab.netns('node');
    client = await lab.netns('client');
    await lab.veth(node, 'ext0', client, 'eth0');
    await run(['ip', '-n', node, 'addr', 'add', '192.168.97.1/24', 'dev', 'ext0']);
    await run(['ip', '-n', client, 'addr', 'add', '192.168.97.2/24', 'dev', 'eth0']);
    const tmp = lab.tmpdir();
    rt = new CniRuntime({ path: [ours.path], cacheDir: join(tmp, 'cache'), exec: nodeExec(node) });
    net = list(tmp, '1.1.0'); // GC needs 1.1.0
  });
  afterAll(() => lab.cleanup());

  const att = async (p: string, port: number) => ({
    containerId: `pm-${p}`,
    netns: `/run/netns/${await lab.netns(p)}`,
    ifname: 'eth0',
    capabilityArgs: { portMappings: [{ hostPort: port, containerPort: 8080, protocol: 'tcp' }] },
  });

  it('CHECK passes with the rules in place and fails once they are gone', async () => {
    const c = await att('c', 18083);
    await rt.addNetworkList(net, c);
    await rt.checkNetworkList(net, c);
    const chains = await run(['nft', 'list', 'table', 'inet', 'skiff_cni_portmap'], { ns: namedNs(node) });
    const chain = /chain (hp-[0-9a-f]+)/.exec(chains)?.[1];
    expect(chain).toBeDefined();
    await run(['nft', 'flush', 'chain', 'inet', 'skiff_cni_portmap', chain!], { ns: namedNs(node) });
    await run(['nft', 'flush', 'map', 'inet', 'skiff_cni_portmap', 'hostports'], { ns: namedNs(node) });
    await run(['nft', 'delete', 'chain', 'inet', 'skiff_cni_portmap', chain!], { ns: namedNs(node) });
    await expect(rt.checkNetworkList(net, c)).rejects.toThrow(/portmap: rules for pm-c\/eth0 are missing/);
    await rt.delNetworkList(net, c);
  });

  it('GC keeps the valid attachment mapped and removes the stale one', async () => {
    const d = await att('d', 18084);
    const e = await att('e', 18085);
    await rt.addNetworkList(net, d);
    await rt.addNetworkList(net, e);
    const srvD = echoServer(await lab.netns('d'), 8080);
    const srvE = echoServer(await lab.netns('e'), 8080);
    lab.onCleanup(() => {
      srvD.stop();
      srvE.stop();
    });
    expect(await tcpEcho(client, '192.168.97.1', 18085, 'e-before')).toBe('e-before');
    await rt.gcNetworkList(net, [{ containerID: 'pm-d', ifname: 'eth0' }]);
    expect(await tcpEcho(client, '192.168.97.1', 18084, 'd-after')).toBe('d-after');
    expect(await unreachable(client, '192.168.97.1', 18085)).toBe(true);
    const ruleset = await run(['nft', 'list', 'ruleset'], { ns: namedNs(node) });
    expect(ruleset).toContain('ctr=pm-d');
    expect(ruleset).not.toContain('ctr=pm-e');
    await rt.checkNetworkList(net, d);
    srvD.stop();
    srvE.stop();
    await rt.delNetworkList(net, d);
  });
});
