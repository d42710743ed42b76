import { netConfSchema } from '../../src/cni/spec/types.js';
import { runPlugin } from '../../src/cni/skel.js';
import { loopbackAdd, loopbackCheck, loopbackDel } from './loopback.js';

// loopback: brings `lo` up inside the container's namespace.
void runPlugin({
  name: 'loopback',
  confSchema: netConfSchema,
  add: (args, conf) => loopbackAdd(args, conf.cniVersion),
  del: (args) => loopbackDel(args),
  check: (args) => loopbackCheck(args),
});
