import { resolve } from 'node:path';
import { Command } from 'commander';
import { runProbeAgent } from '../conformance/services/agent.js';
import { formatMatrix, runServicesMatrix } from '../conformance/services/run.js';
import { DEFAULT_STATE_DIR, readLab } from '../lab/state.js';
import { UserError } from '../util/errors.js';
import { parseArgs } from './parse.js';

/**
 * `skiff conformance services`: the services matrix against a running lab (docs/conformance.md). Exit 0
 * when every cell behaves as under kube-proxy, 1 on any mismatch, 2 for bad input.
 * `skiff conformance probe-agent` is the matrix's own probe process, started inside each source namespace.
 */
export async function main(argv: string[]): Promise<void> {
  const [what, ...rest] = argv;
  if (what === 'probe-agent') return runProbeAgent(process.stdin, process.stdout);
  if (what !== 'services') {
    if (what === undefined || what === '--help' || what === '-h') {
      process.stdout.write(
        'Usage: skiff conformance services [--state-dir DIR] [--focus REGEX] [-o text|json] [--failures] [--keep]\n',
      );
      return;
    }
    throw new UserError(`skiff conformance: unknown suite "${what}" (services)`, 2);
  }
  const cmd = new Command('skiff conformance services')
    .description('check every Service cell (type × source × policy × protocol × family) against kube-proxy')
    .option('--state-dir <dir>', 'lab state directory', DEFAULT_STATE_DIR)
    .option('--focus <regex>', 'only the cells whose name matches')
    .option('-o, --output <fmt>', 'text or json', 'text')
    .option('--failures', 'print only the cells that do not pass')
    .option('--keep', 'leave the fixture (namespace skiff-conformance) in place');
  if (!parseArgs(cmd, rest)) return;
  const o = cmd.opts<{ stateDir: string; focus?: string; output: string; failures?: boolean; keep?: boolean }>();
  if (o.output !== 'text' && o.output !== 'json')
    throw new UserError('skiff conformance services: --output is text or json', 2);
  let focus: RegExp | undefined;
  try {
    focus = o.focus ? new RegExp(o.focus) : undefined;
  } catch (e) {
    throw new UserError(`skiff conformance services: --focus: ${(e as Error).message}`, 2);
  }
  if (process.getuid?.() !== 0)
    throw new UserError('skiff conformance services needs root (it enters the lab namespaces)', 2);
  const dir = resolve(o.stateDir);
  const lab = readLab(dir);
  if (!lab || lab.phase !== 'ready') throw new UserError(`skiff conformance services: no ready lab in ${dir}`, 2);
  const report = await runServicesMatrix(lab, {
    focus,
    keep: o.keep,
    log: (l) => process.stderr.write(`${l}\n`),
  });
  if (o.output === 'json') process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else process.stdout.write(formatMatrix(report, { onlyFailures: o.failures }));
  if (report.results.length === 0) throw new UserError('skiff conformance services: no cell matches --focus', 2);
  if (report.failed > 0) process.exitCode = 1;
}
