import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniRuntime, parseConfList } from '../../../src/cni/runtime/index.js';
import { attachmentHash } from '../../../src/cni/names.js';
import { run, runRaw } from '../../../src/os/exec.js';
import { namedNs } from '../../../src/os/ns.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { IMPLS, nodeExec, OUR_BIN, requirePlugins } from './cnilab.js';

/**
 * bridge `ipMasq` on the real kernel, skiff's and the reference's: a pod's traffic to a host beyond the node
 * leaves with the node's address (the remote end sees it), and without ipMasq with the pod's own. The
 * masquerade is keyed per attachment (as the reference's ipmasq): an address reused while a stale
 * attachment still holds rules for it is masqueraded for the new pod, and the stale attachment's DEL leaves
 * the new pod's masquerade in place. skiff's DEL releases the address only once the attachment's rules are
 * gone.
 */
describe('bridge ipMasq: egress SNAT, keyed per attachment', () => {
  const lab = new Lab('masq');
  let tmp = '';
  const NODE_EXT = '192.168.77.1';
  const REMOTE = '192.168.77.2';

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nft', 'iptables-save', 'flock', 'socat']);
    requirePlugins(['bridge', 'host-local']);
    tmp = lab.tmpdir();
  });
  afterAll(() => lab.cleanup());

  /** A node with an uplink to a "remote" namespace whose TCP server answers with the peer address it sees. */
  async function world(tag: string, podSubnet: string): Promise<{ node: string; port: number }> {
    const node = await lab.netns(`n${tag}`);
    const remote = await lab.netns(`r${tag}`);
    await lab.veth(node, 'ext0', remote, 'eth0');
    await run(['ip', '-n', node, 'addr', 'add', `${NODE_EXT}/24`, 'dev', 'ext0']);
    await run(['ip', '-n', remote, 'addr', 'add', `${REMOTE}/24`, 'dev', 'eth0']);
    // the remote routes the pod subnet back through the node, so unmasqueraded traffic is answered too
    await run(['ip', '-n', remote, 'route', 'add', podSubnet, 'via', NODE_EXT]);
    const port = 17000 + Math.floor(Math.random() * 1000);
    const srv = spawn(
      'ip',
      ['netns', 'exec', remote, 'socat', `TCP-LISTEN:${port},reuseaddr,fork`, 'SYSTEM:echo $SOCAT_PEERADDR'],
      { stdio: 'ignore' },
    );
    lab.onCleanup(() => void (srv.exitCode === null && srv.kill('SIGKILL')));
    return { node, port };
  }

  /** The source address the remote saw for a connection from the pod (bounded retries while socat starts). */
  async function seenFrom(pod: string, port: number): Promise<string> {
    let last = '';
    for (let i = 0; i < 30; i++) {
      const r = await runRaw(['socat', '-T2', '-', `TCP:${REMOTE}:${port},connect-timeout=2`], {
        ns: namedNs(pod),
        timeoutMs: 10_000,
      });
      if (r.code === 0 && r.stdout.trim()) return r.stdout.trim();
      last = r.stderr.trim();
      await new Promise((res) => setTimeout(res, 100));
    }
    throw new Error(`no answer from ${REMOTE}:${port} in ${pod}: ${last}`);
  }

  const network = (name: string, path: string, subnet: string, ipMasq: boolean) =>
    parseConfList(
      JSON.stringify({
        cniVersion: '1.0.0',
        name,
        plugins: [
          {
            type: 'bridge',
            bridge: 'masq0',
            isDefaultGateway: true,
            ipMasq,
            ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: join(tmp, `ipam-${name}`) },
          },
        ],
      }),
    );
  const rtFor = (path: string, node: string, tag: string) =>
    new CniRuntime({ path: [path], cacheDir: join(tmp, `cache-${tag}`), exec: nodeExec(node) });
  const ipOf = (r: { ips?: { address: string }[] }) => (r.ips?.[0]?.address ?? '').split('/')[0] as string;

  for (const [i, impl] of IMPLS.entries()) {
    it(`${impl.name}: with ipMasq the remote sees the node's address, without it the pod's`, async () => {
      for (const masq of [true, false]) {
        const tag = `${impl.name.slice(0, 3)}${masq ? 'm' : 'p'}`;
        const subnet = `10.244.${60 + i * 2 + (masq ? 0 : 1)}.0/24`;
        const { node, port } = await world(tag, subnet);
        const rt = rtFor(impl.path, node, tag);
        const net = network(`masq-${tag}`, impl.path, subnet, masq);
        const pod = await lab.netns(`p${tag}`);
        const att = { containerId: `c-${tag}`, netns: `/run/netns/${pod}`, ifname: 'eth0' };
        const res = await rt.addNetworkList(net, att);
        expect([masq, await seenFrom(pod, port)]).toEqual([masq, masq ? NODE_EXT : ipOf(res)]);
        await rt.delNetworkList(net, att);
      }
    }, 120_000);

    it(`${impl.name}: a reused address is masqueraded for the new pod, also after the stale attachment's DEL`, async () => {
      const tag = `${impl.name.slice(0, 3)}s`;
      const subnet = `10.244.${64 + i}.0/24`;
      const { node, port } = await world(tag, subnet);
      const name = `masq-${tag}`;
      const net = network(name, impl.path, subnet, true);
      // A's runtime and B's: A goes stale, B gets A's address
      const rtA = rtFor(impl.path, node, `${tag}a`);
      const rtB = rtFor(impl.path, node, `${tag}b`);
      const podA = await lab.netns(`pa${tag}`);
      const podB = await lab.netns(`pb${tag}`);
      const a = { containerId: 'stale-a', netns: `/run/netns/${podA}`, ifname: 'eth0' };
      const ip = ipOf(await rtA.addNetworkList(net, a));
      // A's pod is gone and its address was freed (a crash between the two), but its rules remain
      await runRaw(['ip', 'netns', 'del', podA]);
      rmSync(join(tmp, `ipam-${name}`, name, ip));
      const b = {
        containerId: 'new-b',
        netns: `/run/netns/${podB}`,
        ifname: 'eth0',
        args: [
          ['IgnoreUnknown', '1'],
          ['IP', ip],
        ] as [string, string][],
      };
      const resB = await rtB.addNetworkList(net, b);
      expect(ipOf(resB)).toBe(ip);
      expect(await seenFrom(podB, port)).toBe(NODE_EXT);
      // the stale attachment's DEL removes its own rules only
      await rtA.delNetworkList(net, a);
      expect(await seenFrom(podB, port)).toBe(NODE_EXT);
      if (impl.path === OUR_BIN) {
        const map = await run(['nft', '-j', 'list', 'map', 'inet', 'skiff_cni_masq', 'masq4'], { ns: namedNs(node) });
        expect(map).toContain(`"target": "masq-${attachmentHash(name, 'new-b', 'eth0')}"`);
        expect(map).not.toContain(`masq-${attachmentHash(name, 'stale-a', 'eth0')}`);
      }
      await rtB.delNetworkList(net, b);
      const rules = (await runRaw(['nft', 'list', 'ruleset'], { ns: namedNs(node) })).stdout;
      const ipt = (await runRaw(['iptables-save'], { ns: namedNs(node) })).stdout;
      // The reference's DEL without a netns cannot learn A's address, so A's rule stays (a known departure,
      // src/cni/conformance/known.ts); B's is gone all the same. skiff's leaves nothing.
      const left = ipt.split('\n').filter((l) => l.includes(ip));
      if (impl.path === OUR_BIN) expect([rules.includes(ip), left]).toEqual([false, []]);
      else expect(left.filter((l) => !l.includes('stale-a'))).toEqual([]);
    }, 120_000);
  }

  it("skiff: DEL keeps the address while the attachment's rules cannot be removed", async () => {
    const tag = 'ord';
    const subnet = '10.244.66.0/24';
    const { node } = await world(tag, subnet);
    const name = `masq-${tag}`;
    const net = network(name, OUR_BIN, subnet, true);
    const rt = rtFor(OUR_BIN, node, tag);
    const pod = await lab.netns(`p${tag}`);
    const att = { containerId: 'ordered', netns: `/run/netns/${pod}`, ifname: 'eth0' };
    const ip = ipOf(await rt.addNetworkList(net, att));
    const lease = join(tmp, `ipam-${name}`, name, ip);
    // another chain jumping to the attachment's chain makes the kernel refuse to delete it
    const chain = `masq-${attachmentHash(name, 'ordered', 'eth0')}`;
    const hold = `add chain inet skiff_cni_masq hold\nadd rule inet skiff_cni_masq hold jump ${chain}\n`;
    await run(['nft', '-f', '-'], { ns: namedNs(node), input: hold });
    await expect(rt.delNetworkList(net, att)).rejects.toThrow();
    expect(existsSync(lease)).toBe(true);
    await run(['nft', 'delete', 'chain', 'inet', 'skiff_cni_masq', 'hold'], { ns: namedNs(node) });
    await rt.delNetworkList(net, att);
    expect(existsSync(lease)).toBe(false);
  }, 60_000);
});
