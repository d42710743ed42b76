import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRaw } from '../../../src/os/exec.js';
import { namedNs } from '../../../src/os/ns.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { buildLibcniDriver } from '../../peers/libcni/build.js';
import { IMPLS, requirePlugins } from './cnilab.js';

/**
 * Interop with the upstream runtime library: libcni (what containerd and CRI-O are built on) drives the
 * common chain bridge → portmap → loopback of skiff's plugins and of the reference plugins. The runtime must
 * see the pod's eth0 address as the chain's result (loopback passes prevResult through), CHECK must pass,
 * and DEL must leave nothing behind. Old configs (0.3.0, 0.3.1) go through result conversion.
 */
const REFERENCE_PORTMAP_CHECK_BUG = /^could not check ipv6 dnat: chain CNI-DN-\w+ not found/;

interface PodResult {
  cniVersion: string;
  interfaces?: { name: string; sandbox?: string }[];
  ips?: { address: string; interface?: number }[];
}

describe('libcni drives bridge → portmap → loopback', () => {
  const lab = new Lab();
  let driver = '';
  let node = '';
  let tmp = '';

  beforeAll(async () => {
    requireRootAndTools(['ip', 'nft', 'flock', 'go']);
    requirePlugins(['bridge', 'host-local', 'loopback', 'portmap']);
    tmp = lab.tmpdir();
    driver = await buildLibcniDriver(tmp);
    node = await lab.netns('node');
  });
  afterAll(() => lab.cleanup());

  const drive = (verb: string, o: { conf: string; netns: string; id: string; path: string; cache: string }) =>
    runRaw(
      [
        driver,
        verb,
        '-conf',
        o.conf,
        '-netns',
        o.netns,
        '-id',
        o.id,
        '-ifname',
        'eth0',
        '-path',
        o.path,
        '-cache',
        o.cache,
        '-cap',
        JSON.stringify({ portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }] }),
      ],
      { ns: namedNs(node), timeoutMs: 120_000 },
    );

  for (const impl of IMPLS) {
    for (const cniVersion of ['1.0.0', '0.4.0', '0.3.1', '0.3.0']) {
      it(`${impl.name} plugins, cniVersion ${cniVersion}: ADD reports eth0's address, CHECK passes, DEL cleans up`, async () => {
        const tag = `${impl.name.slice(0, 3)}${cniVersion.replace(/\./g, '')}`;
        const dataDir = join(tmp, `ipam-${tag}`);
        const cache = join(tmp, `cache-${tag}`);
        const conf = join(tmp, `${tag}.conflist`);
        const network = `chain-${tag}`;
        writeFileSync(
          conf,
          JSON.stringify({
            cniVersion,
            name: network,
            plugins: [
              {
                type: 'bridge',
                bridge: 'cni0',
                isGateway: true,
                ipMasq: true,
                ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.7.0/24' }]], dataDir },
              },
              { type: 'portmap', capabilities: { portMappings: true } },
              { type: 'loopback' },
            ],
          }),
        );
        const pod = await lab.netns(`p${tag}`);
        const o = { conf, netns: `/run/netns/${pod}`, id: `ctr-${tag}`, path: impl.path, cache };

        const add = await drive('add', o);
        expect(add.code, add.stderr).toBe(0);
        const result = JSON.parse(add.stdout) as PodResult;
        const ip = result.ips?.[0];
        expect(ip?.address).toMatch(/^10\.244\.7\.\d+\/24$/);
        const ifc = result.interfaces?.[ip?.interface ?? -1];
        expect(ifc?.name).toBe('eth0');
        const shown = await runRaw(['ip', '-n', pod, '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
        expect(shown.stdout).toContain(ip?.address);

        // CHECK exists from 0.4.0; libcni refuses it for older configs, as the spec says.
        const check = await drive('check', o);
        if (cniVersion.startsWith('0.3')) expect(check.code).not.toBe(0);
        else if (impl.name === 'reference' && REFERENCE_PORTMAP_CHECK_BUG.test(check.stderr)) {
          // reference 1.1.1's portmap CHECK looks for an IPv6 DNAT chain it never made for an IPv4-only pod
        } else expect(check.code, check.stderr).toBe(0);

        const del = await drive('del', o);
        expect(del.code, del.stderr).toBe(0);
        expect(readdirSync(cache, { recursive: true }).filter((f) => String(f).includes(network))).toEqual([]);
        const leases = existsSync(join(dataDir, network)) ? readdirSync(join(dataDir, network)) : [];
        expect(leases.filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f))).toEqual([]);
        const links = await runRaw(['ip', '-n', pod, '-o', 'link', 'show']);
        expect(links.stdout).not.toContain('eth0');
        // and a second DEL (the runtime retrying) is fine
        expect((await drive('del', o)).code).toBe(0);
      });
    }
  }
});
