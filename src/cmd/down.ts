import { Command } from 'commander';
import { resolve } from 'node:path';
import { UserError } from '../util/errors.js';
import { DEFAULT_STATE_DIR } from '../lab/state.js';
import { teardown } from '../lab/teardown.js';
import { parseArgs } from './parse.js';

export async function main(argv: string[]): Promise<void> {
  const cmd = new Command('skiff down')
    .description('remove a lab: processes, namespaces (pods included), forwarder; idempotent, works after a crash')
    .option('--state-dir <dir>', 'lab state directory', DEFAULT_STATE_DIR);
  if (!parseArgs(cmd, argv)) return;
  if (process.getuid?.() !== 0) throw new UserError('skiff down needs root (it deletes network namespaces)');
  const dir = resolve(cmd.opts<{ stateDir: string }>().stateDir);
  const r = await teardown(dir);
  if (!r.prefix) {
    process.stdout.write(`no lab in ${dir}: nothing to do\n`);
    return;
  }
  process.stdout.write(
    `lab ${r.prefix} removed: ${r.processes} processes stopped, ${r.namespaces.length} namespaces deleted (logs kept in ${dir}/logs)\n`,
  );
}
