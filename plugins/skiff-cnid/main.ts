import { Command } from 'commander';
import { DEFAULT_SOCKET, startDaemon } from '../../src/cni/daemon.js';
import type { CniPlugin } from '../../src/cni/skel.js';
import type { NetConf } from '../../src/cni/spec/types.js';
import { bandwidthPlugin } from '../bandwidth/bandwidth.js';
import { bridgePlugin } from '../bridge/bridge.js';
import { hostLocalPlugin } from '../host-local/plugin.js';
import { loopbackPlugin } from '../loopback/loopback.js';
import { portmapPlugin } from '../portmap/portmap.js';
import { vxlanPlugin } from '../vxlan/plugin.js';

/**
 * skiff-cnid: the resident CNI helper. Run it in the node's network namespace (`plugins/bin/skiff-cnid
 * [--socket PATH]`); the bundled plugins of the same build then relay their calls to it (src/cni/shim.sh)
 * instead of starting Node each time. Not a CNI plugin itself.
 */
declare const __SKIFF_CNI_BUILD__: string;

const plugins: Record<string, CniPlugin<NetConf>> = {
  bandwidth: bandwidthPlugin as unknown as CniPlugin<NetConf>,
  bridge: bridgePlugin as unknown as CniPlugin<NetConf>,
  'host-local': hostLocalPlugin as unknown as CniPlugin<NetConf>,
  loopback: loopbackPlugin,
  portmap: portmapPlugin as unknown as CniPlugin<NetConf>,
  vxlan: vxlanPlugin as unknown as CniPlugin<NetConf>,
};

async function main(): Promise<void> {
  if (process.env.CNI_COMMAND) {
    // Reached through CNI_PATH by mistake: answer in the protocol rather than start serving.
    process.stdout.write(JSON.stringify({ code: 50, msg: 'skiff-cnid is not a CNI plugin' }));
    process.exitCode = 1;
    return;
  }
  const opts = new Command('skiff-cnid')
    .description('resident helper that runs the skiff CNI plugins of this build in-process')
    .option('--socket <path>', 'unix socket to listen on', process.env.SKIFF_CNI_SOCKET ?? DEFAULT_SOCKET)
    .parse(process.argv)
    .opts<{ socket: string }>();
  const log = (msg: string) => process.stderr.write(`skiff-cnid: ${msg}\n`);
  // One call's stray promise must not take down every other call: log it and keep serving.
  process.on('unhandledRejection', (e) => log(`unhandled rejection: ${e instanceof Error ? e.message : String(e)}`));
  const d = await startDaemon({ socket: opts.socket, build: __SKIFF_CNI_BUILD__, plugins, log });
  const stop = () => void d.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((e: unknown) => {
  process.stderr.write(`skiff-cnid: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
