/**
 * `skiff supervise --dir DIR`: the lab's process supervisor (what systemd is on the Vagrant VMs). `skiff up`
 * starts one per lab; see src/lab/supervisor-daemon.ts for what it does and supervision.ts for its files.
 */
import { Command } from 'commander';
import { resolve } from 'node:path';
import { durationOption as duration } from '../client/duration.js';
import { DEFAULT_BACKOFF } from '../lab/supervision.js';
import { supervisionPaths } from '../lab/supervision.js';
import { SupervisorDaemon } from '../lab/supervisor-daemon.js';
import { createLogger } from '../util/log.js';
import { parseArgs } from './parse.js';

export async function main(argv: string[]): Promise<void> {
  const program = new Command('skiff supervise')
    .description('run and restart (with back-off) the units under DIR/units; used by skiff up')
    .requiredOption('--dir <dir>', 'supervision directory (a lab keeps it in STATE_DIR/supervise)')
    .option('--backoff-base <d>', 'first restart delay, doubling per crash in a row', duration, DEFAULT_BACKOFF.baseMs)
    .option('--backoff-max <d>', 'longest restart delay', duration, DEFAULT_BACKOFF.maxMs)
    .option(
      '--backoff-reset <d>',
      'a run this long counts as healthy (the series restarts)',
      duration,
      DEFAULT_BACKOFF.resetAfterMs,
    )
    .option('--grace <d>', 'SIGTERM → SIGKILL delay when stopping a unit', duration, 2000);
  if (!parseArgs(program, argv)) return;
  const o = program.opts<{
    dir: string;
    backoffBase: number;
    backoffMax: number;
    backoffReset: number;
    grace: number;
  }>();
  const log = createLogger('supervise');
  const daemon = new SupervisorDaemon(
    supervisionPaths(resolve(o.dir)),
    { baseMs: o.backoffBase, maxMs: o.backoffMax, resetAfterMs: o.backoffReset },
    log,
    o.grace,
  );
  await daemon.run();
  log.info('supervisor stopped');
  process.exit(0);
}
