import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CniRuntime, parseConfList } from '../../../src/cni/runtime/index.js';
import { getAddrs } from '../../../src/os/net.js';
import { nsFromPath } from '../../../src/os/ns.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { callPlugin, IMPLS, nodeExec, requirePlugins } from './cnilab.js';

/**
 * host-local beyond ranges, the same from skiff's and the reference plugin: requested addresses (CNI_ARGS
 * IP=, args.cni.ips, the ips capability), the ipRanges capability, resolvConf into the result's dns; and
 * through bridge (in-process host-local for skiff) the requested address really ends up on the pod's eth0.
 */
for (const impl of IMPLS) {
  describe(`host-local requests (${impl.name})`, () => {
    const lab = new Lab();
    let node = '';
    let tmp = '';
    beforeAll(async () => {
      requireRootAndTools(['ip', 'flock']);
      requirePlugins(['bridge', 'host-local']);
      node = await lab.netns('node');
      tmp = lab.tmpdir();
    });
    afterAll(() => lab.cleanup());

    const add = async (
      id: string,
      extra: Record<string, unknown> = {},
      cniArgs = '',
      ipam: Record<string, unknown> = {},
    ) => {
      const conf = {
        cniVersion: '1.0.0',
        name: 'req',
        type: 'host-local',
        ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.70.0/24' }]], dataDir: tmp, ...ipam },
        ...extra,
      };
      const r = await callPlugin(
        node,
        join(impl.path, 'host-local'),
        {
          CNI_COMMAND: 'ADD',
          CNI_CONTAINERID: id,
          CNI_NETNS: `/run/netns/${node}`,
          CNI_IFNAME: 'eth0',
          CNI_PATH: impl.path,
          ...(cniArgs ? { CNI_ARGS: cniArgs } : {}),
        },
        JSON.stringify(conf),
      );
      return {
        code: r.code,
        json: JSON.parse(r.stdout || '{}') as { ips?: { address: string }[]; dns?: unknown; msg?: string },
      };
    };

    it('gives the address asked for through CNI_ARGS IP=, args.cni.ips and the ips capability', async () => {
      expect((await add('r1', {}, 'IgnoreUnknown=1;IP=10.244.70.7')).json.ips?.[0]?.address).toBe('10.244.70.7/24');
      expect((await add('r2', { args: { cni: { ips: ['10.244.70.8'] } } })).json.ips?.[0]?.address).toBe(
        '10.244.70.8/24',
      );
      expect((await add('r3', { runtimeConfig: { ips: ['10.244.70.9/24'] } })).json.ips?.[0]?.address).toBe(
        '10.244.70.9/24',
      );
    });

    it('refuses an address in use or outside every range', async () => {
      const taken = await add('r4', {}, 'IP=10.244.70.7');
      expect([taken.code, taken.json.msg]).toEqual([1, expect.stringMatching(/10\.244\.70\.7/)]);
      const outside = await add('r5', {}, 'IP=10.9.9.9');
      expect([outside.code, outside.json.msg]).toEqual([1, expect.stringMatching(/10\.9\.9\.9/)]);
    });

    it('takes its ranges from the ipRanges capability', async () => {
      const r = await add('r6', { runtimeConfig: { ipRanges: [[{ subnet: '10.244.71.0/24' }]] } });
      expect(r.json.ips?.[0]?.address).toMatch(/^10\.244\.71\.\d+\/24$/);
    });

    it("puts resolvConf into the result's dns", async () => {
      const file = join(tmp, 'resolv.conf');
      writeFileSync(
        file,
        'nameserver 10.96.0.10\nnameserver 10.96.0.11\nsearch default.svc.cluster.local ' +
          'svc.cluster.local\noptions ndots:5\ndomain cluster.local\n',
      );
      const r = await add('r7', {}, '', { resolvConf: file });
      expect(r.json.dns).toEqual({
        nameservers: ['10.96.0.10', '10.96.0.11'],
        search: ['default.svc.cluster.local', 'svc.cluster.local'],
        options: ['ndots:5'],
        domain: 'cluster.local',
      });
    });

    it('bridge: the requested address is the one on eth0', async () => {
      const pod = await lab.netns('pod');
      const rt = new CniRuntime({ path: [impl.path], cacheDir: join(tmp, 'cache'), exec: nodeExec(node) });
      const list = parseConfList(
        JSON.stringify({
          cniVersion: '1.0.0',
          name: 'reqbr',
          plugins: [
            {
              type: 'bridge',
              bridge: 'req0',
              isGateway: true,
              capabilities: { ips: true },
              ipam: { type: 'host-local', ranges: [[{ subnet: '10.244.72.0/24' }]], dataDir: tmp },
            },
          ],
        }),
      );
      const att = {
        containerId: 'br1',
        netns: `/run/netns/${pod}`,
        ifname: 'eth0',
        capabilityArgs: { ips: ['10.244.72.42/24'] },
      };
      const res = await rt.addNetworkList(list, att);
      expect(res.ips?.[0]?.address).toBe('10.244.72.42/24');
      const addrs = (await getAddrs(nsFromPath(att.netns), 'eth0'))
        .flatMap((l) => l.addr_info ?? [])
        .map((a) => a.local);
      expect(addrs).toContain('10.244.72.42');
      await rt.delNetworkList(list, att);
    });
  });
}
