import { Command, InvalidArgumentError, Option } from 'commander';
import { UserError } from '../util/errors.js';
import { createLogger } from '../util/log.js';
import { parseCidr } from '../net/cidr.js';
import { isIPv4 } from '../net/ip.js';
import { VxlanAgent, type PeerSource } from '../overlay/vxlan/agent.js';
import { parseArgs } from './parse.js';

export const DEFAULT_SUBNET_FILE = '/run/skiff/subnet.env';

/** "10s", "500ms", "2m" or plain seconds → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new InvalidArgumentError(`not a duration: ${text} (e.g. 10s, 500ms, 1m)`);
  const n = Number(m[1]);
  const ms = m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000;
  if (ms < 100 || ms > 3_600_000) throw new InvalidArgumentError(`duration out of range (100ms..1h): ${text}`);
  return ms;
}

function intIn(min: number, max: number) {
  return (text: string): number => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min || n > max)
      throw new InvalidArgumentError(`expected an integer ${min}..${max}`);
    return n;
  };
}

function ipv4(text: string): string {
  if (!isIPv4(text)) {
    throw new InvalidArgumentError(`not an IPv4 address: ${text}`);
  }
  return text;
}

/**
 * `skiff vxlan-agent`: keeps this node's VXLAN overlay converged. Runs inside the node's network
 * namespace (it programs the namespace it runs in). Runs until SIGINT/SIGTERM.
 */
export async function main(argv: string[]): Promise<void> {
  const cmd = new Command('skiff vxlan-agent')
    .description('keep the VXLAN overlay (device, FDB, neighbours, routes) converged; run inside the node netns')
    .requiredOption('--node-name <name>', 'this node')
    .option('--kubeconfig <file>', 'watch Nodes and publish this VTEP through the API server')
    .option('--peers-file <file>', 'or: read peers from a JSON file [{name,podCIDR,publicIP,vtepMAC}]')
    .option('--subnet-file <file>', 'subnet file written for the vxlan CNI plugin', DEFAULT_SUBNET_FILE)
    .option('--underlay-ip <ip>', "this node's underlay IP (default: from its Node / peers entry)", ipv4)
    .option('--cluster-cidr <cidr>', 'cluster pod network', '10.244.0.0/16')
    .option('--vni <n>', 'VXLAN network identifier', intIn(0, 16_777_215), 1)
    .option('--port <n>', 'VXLAN UDP port', intIn(1, 65_535), 8472)
    .option('--device <name>', 'VXLAN device name', 'skiff.1')
    .addOption(new Option('--resync <duration>', 'full resync period').argParser(parseDuration).default(10_000, '10s'));
  if (!parseArgs(cmd, argv)) return;
  const opts = cmd.opts<{
    nodeName: string;
    kubeconfig?: string;
    peersFile?: string;
    subnetFile: string;
    underlayIp?: string;
    clusterCidr: string;
    vni: number;
    port: number;
    device: string;
    resync: number;
  }>();
  if (!opts.kubeconfig === !opts.peersFile) {
    throw new UserError('skiff vxlan-agent: give exactly one of --kubeconfig or --peers-file', 2);
  }
  try {
    parseCidr(opts.clusterCidr);
  } catch (err) {
    throw new UserError(`skiff vxlan-agent: --cluster-cidr: ${(err as Error).message}`, 2);
  }
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(opts.device))
    throw new UserError(`skiff vxlan-agent: bad --device ${opts.device}`, 2);

  const log = createLogger('vxlan-agent', { node: opts.nodeName });
  let source: PeerSource;
  if (opts.peersFile) {
    const { FilePeerSource } = await import('../overlay/vxlan/file-source.js');
    source = new FilePeerSource(opts.peersFile, log);
  } else {
    const { ApiPeerSource } = await import('../overlay/vxlan/api-source.js');
    try {
      source = new ApiPeerSource(opts.kubeconfig as string, log);
    } catch (err) {
      throw new UserError(`skiff vxlan-agent: cannot load kubeconfig ${opts.kubeconfig}: ${(err as Error).message}`);
    }
  }

  const agent = new VxlanAgent({
    nodeName: opts.nodeName,
    source,
    subnetFile: opts.subnetFile,
    clusterCIDR: opts.clusterCidr,
    vni: opts.vni,
    port: opts.port,
    device: opts.device,
    ...(opts.underlayIp ? { underlayIP: opts.underlayIp } : {}),
    resyncMs: opts.resync,
    log,
  });
  log.info({ mode: opts.peersFile ? 'peers-file' : 'api', resyncMs: opts.resync }, 'vxlan agent starting');
  await agent.start();
  await new Promise<void>((resolve) => {
    const done = (sig: string) => {
      log.info({ sig }, 'stopping');
      // Kernel state stays as it is (pods keep working across a restart); only the process ends.
      // A watch socket that does not close promptly must not keep a stopping agent alive.
      setTimeout(() => process.exit(0), 3000).unref();
      void agent.stop().finally(resolve);
    };
    process.once('SIGINT', () => done('SIGINT'));
    process.once('SIGTERM', () => done('SIGTERM'));
  });
}
