import { runPlugin } from '../../src/cni/skel.js';
import { bandwidthPlugin } from './bandwidth.js';

// bandwidth: tbf shaping of a pod's veth (ingress) and, through an ifb, of its egress; chained.
void runPlugin(bandwidthPlugin);
