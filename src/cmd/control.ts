/**
 * `skiff restart|stop|start COMPONENT...`: what `systemctl restart|stop|start` is on the Vagrant VMs, through
 * the lab's supervisor. A name is a component (kubelet-node1) or a kind for every node's (kubelet, proxy).
 * `skiff stop` with no name stops the whole lab and keeps its state: `skiff up` on the same state directory
 * resumes the same cluster, its objects included.
 */
import { Command } from 'commander';
import { resolve } from 'node:path';
import { stopLabKeepingState } from '../lab/resume.js';
import { DEFAULT_STATE_DIR, readLab } from '../lab/state.js';
import { alive, controlComponents, resolveComponents } from '../lab/supervisor.js';
import type { ControlRequest } from '../lab/supervision.js';
import { UserError, errorMessage } from '../util/errors.js';
import { parseArgs } from './parse.js';

const VERB: Record<ControlRequest, string> = { restart: 'restarted', stop: 'stopped', start: 'started' };

export async function controlMain(req: ControlRequest, argv: string[]): Promise<void> {
  const cmd = new Command(`skiff ${req}`)
    .description(
      req === 'stop'
        ? 'stop lab components by name, or (no name) the whole lab keeping its state for `skiff up`'
        : `${req} lab components by name (kubelet-node1), or by kind for every node (kubelet, proxy)`,
    )
    .argument(req === 'stop' ? '[component...]' : '<component...>', 'component names (skiff status lists them)')
    .option('--state-dir <dir>', 'lab state directory', DEFAULT_STATE_DIR)
    .option('--timeout <seconds>', 'how long to wait for the supervisor', '30');
  if (!parseArgs(cmd, argv)) return;
  const o = cmd.opts<{ stateDir: string; timeout: string }>();
  const timeoutS = Number(o.timeout);
  if (!Number.isFinite(timeoutS) || timeoutS <= 0)
    throw new UserError(`--timeout: not a positive number: ${o.timeout}`, 2);
  const dir = resolve(o.stateDir);
  const lab = readLab(dir);
  if (!lab) throw new UserError(`no lab in ${dir} (skiff up makes one)`, 2);
  const names = cmd.args;
  if (req === 'stop' && names.length === 0) {
    if (process.getuid?.() !== 0) throw new UserError('skiff stop needs root (it deletes network namespaces)');
    const r = await stopLabKeepingState(dir);
    const resume = `\`skiff up --state-dir ${dir}\` resumes it`;
    process.stdout.write(
      `lab ${lab.prefix} stopped: ${r.processes} processes, ${r.namespaces} namespaces removed; ` +
        `its state is kept in ${dir} (${resume})\n`,
    );
    return;
  }
  if (lab.phase === 'stopped')
    throw new UserError(`lab ${lab.prefix} is stopped; \`skiff up --state-dir ${dir}\` resumes it`, 2);
  const supervisor = lab.processes.find((p) => p.name === 'supervisor');
  if (!supervisor || !alive(supervisor)) {
    throw new UserError(
      `the supervisor of lab ${lab.prefix} is not running; \`skiff down\` then \`skiff up\` recreates the lab`,
    );
  }
  let targets: string[];
  try {
    targets = resolveComponents(dir, names);
  } catch (err) {
    throw new UserError(`skiff ${req}: ${errorMessage(err)}`, 2);
  }
  let results;
  try {
    results = await controlComponents(dir, supervisor, targets, req, timeoutS * 1000);
  } catch (err) {
    throw new UserError(`${errorMessage(err)} (the component's log says why: skiff logs NAME)`);
  }
  for (const r of results) {
    const pids = req === 'restart' ? `pid ${r.before ?? '-'} → ${r.after ?? '-'}` : `pid ${r.after ?? r.before ?? '-'}`;
    process.stdout.write(`${r.name} ${VERB[req]} (${pids})\n`);
  }
}
