import { runPlugin } from '../../src/cni/skel.js';
import { bridgePlugin } from './bridge.js';

// bridge: veth pair from a node bridge into the pod, IPAM addresses, optional masquerade / mac spoof check.
void runPlugin(bridgePlugin);
