import { runPlugin } from '../../src/cni/skel.js';
import { portmapAdd, portmapCheck, portmapConfSchema, portmapDel, portmapGc } from './portmap.js';

// portmap: hostPort DNAT (and hairpin/localhost SNAT) in nftables, chained after bridge.
void runPlugin({
  name: 'portmap',
  confSchema: portmapConfSchema,
  add: portmapAdd,
  del: portmapDel,
  check: portmapCheck,
  gc: portmapGc,
});
