import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniRuntime, parseConfList } from '../../../src/cni/runtime/index.js';
import { run } from '../../../src/os/exec.js';
import { getAddrs } from '../../../src/os/net.js';
import { namedNs } from '../../../src/os/ns.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { IMPLS, nodeExec, requirePlugins } from './cnilab.js';

/**
 * bridge's gateway address, as the reference: a bridge already holding another IPv4 address refuses the ADD
 * unless `forceAddress`, which replaces the old address. Same behaviour from both.
 */
for (const impl of IMPLS) {
  describe(`bridge forceAddress (${impl.name})`, () => {
    const lab = new Lab();
    let node = '';
    let tmp = '';
    beforeAll(async () => {
      requireRootAndTools(['ip', 'nft', 'flock']);
      requirePlugins(['bridge', 'host-local']);
      node = await lab.netns('node');
      tmp = lab.tmpdir();
      await run(['ip', '-n', node, 'link', 'add', 'fa0', 'type', 'bridge']);
      await run(['ip', '-n', node, 'addr', 'add', '10.244.90.254/24', 'dev', 'fa0']);
    });
    afterAll(() => lab.cleanup());

    const list = (forceAddress: boolean) =>
      parseConfList(
        JSON.stringify({
          cniVersion: '1.0.0',
          name: 'fa',
          plugins: [
            {
              type: 'bridge',
              bridge: 'fa0',
              isGateway: true,
              forceAddress,
              ipam: {
                type: 'host-local',
                ranges: [[{ subnet: '10.244.90.0/24', gateway: '10.244.90.1' }]],
                dataDir: tmp,
              },
            },
          ],
        }),
      );
    const bridgeAddrs = async () =>
      (await getAddrs(namedNs(node), 'fa0'))
        .flatMap((l) => l.addr_info ?? [])
        .filter((a) => a.family === 'inet')
        .map((a) => `${a.local}/${a.prefixlen}`);

    it('refuses a bridge with another address, then replaces it with forceAddress', async () => {
      const rt = new CniRuntime({ path: [impl.path], cacheDir: join(tmp, 'cache'), exec: nodeExec(node) });
      const att = { containerId: 'fa1', netns: `/run/netns/${await lab.netns('p1')}`, ifname: 'eth0' };
      await expect(rt.addNetworkList(list(false), att)).rejects.toThrow(
        /already has an IP address different from 10\.244\.90\.1\/24/,
      );
      expect(await bridgeAddrs()).toEqual(['10.244.90.254/24']);
      // a fresh pod: the reference's refused ADD leaves its eth0 behind in the first one
      const att2 = { ...att, containerId: 'fa2', netns: `/run/netns/${await lab.netns('p2')}` };
      await rt.addNetworkList(list(true), att2);
      expect(await bridgeAddrs()).toEqual(['10.244.90.1/24']);
      await rt.delNetworkList(list(true), att2);
      await rt.delNetworkList(list(false), att);
    });
  });
}
