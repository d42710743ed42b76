import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRaw } from '../../../src/os/exec.js';
import { namedNs } from '../../../src/os/ns.js';
import { netnsExists } from '../../../src/os/netns.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { OUR_BIN, REF_BIN, requirePlugins } from './cnilab.js';

const SKIFF = resolve(import.meta.dirname, '../../../dist/skiff.mjs');

/**
 * `skiff cni`, the command a plugin developer runs by hand: ADD/CHECK/DEL of a chain (bridge → portmap →
 * loopback) through skiff's runtime with capability args and the result cache, STATUS/GC/VERSION, the
 * plugin's CNI error and code as exit status, and throwaway namespaces. The command runs inside the lab's
 * node namespace, so everything the plugins do lands there.
 */
describe('skiff cni', () => {
  const lab = new Lab('tool');
  let node = '';
  let tmp = '';
  let conf = '';

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nft', 'flock']);
    requirePlugins();
    if (!existsSync(SKIFF)) throw new Error('dist/skiff.mjs missing: run node scripts/build.mjs');
    node = await lab.netns('node');
    tmp = lab.tmpdir();
    conf = join(tmp, 'chain.conflist');
    writeFileSync(
      conf,
      JSON.stringify({
        cniVersion: '1.1.0',
        name: 'handnet',
        plugins: [
          {
            type: 'bridge',
            bridge: 'hand0',
            isGateway: true,
            ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.9.0/24' }]], dataDir: join(tmp, 'ipam') },
          },
          { type: 'portmap', capabilities: { portMappings: true } },
          { type: 'loopback' },
        ],
      }),
    );
  });
  afterAll(() => lab.cleanup());

  const skiff = (args: string[], netns = node) =>
    runRaw([process.execPath, SKIFF, ...args], { ns: namedNs(netns), timeoutMs: 120_000 });
  const cni = (verb: string, ...more: string[]) =>
    skiff(['cni', verb, '--conf', conf, '--cni-bin', OUR_BIN, '--cache-dir', join(tmp, 'cache'), ...more]);

  it('add prints the chain result, check passes, del cleans up (with capability args and the cache)', async () => {
    const pod = await lab.netns('pod1');
    const cap = JSON.stringify({ portMappings: [{ hostPort: 18081, containerPort: 80, protocol: 'tcp' }] });
    const add = await cni('add', '--netns', pod, '--cap', cap);
    expect(add.code, add.stderr).toBe(0);
    const result = JSON.parse(add.stdout) as { cniVersion: string; ips: { address: string }[] };
    expect(result.cniVersion).toBe('1.1.0');
    expect(result.ips[0]?.address).toMatch(/^10\.244\.9\.\d+\/24$/);
    const eth0 = await runRaw(['ip', '-n', pod, '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
    expect(eth0.stdout).toContain(result.ips[0]?.address);
    const rules = await runRaw(['nft', 'list', 'ruleset'], { ns: namedNs(node) });
    expect(rules.stdout).toContain('18081');
    expect(readdirSync(join(tmp, 'cache')).some((f) => f.startsWith('handnet-'))).toBe(true);

    const check = await cni('check', '--netns', pod);
    expect([check.code, check.stdout, check.stderr]).toEqual([0, '', '']);
    // DEL without --cap: the cached capability args say which port mapping to remove
    const del = await cni('del', '--netns', pod);
    expect(del.code, del.stderr).toBe(0);
    expect((await runRaw(['nft', 'list', 'ruleset'], { ns: namedNs(node) })).stdout).not.toContain('18081');
    expect(readdirSync(join(tmp, 'cache')).filter((f) => f.startsWith('handnet-'))).toEqual([]);
    expect((await runRaw(['ip', '-n', pod, 'link', 'show', 'eth0'])).code).not.toBe(0);
  });

  it("prints the plugin's CNI error JSON and exits with its code", async () => {
    const pod = await lab.netns('pod2');
    const missing = await skiff(['cni', 'add', '--conf', conf, '--cni-bin', tmp, '--netns', pod]);
    expect(missing.code).toBe(50);
    expect(JSON.parse(missing.stdout)).toMatchObject({ code: 50, msg: expect.stringMatching(/failed to find plugin/) });
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    // CHECK of an attachment that was never added: no cached result (code 3 from the runtime)
    const check = await cni('check', '--netns', pod);
    expect([check.code, (JSON.parse(check.stdout) as { code: number }).code]).toEqual([3, 3]);
    const badFlag = await skiff(['cni', 'add', '--conf', conf]);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toMatch(/required option '--netns/);
  });

  it('status, gc and version', async () => {
    const status = await cni('status');
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual({ network: 'handnet', cniVersion: '1.1.0', ready: true });

    const pod = await lab.netns('pod3');
    expect((await cni('add', '--netns', pod, '--container-id', 'keep')).code).toBe(0);
    const pod4 = await lab.netns('pod4');
    expect((await cni('add', '--netns', pod4, '--container-id', 'stale')).code).toBe(0);
    const gc = await cni('gc', '--valid', 'keep/eth0');
    expect(gc.code, gc.stderr).toBe(0);
    const cached = readdirSync(join(tmp, 'cache'));
    expect(cached.some((f) => f.includes('-keep-'))).toBe(true);
    expect(cached.some((f) => f.includes('-stale-'))).toBe(false);
    expect((await runRaw(['ip', '-n', pod4, 'link', 'show', 'eth0'])).code).not.toBe(0);
    expect((await cni('del', '--netns', pod, '--container-id', 'keep')).code).toBe(0);

    const version = await skiff(['cni', 'version', '--cni-bin', REF_BIN, 'bridge', 'portmap']);
    expect(version.code, version.stderr).toBe(0);
    const v = JSON.parse(version.stdout) as Record<string, { supportedVersions: string[] }>;
    expect(v.bridge?.supportedVersions).toContain('1.0.0');
    expect(v.portmap?.supportedVersions).toContain('0.3.1');
  });

  it('netns add|del makes and removes a throwaway namespace', async () => {
    const name = `${lab.prefix}-hand`;
    const add = await skiff(['cni', 'netns', 'add', name]);
    expect([add.code, add.stdout.trim()]).toEqual([0, `/run/netns/${name}`]);
    expect(netnsExists(name)).toBe(true);
    expect((await skiff(['cni', 'netns', 'add', name])).code).toBe(1);
    expect((await skiff(['cni', 'netns', 'del', name])).code).toBe(0);
    expect(netnsExists(name)).toBe(false);
  });
});
