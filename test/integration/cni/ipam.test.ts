import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { bounded, callPlugin, IMPLS, requirePlugins } from './cnilab.js';

/**
 * host-local as separate processes, ours and the reference: 200 ADDs, 16 processes at a time, must hand out
 * 200 distinct addresses (the flock really excludes across processes); a full range is a clear error.
 */
for (const impl of IMPLS) {
  describe(`host-local across processes (${impl.name})`, () => {
    const lab = new Lab();
    let node = '';
    beforeAll(async () => {
      requireRootAndTools(['ip', 'flock']);
      requirePlugins(['host-local']);
      node = await lab.netns('node');
    });
    afterAll(() => lab.cleanup());

    const env = (cmd: string, id: string) => ({
      CNI_COMMAND: cmd,
      CNI_CONTAINERID: id,
      CNI_NETNS: `/run/netns/${node}`,
      CNI_IFNAME: 'eth0',
      CNI_PATH: impl.path,
    });

    // Generous timeout: 200 process starts on a 2-core machine that may be busy with other suites.
    it(
      '200 concurrent ADDs (16 at a time) get 200 distinct addresses; DEL frees exactly its own',
      { timeout: 300_000 },
      async () => {
        const dataDir = lab.tmpdir();
        const conf = JSON.stringify({
          cniVersion: '1.0.0',
          name: 'many',
          type: 'host-local',
          ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.8.0/24' }]], dataDir },
        });
        const plugin = join(impl.path, 'host-local');
        const results = await bounded(200, 16, (i) => callPlugin(node, plugin, env('ADD', `c${i}`), conf));
        const failed = results.filter((r) => r.code !== 0);
        expect(failed.map((r) => r.stdout).slice(0, 3)).toEqual([]);
        const ips = results.map((r) => (JSON.parse(r.stdout) as { ips: { address: string }[] }).ips[0]!.address);
        expect(new Set(ips).size).toBe(200);
        const files = readdirSync(join(dataDir, 'many')).filter((f) => f.startsWith('10.'));
        expect(files).toHaveLength(200);
        // the reference format: "<containerID>\r\n<ifname>"
        expect(readFileSync(join(dataDir, 'many', ips[7]!.split('/')[0]!), 'utf8').trim()).toBe('c7\r\neth0');
        const dels = await bounded(8, 8, (i) => callPlugin(node, plugin, env('DEL', `c${i * 25}`), conf));
        expect(dels.filter((r) => r.code !== 0)).toEqual([]);
        const left = new Set(readdirSync(join(dataDir, 'many')).filter((f) => f.startsWith('10.')));
        expect(left.size).toBe(192);
        for (let i = 0; i < 8; i++) expect(left.has(ips[i * 25]!.split('/')[0]!)).toBe(false);
      },
    );

    it('a full range returns a clear error, not a crash', async () => {
      const dataDir = lab.tmpdir();
      // /30: .1 is the gateway, .2 the only address to hand out
      const conf = JSON.stringify({
        cniVersion: '1.0.0',
        name: 'tiny',
        type: 'host-local',
        ipam: { type: 'host-local', subnet: '10.244.9.0/30', dataDir },
      });
      const plugin = join(impl.path, 'host-local');
      const first = await callPlugin(node, plugin, env('ADD', 'one'), conf);
      expect(first.code).toBe(0);
      const second = await callPlugin(node, plugin, env('ADD', 'two'), conf);
      expect(second.code).not.toBe(0);
      const err = JSON.parse(second.stdout) as { code: number; msg: string };
      expect(err.msg).toMatch(/no IP addresses available in range set: 10\.244\.9\.1-10\.244\.9\.2/);
      expect(err.code).toBeGreaterThan(0);
    });
  });
}
