import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniRuntime, parseConfList } from '../../../src/cni/runtime/index.js';
import type { Result } from '../../../src/cni/spec/types.js';
import { runRaw } from '../../../src/os/exec.js';
import { namedNs } from '../../../src/os/ns.js';
import { capabilityArgs } from '../../../src/kubelet/hostports.js';
import { RuntimeCniNetwork } from '../../../src/kubelet/cni.js';
import { renderConflist } from '../../../src/kubelet/cniconf.js';
import { podSchema } from '../../../src/kubelet/types.js';
import { ifbName } from '../../../plugins/bandwidth/bandwidth.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { callPlugin, IMPLS, type Impl, nodeExec, OUR_BIN, requirePlugins } from './cnilab.js';

/**
 * The bandwidth plugin, skiff's and the reference's side by side, on the real kernel: a pod behind bridge →
 * bandwidth gets a tbf on its host veth (traffic to the pod) and an ifb with a tbf (traffic from the pod);
 * a TCP transfer each way (iperf3, 2 s, pod ↔ its node) is held near the configured rate, while the same
 * transfer without shaping runs far faster. Both plugins build the same qdiscs, so each one's CHECK accepts
 * the other's ADD; DEL removes the ifb. And the kubelet's seam passes a pod's bandwidth annotations as the
 * `bandwidth` capability, as the kubelet does.
 */
const INGRESS_BITS = 8_000_000;
const EGRESS_BITS = 16_000_000;
const BURST_BITS = 512_000; // 64 KB

interface Tc {
  kind: string;
  handle: string;
  root?: boolean;
  options?: Record<string, unknown>;
}

describe('bandwidth: tbf on the host veth, ifb + tbf for egress', () => {
  const lab = new Lab('bw');
  let tmp = '';
  const bandwidth = {
    ingressRate: INGRESS_BITS,
    ingressBurst: BURST_BITS,
    egressRate: EGRESS_BITS,
    egressBurst: BURST_BITS,
  };
  const chain = (impl: Impl, name: string, subnet: string) =>
    parseConfList(
      JSON.stringify({
        cniVersion: '1.0.0',
        name,
        plugins: [
          {
            type: 'bridge',
            bridge: `bw${impl.name.slice(0, 3)}0`,
            isGateway: true,
            ipam: { type: 'host-local', ranges: [[{ subnet }]], dataDir: join(tmp, `ipam-${name}`) },
          },
          { type: 'bandwidth', capabilities: { bandwidth: true } },
        ],
      }),
    );

  beforeAll(async () => {
    requireRootAndTools(['ip', 'tc', 'nft', 'flock', 'iperf3']);
    requirePlugins(['bridge', 'host-local', 'bandwidth']);
    tmp = lab.tmpdir();
  });
  afterAll(() => lab.cleanup());

  // Every case has a node namespace of its own (bridges with other subnets would refuse each other's ADD).
  const qdiscs = async (node: string, dev: string): Promise<Tc[]> =>
    JSON.parse((await runRaw(['tc', '-n', node, '-j', 'qdisc', 'show', 'dev', dev])).stdout || '[]') as Tc[];
  const links = async (node: string): Promise<string[]> =>
    (await runRaw(['ip', '-n', node, '-o', 'link', 'show'])).stdout
      .split('\n')
      .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1])
      .filter((x): x is string => !!x);

  /** Received bit/s of a 2 s iperf3 TCP transfer between the pod and its node (reverse: node → pod). */
  async function transfer(node: string, pod: string, server: string, port: number, reverse: boolean): Promise<number> {
    const srv = spawn('ip', ['netns', 'exec', node, 'iperf3', '-s', '-1', '-B', server, '-p', String(port)], {
      stdio: 'ignore',
    });
    lab.onCleanup(() => void (srv.exitCode === null && srv.kill('SIGKILL')));
    try {
      for (let i = 0; i < 30; i++) {
        const r = await runRaw(
          [
            'iperf3',
            '-c',
            server,
            '-p',
            String(port),
            '-t',
            '2',
            '-J',
            '--connect-timeout',
            '1000',
            ...(reverse ? ['-R'] : []),
          ],
          { ns: namedNs(pod), timeoutMs: 20_000 },
        );
        if (r.code === 0) {
          const j = JSON.parse(r.stdout) as { error?: string; end?: { sum_received?: { bits_per_second: number } } };
          const bps = j.end?.sum_received?.bits_per_second;
          if (bps !== undefined) return bps;
          // the server may not listen yet: retry that; anything else is a failure
          if (!/unable to connect/.test(j.error ?? ''))
            throw new Error(`iperf3 from ${pod}: ${j.error ?? r.stdout.slice(0, 300)}`);
        }
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error(`iperf3 to ${server}:${port} from ${pod}: no transfer after 30 attempts`);
    } finally {
      if (srv.exitCode === null) srv.kill('SIGKILL');
    }
  }

  const rates: Record<string, { ingress: number; egress: number }> = {};
  const state: Record<string, unknown> = {};

  for (const [i, impl] of IMPLS.entries()) {
    it(`${impl.name}: shapes both directions, CHECK passes (and detects), DEL removes the ifb`, async () => {
      const name = `bw-${impl.name}`;
      const node = await lab.netns(`n${impl.name.slice(0, 3)}`);
      const rt = new CniRuntime({ path: [impl.path], cacheDir: join(tmp, `cache-${name}`), exec: nodeExec(node) });
      const net = chain(impl, name, `10.244.${90 + i}.0/24`);
      const pod = await lab.netns(`p${impl.name.slice(0, 3)}`);
      const att = {
        containerId: `ctr-${impl.name}`,
        netns: `/run/netns/${pod}`,
        ifname: 'eth0',
        capabilityArgs: { bandwidth },
      };
      const res = await rt.addNetworkList(net, att);
      const ifb = ifbName(name, att.containerId);
      expect(res.interfaces?.map((x) => x.name)).toContain(ifb);
      const hostVeth = res.interfaces?.find((x) => !x.sandbox && x.name.startsWith('veth'))?.name as string;
      // the qdiscs, exactly: ingress → tbf root on the host veth, egress → ingress qdisc + tbf root on the ifb
      const veth = await qdiscs(node, hostVeth);
      expect(veth.map((q) => [q.kind, q.handle])).toEqual([
        ['tbf', '1:'],
        ['ingress', 'ffff:'],
      ]);
      // (tc shows the burst back from the kernel's buffer in ticks: within a byte of the configured one)
      const shown = { rate: expect.any(Number), burst: expect.closeTo(BURST_BITS / 8, -1), lat: 25000 };
      expect(veth[0]?.options).toEqual({ ...shown, rate: INGRESS_BITS / 8 });
      const onIfb = await qdiscs(node, ifb);
      expect(onIfb.map((q) => [q.kind, q.handle, q.options])).toEqual([
        ['tbf', '1:', { ...shown, rate: EGRESS_BITS / 8 }],
      ]);
      state[impl.name] = { veth: veth.map((q) => q.options), ifb: onIfb.map((q) => q.options) };
      const filter = (await runRaw(['tc', '-n', node, 'filter', 'show', 'dev', hostVeth, 'ingress'])).stdout;
      expect(filter).toContain(`mirred (Egress Redirect to device ${ifb}) stolen`);

      // measured: pod → node is the pod's egress, node → pod its ingress
      const gw = res.ips?.[0]?.gateway as string;
      const egress = await transfer(node, pod, gw, 15201 + i, false);
      const ingress = await transfer(node, pod, gw, 15211 + i, true);
      rates[impl.name] = { ingress, egress };
      expect(egress, 'egress bit/s').toBeLessThan(EGRESS_BITS * 1.25);
      expect(egress, 'egress bit/s').toBeGreaterThan(EGRESS_BITS * 0.3);
      expect(ingress, 'ingress bit/s').toBeLessThan(INGRESS_BITS * 1.25);
      expect(ingress, 'ingress bit/s').toBeGreaterThan(INGRESS_BITS * 0.3);

      await rt.checkNetworkList(net, att);
      // CHECK compares the config with the kernel: another rate fails it
      const other = { ...att, capabilityArgs: { bandwidth: { ...bandwidth, egressRate: EGRESS_BITS * 2 } } };
      const mismatch = callPlugin(
        node,
        join(impl.path, 'bandwidth'),
        {
          CNI_COMMAND: 'CHECK',
          CNI_CONTAINERID: att.containerId,
          CNI_NETNS: att.netns,
          CNI_IFNAME: 'eth0',
          CNI_PATH: impl.path,
        },
        JSON.stringify({
          cniVersion: '1.0.0',
          name,
          type: 'bandwidth',
          runtimeConfig: other.capabilityArgs,
          prevResult: res,
        }),
      );
      const m = await mismatch;
      expect(m.code).toBe(1);
      expect(JSON.parse(m.stdout)).toMatchObject({ msg: expect.stringMatching(/^Rate doesn't match/) });

      await rt.delNetworkList(net, att);
      expect((await links(node)).filter((l) => l === ifb || l === hostVeth)).toEqual([]);
    }, 120_000);
  }

  it('each CHECK accepts what the other ADD made (same qdisc values)', async () => {
    expect(state.skiff).toBeDefined();
    expect(state.skiff).toEqual(state.reference);
    for (const [i, [adder, checker]] of [
      [IMPLS[0], IMPLS[1]],
      [IMPLS[1], IMPLS[0]],
    ].entries()) {
      const name = `bwx-${i}`;
      const node = await lab.netns(`nx${i}`);
      const rt = new CniRuntime({ path: [adder!.path], cacheDir: join(tmp, `cache-${name}`), exec: nodeExec(node) });
      const net = chain(adder!, name, `10.244.${95 + i}.0/24`);
      const pod = await lab.netns(`x${i}`);
      const att = {
        containerId: `ctrx${i}`,
        netns: `/run/netns/${pod}`,
        ifname: 'eth0',
        capabilityArgs: { bandwidth },
      };
      const res: Result = await rt.addNetworkList(net, att);
      const check = await callPlugin(
        node,
        join(checker!.path, 'bandwidth'),
        {
          CNI_COMMAND: 'CHECK',
          CNI_CONTAINERID: att.containerId,
          CNI_NETNS: att.netns,
          CNI_IFNAME: 'eth0',
          CNI_PATH: checker!.path,
        },
        JSON.stringify({ cniVersion: '1.0.0', name, type: 'bandwidth', runtimeConfig: { bandwidth }, prevResult: res }),
      );
      expect([adder!.name, checker!.name, check.code, check.stdout]).toEqual([adder!.name, checker!.name, 0, '']);
      // and the other's DEL removes this ADD's ifb (same name)
      const del = await callPlugin(
        node,
        join(checker!.path, 'bandwidth'),
        { CNI_COMMAND: 'DEL', CNI_CONTAINERID: att.containerId, CNI_IFNAME: 'eth0', CNI_PATH: checker!.path },
        JSON.stringify({ cniVersion: '1.0.0', name, type: 'bandwidth', runtimeConfig: { bandwidth } }),
      );
      expect(del.code, del.stdout).toBe(0);
      expect(await links(node)).not.toContain(ifbName(name, att.containerId));
      await rt.delNetworkList(net, att);
    }
  }, 120_000);

  it('without shaping the same transfer runs far faster (the limit is the plugin, not the machine)', async () => {
    const name = 'bw-none';
    const node = await lab.netns('nnone');
    const rt = new CniRuntime({ path: [OUR_BIN], cacheDir: join(tmp, `cache-${name}`), exec: nodeExec(node) });
    const net = chain(IMPLS[0]!, name, '10.244.97.0/24');
    const pod = await lab.netns('pnone');
    const att = { containerId: 'ctr-none', netns: `/run/netns/${pod}`, ifname: 'eth0' };
    const res = await rt.addNetworkList(net, att);
    expect(res.interfaces?.some((x) => x.name.startsWith('bwp'))).toBe(false);
    const egress = await transfer(node, pod, res.ips?.[0]?.gateway as string, 15221, false);
    expect(egress).toBeGreaterThan(EGRESS_BITS * 3);
    await rt.delNetworkList(net, att);
    console.log(
      `bandwidth, received bit/s: ${JSON.stringify(rates)}, unshaped egress ${Math.round(egress)} ` +
        `(configured ingress ${INGRESS_BITS}, egress ${EGRESS_BITS})`,
    );
  }, 120_000);

  it('bad config: rate without burst and an oversized burst are code 7; no shaping is a pass-through', async () => {
    const node = await lab.netns('nbad');
    const pod = await lab.netns('pbad');
    const env = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'bad',
      CNI_NETNS: `/run/netns/${pod}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: OUR_BIN,
    };
    const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: 'vethx' }], ips: [{ address: '10.1.2.3/24' }] };
    const call = (extra: Record<string, unknown>) =>
      callPlugin(
        node,
        join(OUR_BIN, 'bandwidth'),
        env,
        JSON.stringify({ cniVersion: '1.0.0', name: 'b', type: 'bandwidth', prevResult, ...extra }),
      );
    const noBurst = await call({ ingressRate: 1000 });
    expect([noBurst.code, JSON.parse(noBurst.stdout)]).toEqual([
      1,
      { cniVersion: '1.0.0', code: 7, msg: 'if rate is set, burst must also be set' },
    ]);
    const huge = await call({ runtimeConfig: { bandwidth: { egressRate: 1000, egressBurst: 8 * 2 ** 32 } } });
    expect(JSON.parse(huge.stdout)).toMatchObject({ code: 7, msg: 'burst cannot be more than 4GB' });
    // the config's own keys win over the capability arg (as the reference): zero here means no shaping
    const passthrough = await call({ ingressRate: 0, runtimeConfig: { bandwidth } });
    expect([passthrough.code, JSON.parse(passthrough.stdout)]).toEqual([0, prevResult]);
    const notChained = await callPlugin(
      node,
      join(OUR_BIN, 'bandwidth'),
      env,
      JSON.stringify({ cniVersion: '1.0.0', name: 'b', type: 'bandwidth', runtimeConfig: { bandwidth } }),
    );
    expect(JSON.parse(notChained.stdout)).toMatchObject({ code: 7, msg: 'must be called as chained plugin' });
  });

  for (const impl of IMPLS) {
    it(`${impl.name}: the kubelet passes kubernetes.io/{ingress,egress}-bandwidth as the bandwidth capability`, async () => {
      const confDir = join(tmp, `kubelet-${impl.name}`);
      const node = await lab.netns(`nk${impl.name.slice(0, 3)}`);
      mkdirSync(confDir, { recursive: true });
      const conflist = renderConflist({
        mode: 'bridge',
        podCIDR: impl.name === 'skiff' ? '10.244.98.0/24' : '10.244.99.0/24',
        clusterCIDR: '10.244.0.0/16',
        ipamDir: join(confDir, 'ipam'),
        cniVersion: '1.0.0',
      });
      writeFileSync(join(confDir, '10-skiff.conflist'), JSON.stringify(conflist));
      const network = new RuntimeCniNetwork(confDir, [impl.path], join(confDir, 'cache'), { exec: nodeExec(node) });
      const pod = podSchema.parse({
        metadata: {
          name: 'shaped',
          namespace: 'default',
          uid: `uid-${impl.name}`,
          annotations: { 'kubernetes.io/ingress-bandwidth': '10M', 'kubernetes.io/egress-bandwidth': '5M' },
        },
        spec: { containers: [{ name: 'c', image: 'x' }] },
      });
      const ns = await lab.netns(`k${impl.name.slice(0, 3)}`);
      const att = { containerId: `uid-${impl.name}`, ifName: 'eth0' };
      await network.add(att, `/run/netns/${ns}`, {}, capabilityArgs(pod));
      const ifb = ifbName('skiff', att.containerId);
      const rate = async (dev: string) => (await qdiscs(node, dev)).find((q) => q.kind === 'tbf')?.options?.rate;
      expect(await rate(ifb)).toBe(5e6 / 8);
      const veths = (await links(node)).filter((l) => l.startsWith('veth'));
      expect(await Promise.all(veths.map(rate))).toEqual([10e6 / 8]);
      await network.del(att, `/run/netns/${ns}`);
      expect(await links(node)).not.toContain(ifb);
    }, 60_000);
  }
});
