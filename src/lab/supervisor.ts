import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LabProcess } from './state.js';

/**
 * Lab processes: each component is a detached child (its own process group, surviving `skiff up`), started
 * inside its namespace with `nsenter --net`, with stdout+stderr appended to its own log file. Identity is
 * pid + start time so `skiff down` never signals a recycled pid.
 */
export function startTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
    return Number(rest[19]);
  } catch {
    return undefined;
  }
}

export function alive(p: Pick<LabProcess, 'pid' | 'startTicks'>): boolean {
  return startTicks(p.pid) === p.startTicks;
}

export function startProcess(
  name: string,
  argv: string[],
  opts: { netns?: string; log: string; env?: NodeJS.ProcessEnv },
): LabProcess {
  mkdirSync(dirname(opts.log), { recursive: true });
  const fd = openSync(opts.log, 'a');
  const full = opts.netns ? ['nsenter', `--net=/run/netns/${opts.netns}`, '--', ...argv] : argv;
  const [cmd, ...args] = full as [string, ...string[]];
  const child = spawn(cmd, args, {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...process.env, SKIFF_LOG_FORMAT: 'json', ...opts.env },
  });
  closeSync(fd);
  child.on('error', () => undefined);
  child.unref();
  if (!child.pid) throw new Error(`failed to start ${name}`);
  return {
    name,
    pid: child.pid,
    startTicks: startTicks(child.pid) ?? -1,
    netns: opts.netns,
    log: opts.log,
    argv: full,
  };
}

/** SIGTERM the process group, wait (bounded), then SIGKILL. */
export async function stopProcess(p: LabProcess, graceMs = 3000): Promise<void> {
  if (!alive(p)) return;
  const sig = (s: NodeJS.Signals): void => {
    try {
      process.kill(-p.pid, s);
    } catch {
      try {
        process.kill(p.pid, s);
      } catch {
        /* gone */
      }
    }
  };
  sig('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(p) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(p)) sig('SIGKILL');
}
