import { runPlugin } from '../../src/cni/skel.js';
import { bridgeAdd, bridgeCheck, bridgeConfSchema, bridgeDel, bridgeGc } from './bridge.js';

// bridge: veth pair from a node bridge into the pod, IPAM addresses, optional masquerade / mac spoof check.
void runPlugin({
  name: 'bridge',
  confSchema: bridgeConfSchema,
  add: bridgeAdd,
  del: bridgeDel,
  check: bridgeCheck,
  gc: bridgeGc,
});
