import { runPlugin } from '../../src/cni/skel.js';
import { vxlanPlugin } from './plugin.js';

void runPlugin(vxlanPlugin);
