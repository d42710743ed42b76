import { runPlugin } from '../../src/cni/skel.js';
import { loopbackPlugin } from './loopback.js';

// loopback: brings `lo` up inside the container's namespace.
void runPlugin(loopbackPlugin);
