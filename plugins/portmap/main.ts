import { runPlugin } from '../../src/cni/skel.js';
import { portmapPlugin } from './portmap.js';

// portmap: hostPort DNAT (and hairpin/localhost SNAT) in nftables, chained after bridge.
void runPlugin(portmapPlugin);
