import { hostLocalAdd, hostLocalCheck, hostLocalDel, hostLocalGc } from '../../src/cni/ipam/hostlocal.js';
import { hostLocalConfSchema } from '../../src/cni/ipam/config.js';
import { hostLocalInputs } from '../../src/cni/ipam/request.js';
import type { z } from 'zod';
import type { CniPlugin } from '../../src/cni/skel.js';

// host-local IPAM: addresses from ranges, one file per address under dataDir/<network>.
export const hostLocalPlugin: CniPlugin<z.infer<typeof hostLocalConfSchema>> = {
  name: 'host-local',
  confSchema: hostLocalConfSchema,
  add: (args, conf) =>
    hostLocalAdd({
      network: conf.name,
      cniVersion: conf.cniVersion,
      ...hostLocalInputs(conf.ipam, args.stdin, args.args),
      containerId: args.containerId,
      ifname: args.ifname,
    }),
  del: async (args, conf) => {
    await hostLocalDel({
      network: conf.name,
      cniVersion: conf.cniVersion,
      ipam: conf.ipam,
      containerId: args.containerId,
      ifname: args.ifname,
    });
  },
  check: (args, conf) =>
    hostLocalCheck({
      network: conf.name,
      cniVersion: conf.cniVersion,
      ipam: conf.ipam,
      containerId: args.containerId,
      ifname: args.ifname,
    }),
  gc: async (_args, conf, valid) => {
    await hostLocalGc(conf.name, conf.ipam, valid);
  },
};
