import { resolve } from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULT_STATE_DIR, readLab } from '../lab/state.js';
import { formatReport } from '../trace/report.js';
import { runTrace } from '../trace/run.js';
import type { Via } from '../trace/target.js';
import { UserError } from '../util/errors.js';
import { parseArgs } from './parse.js';

/**
 * `skiff trace --from SRC --to svc/NAME[:PORT]`: one probe, its path hop by hop (docs/cluster.md). Exit 0
 * when the probe was answered, 1 when it was dropped, rejected or not answered (the trace itself worked),
 * 2 for bad input.
 */
export async function main(argv: string[]): Promise<void> {
  const cmd = new Command('skiff trace')
    .description('send one probe to a Service and print its path: route, chains, map elements, DNAT, answer')
    .requiredOption('--from <src>', 'pod/NAME, pod/NAMESPACE/NAME, nodeN or client')
    .requiredOption('--to <svc>', 'svc/NAME[:PORT] or svc/NAMESPACE/NAME[:PORT] (port number or name)')
    .addOption(new Option('--proto <proto>', 'the Service port protocol').choices(['tcp', 'udp']))
    .addOption(
      new Option(
        '--via <dest>',
        'which address of the Service (default: clusterip; from client: LB IP, else NodePort)',
      ).choices(['clusterip', 'nodeport', 'loadbalancer', 'externalip']),
    )
    .option('--node <node>', 'the node whose NodePort is probed (default node1, or the source node)')
    .option('--path <path>', 'TCP: the HTTP path asked', '/hostname')
    .option('--data <text>', 'UDP: the datagram sent', 'hostname')
    .option('--timeout <s>', 'seconds to wait for the connection and the answer', (v) => Number(v), 2)
    .option('-o, --output <fmt>', 'text or json', 'text')
    .option('--state-dir <dir>', 'lab state directory', DEFAULT_STATE_DIR);
  if (!parseArgs(cmd, argv)) return;
  const o = cmd.opts<{
    from: string;
    to: string;
    proto?: 'tcp' | 'udp';
    via?: Via;
    node?: string;
    path: string;
    data: string;
    timeout: number;
    output: string;
    stateDir: string;
  }>();
  if (!Number.isFinite(o.timeout) || o.timeout < 1 || o.timeout > 30)
    throw new UserError('skiff trace: --timeout is 1-30 seconds', 2);
  if (o.output !== 'text' && o.output !== 'json') throw new UserError('skiff trace: --output is text or json', 2);
  if (process.getuid?.() !== 0) throw new UserError('skiff trace needs root (it enters the lab namespaces)', 2);
  const dir = resolve(o.stateDir);
  const lab = readLab(dir);
  if (!lab) throw new UserError(`skiff trace: no lab in ${dir} (run skiff up)`, 2);
  const report = await runTrace(lab, {
    from: o.from,
    to: o.to,
    proto: o.proto ? (o.proto.toUpperCase() as 'TCP' | 'UDP') : undefined,
    via: o.via,
    node: o.node,
    path: o.path,
    data: o.data,
    timeoutS: o.timeout,
  });
  process.stdout.write(o.output === 'json' ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
  process.exitCode = report.verdict === 'answered' ? 0 : 1;
}
