import { runPlugin } from '../../src/cni/skel.js';
import { hostLocalPlugin } from './plugin.js';

void runPlugin(hostLocalPlugin);
