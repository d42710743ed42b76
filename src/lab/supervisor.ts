import { namedNs, nsenterArgv } from '../os/ns.js';
import { isSameProcess, signalGroup, startDetached } from '../os/process.js';
import type { LabProcess } from './state.js';

/**
 * Lab processes: each component is a detached child (its own process group, surviving `skiff up`), started
 * inside its namespace with `nsenter --net`, with stdout+stderr appended to its own log file. Identity is
 * pid + start time so `skiff down` never signals a recycled pid.
 */
export function alive(p: Pick<LabProcess, 'pid' | 'startTicks'>): boolean {
  return isSameProcess(p);
}

export function startProcess(
  name: string,
  argv: string[],
  opts: { netns?: string; log: string; env?: NodeJS.ProcessEnv },
): LabProcess {
  const full = opts.netns ? nsenterArgv(namedNs(opts.netns), argv) : argv;
  const { pid, startTicks } = startDetached(full, {
    log: opts.log,
    env: { ...process.env, SKIFF_LOG_FORMAT: 'json', ...opts.env },
  });
  return { name, pid, startTicks, netns: opts.netns, log: opts.log, argv: full };
}

/** SIGTERM the process group, wait (bounded), then SIGKILL. */
export async function stopProcess(p: LabProcess, graceMs = 3000): Promise<void> {
  if (!alive(p)) return;
  const sig = (s: NodeJS.Signals): void => signalGroup(p.pid, s);
  sig('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(p) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(p)) sig('SIGKILL');
}
