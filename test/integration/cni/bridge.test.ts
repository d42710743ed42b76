import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniRuntime, parseConfList, type LoadedList } from '../../../src/cni/runtime/index.js';
import type { Result } from '../../../src/cni/spec/types.js';
import { runRaw, run } from '../../../src/os/exec.js';
import { namedNs } from '../../../src/os/ns.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { echoServer, IMPLS, nodeExec, ping, requirePlugins, tcpEcho } from './cnilab.js';

/**
 * The same behavioural tests against our plugins and the reference plugins (containernetworking-plugins
 * 1.1.1), driven by our runtime. cniVersion 1.0.0 is used because the reference supports up to 1.0.0.
 * Every plugin runs inside the test's node namespace.
 */
function bridgeList(dataDir: string, withPortmap: boolean): LoadedList {
  const plugins: Record<string, unknown>[] = [
    {
      type: 'bridge',
      bridge: 'cni0',
      isGateway: true,
      isDefaultGateway: true,
      ipMasq: true,
      hairpinMode: true,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.1.0/24' }]], dataDir },
    },
  ];
  if (withPortmap) plugins.push({ type: 'portmap', capabilities: { portMappings: true }, snat: true });
  return parseConfList(JSON.stringify({ cniVersion: '1.0.0', name: 'brnet', plugins }));
}

const addr = (r: Result) => (r.ips?.[0]?.address ?? '').split('/')[0] as string;

for (const impl of IMPLS) {
  describe(`bridge + host-local + portmap (${impl.name})`, () => {
    const lab = new Lab();
    let node = '';
    let dataDir = '';
    let cacheDir = '';
    let rt: CniRuntime;
    const pods: Record<string, string> = {};
    const results: Record<string, Result> = {};
    let list: LoadedList;
    let pmList: LoadedList;

    beforeAll(async () => {
      requireRootAndTools(['ip', 'nft', 'ping', 'socat', 'flock', 'nsenter']);
      requirePlugins();
      node = await lab.netns('node');
      dataDir = lab.tmpdir();
      cacheDir = lab.tmpdir();
      rt = new CniRuntime({ path: [impl.path], cacheDir, exec: nodeExec(node) });
      list = bridgeList(dataDir, false);
      pmList = bridgeList(dataDir, true);
      for (const p of ['a', 'b', 'c']) pods[p] = await lab.netns(`pod${p}`);
    });
    afterAll(() => lab.cleanup());

    const att = (p: string) => ({ containerId: `ctr-${p}`, netns: `/run/netns/${pods[p]}`, ifname: 'eth0' });

    it('two pods reach each other and the gateway (ping and TCP)', async () => {
      results.a = await rt.addNetworkList(list, att('a'));
      results.b = await rt.addNetworkList(list, att('b'));
      const [a, b] = [addr(results.a), addr(results.b)];
      expect(a).toMatch(/^10\.244\.1\.\d+$/);
      expect(b).not.toBe(a);
      expect(await ping(pods.a!, b)).toBe(true);
      expect(await ping(pods.b!, a)).toBe(true);
      expect(await ping(pods.a!, '10.244.1.1')).toBe(true);
      const srvB = echoServer(pods.b!, 8080);
      const srvGw = echoServer(node, 8081);
      lab.onCleanup(() => {
        srvB.stop();
        srvGw.stop();
      });
      expect(await tcpEcho(pods.a!, b, 8080, 'hello-b')).toBe('hello-b');
      expect(await tcpEcho(pods.a!, '10.244.1.1', 8081, 'hello-gw')).toBe('hello-gw');
      srvB.stop();
      srvGw.stop();
    });

    it('CHECK passes for an intact attachment and fails once its address is removed', async () => {
      await rt.checkNetworkList(list, att('a'));
      await rt.checkNetworkList(list, att('b'));
      const b = results.b!.ips![0]!.address;
      await run(['ip', '-n', pods.b!, 'addr', 'del', b, 'dev', 'eth0']);
      await expect(rt.checkNetworkList(list, att('b'))).rejects.toThrow();
      // put it back: the reference bridge's DEL finds the addresses to un-masquerade on the interface itself
      await run(['ip', '-n', pods.b!, 'addr', 'add', b, 'dev', 'eth0']);
      await run(['ip', '-n', pods.b!, 'route', 'replace', 'default', 'via', '10.244.1.1', 'dev', 'eth0']);
      await rt.checkNetworkList(list, att('b'));
    });

    it('a pod reaches itself through a hostPort (portmap DNAT + hairpin masquerade)', async () => {
      results.c = await rt.addNetworkList(pmList, {
        ...att('c'),
        capabilityArgs: { portMappings: [{ hostPort: 30080, containerPort: 8080, protocol: 'tcp' }] },
      });
      const srv = echoServer(pods.c!, 8080);
      lab.onCleanup(srv.stop);
      // pod c → node address:hostPort → DNAT back to pod c itself
      expect(await tcpEcho(pods.c!, '10.244.1.1', 30080, 'hairpin')).toBe('hairpin');
      // and another pod through the same hostPort
      expect(await tcpEcho(pods.a!, '10.244.1.1', 30080, 'from-a')).toBe('from-a');
      srv.stop();
    });

    it('DEL (from a fresh runtime, using the cache) leaves no veth, address, route, nft rule or IPAM file; DEL twice is fine', async () => {
      const after = new CniRuntime({ path: [impl.path], cacheDir, exec: nodeExec(node) });
      await after.delNetworkList(list, att('a'));
      await after.delNetworkList(list, att('b'));
      await after.delNetworkList(pmList, att('c'));
      await after.delNetworkList(list, att('a')); // twice
      for (const p of ['a', 'b', 'c']) {
        const links = JSON.parse(await run(['ip', '-n', pods[p]!, '-j', 'link', 'show'])) as { ifname: string }[];
        expect(links.map((l) => l.ifname)).toEqual(['lo']);
        expect((await run(['ip', '-n', pods[p]!, 'route', 'show'])).trim()).toBe('');
      }
      const nodeLinks = JSON.parse(await run(['ip', '-n', node, '-j', 'link', 'show'])) as { ifname: string }[];
      expect(nodeLinks.map((l) => l.ifname).sort()).toEqual(['cni0', 'lo']);
      const ruleset = await run(['nft', 'list', 'ruleset'], { ns: namedNs(node) });
      for (const p of ['a', 'b', 'c']) {
        expect(ruleset).not.toContain(`ctr-${p}`);
        expect(ruleset).not.toContain(addr(results[p]!));
      }
      expect(ruleset).not.toContain('30080');
      const files = readdirSync(join(dataDir, 'brnet')).filter(
        (f) => f !== 'lock' && !f.startsWith('last_reserved_ip'),
      );
      expect(files).toEqual([]);
      expect(readdirSync(cacheDir)).toEqual([]);
    });

    it('DEL succeeds when the pod netns is already gone', async () => {
      const gone = await lab.netns('gone');
      const a = { containerId: 'ctr-gone', netns: `/run/netns/${gone}`, ifname: 'eth0' };
      await rt.addNetworkList(list, a);
      await runRaw(['ip', 'netns', 'del', gone]);
      await rt.delNetworkList(list, { ...a, netns: '' });
      const files = readdirSync(join(dataDir, 'brnet')).filter(
        (f) => f !== 'lock' && !f.startsWith('last_reserved_ip'),
      );
      expect(files).toEqual([]);
    });

    it('concurrent ADDs on a node that has no bridge yet all succeed (one creates it, the others use it)', async () => {
      const fresh = await lab.netns('fresh');
      const freshRt = new CniRuntime({ path: [impl.path], cacheDir: lab.tmpdir(), exec: nodeExec(fresh) });
      const freshList = bridgeList(lab.tmpdir(), false);
      const ns = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => lab.netns(`race${i}`)));
      const settled = await Promise.allSettled(
        ns.map((n, i) =>
          freshRt.addNetworkList(freshList, { containerId: `race-${i}`, netns: `/run/netns/${n}`, ifname: 'eth0' }),
        ),
      );
      const errors = settled.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []));
      expect(errors).toEqual([]);
      const ips = settled.map((r) => (r.status === 'fulfilled' ? addr(r.value) : ''));
      expect(new Set(ips).size).toBe(6);
      expect(await ping(ns[0]!, ips[5]!)).toBe(true);
    });
  });
}
