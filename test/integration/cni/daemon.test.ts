import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniRuntime, parseConfList } from '../../../src/cni/runtime/index.js';
import type { PluginExec } from '../../../src/cni/invoke.js';
import { run, runRaw } from '../../../src/os/exec.js';
import { namedNs } from '../../../src/os/ns.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { startCnid, type RunningCnid } from '../../helpers/cnid.js';
import { OUR_BIN, ping } from './cnilab.js';

/**
 * The resident helper: our plugins relayed through their sh prelude to skiff-cnid running in the lab's node
 * namespace. Same behaviour as one process per call (pods reach each other, DEL removes everything, errors
 * keep their JSON and exit status), and calls it must not serve (another netns) fall back to node.
 */
describe('skiff-cnid (resident plugin helper)', () => {
  const lab = new Lab();
  let node = '';
  let socket = '';
  let dataDir = '';
  let cnid: RunningCnid | undefined;
  const pods: Record<string, string> = {};

  const served = (what: RegExp) => (cnid?.log() ?? '').split('\n').some((l) => what.test(l));
  const exec = (ns: string): PluginExec => ({
    exec: (path, env, stdin) =>
      runRaw([path], {
        ns: namedNs(ns),
        env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', SKIFF_CNI_SOCKET: socket, ...env },
        input: stdin,
        timeoutMs: 60_000,
      }),
  });
  const list = () =>
    parseConfList(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'dnet',
        plugins: [
          {
            type: 'bridge',
            bridge: 'cni0',
            isGateway: true,
            ipMasq: true,
            ipam: { type: 'host-local', subnet: '10.244.7.0/24', dataDir },
          },
        ],
      }),
    );

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nft', 'ping', 'flock', 'perl']);
    for (const t of ['bridge', 'host-local', 'skiff-cnid']) {
      if (!existsSync(join(OUR_BIN, t))) throw new Error(`missing ${join(OUR_BIN, t)}: run \`node scripts/build.mjs\``);
    }
    node = await lab.netns('node');
    for (const p of ['a', 'b']) pods[p] = await lab.netns(`pod${p}`);
    socket = join(lab.tmpdir(), 'cni.sock');
    dataDir = lab.tmpdir();
    cnid = await startCnid(lab, node, OUR_BIN, socket);
  });
  afterAll(() => lab.cleanup());

  it('serves ADD and DEL: pods reach each other, DEL leaves no veth, address or nft chain', async () => {
    const rt = new CniRuntime({ path: [OUR_BIN], cacheDir: lab.tmpdir(), exec: exec(node) });
    const att = (p: string) => ({ containerId: `ctr-${p}`, netns: `/run/netns/${pods[p]}`, ifname: 'eth0' });
    const a = await rt.addNetworkList(list(), att('a'));
    const b = await rt.addNetworkList(list(), att('b'));
    expect(served(/^skiff-cnid: ADD bridge ctr-a\/eth0 exit 0$/)).toBe(true);
    const ipB = (b.ips?.[0]?.address ?? '').split('/')[0] as string;
    expect(a.ips?.[0]?.address).toMatch(/^10\.244\.7\.\d+\/24$/);
    expect(await ping(pods.a!, ipB)).toBe(true);

    await rt.delNetworkList(list(), att('a'));
    await rt.delNetworkList(list(), att('b'));
    await rt.delNetworkList(list(), att('b')); // DEL twice succeeds
    expect(served(/^skiff-cnid: DEL bridge ctr-b\/eth0 exit 0$/)).toBe(true);
    const links = await run(['ip', '-n', node, '-o', 'link', 'show', 'type', 'veth']);
    expect(links.trim()).toBe('');
    expect(readdirSync(join(dataDir, 'dnet')).filter((f) => /^\d/.test(f))).toEqual([]);
    const nft = await run(['nft', 'list', 'table', 'inet', 'skiff_cni_masq'], { ns: namedNs(node) });
    expect(nft).not.toMatch(/chain masq-/);
  });

  it('relays errors: the JSON on stdout and exit status 1', async () => {
    const env = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'ctr-x',
      CNI_NETNS: `/run/netns/${pods.a}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: OUR_BIN,
    };
    const r = await exec(node).exec(
      join(OUR_BIN, 'bridge'),
      env,
      JSON.stringify({ cniVersion: '1.0.0', name: 'dnet', type: 'bridge', mtu: 1 }),
    );
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ cniVersion: '1.0.0', code: 7 });
    expect(served(/^skiff-cnid: ADD bridge ctr-x\/eth0 exit 1$/)).toBe(true);
  });

  it('a bridge name taken by another kind of link fails cleanly (no veth, no address kept)', async () => {
    await run(['ip', '-n', node, 'link', 'add', 'cnx', 'type', 'veth', 'peer', 'name', 'cnx-peer']);
    const env = {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'ctr-y',
      CNI_NETNS: `/run/netns/${pods.a}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: OUR_BIN,
    };
    const conf = {
      cniVersion: '1.0.0',
      name: 'xnet',
      type: 'bridge',
      bridge: 'cnx',
      ipam: { type: 'host-local', subnet: '10.244.8.0/24', dataDir },
    };
    const r = await exec(node).exec(join(OUR_BIN, 'bridge'), env, JSON.stringify(conf));
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ msg: 'cnx already exists but is not a bridge' });
    expect(await run(['ip', '-n', node, '-o', 'link', 'show', 'type', 'veth'])).not.toMatch(/: veth[0-9a-f]{10}@/);
    expect(readdirSync(join(dataDir, 'xnet')).filter((f) => /^\d/.test(f))).toEqual([]);
  });

  it('leaves calls from another network namespace to the plugin process', async () => {
    const before = cnid?.log();
    const r = await exec(pods.b!).exec(join(OUR_BIN, 'bridge'), { CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      cniVersion: '0.4.0',
      supportedVersions: ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'],
    });
    expect(cnid?.log()).toBe(before);
    expect(cnid?.child.exitCode).toBeNull();
  });
});
