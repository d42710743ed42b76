import { type ChildProcess, spawn, type SpawnOptions } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { procStartTicks } from './proc.js';

/**
 * Long-lived programs (cluster components, etcd, container inits) and interactive commands. Short commands
 * whose output is wanted go through exec.ts; kernel tools are never started from here by callers outside
 * src/os (they use the src/os facility for that tool). Always an argv array, never a shell string.
 */

/** Identity of a started process: pid plus its /proc start time, so a recycled pid is never mistaken. */
export interface ProcessIdentity {
  pid: number;
  startTicks: number;
}

/** The process is the one identified (same pid, same start time) and not a zombie. */
export function isSameProcess(p: ProcessIdentity): boolean {
  return procStartTicks(p.pid) === p.startTicks;
}

/**
 * Start a detached child (its own process group, surviving its parent) with stdout+stderr appended to log.
 * Returns its identity at once; a process that dies instantly shows up in the next isSameProcess check.
 */
export function startDetached(
  argv: readonly string[],
  opts: { log: string; env?: NodeJS.ProcessEnv; mode?: number },
): ProcessIdentity {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('startDetached: empty argv');
  mkdirSync(dirname(opts.log), { recursive: true });
  const fd = openSync(opts.log, 'a', opts.mode);
  const child = spawn(cmd, args, { detached: true, stdio: ['ignore', fd, fd], env: opts.env ?? process.env });
  closeSync(fd);
  child.on('error', () => undefined);
  child.unref();
  if (!child.pid) throw new Error(`failed to start ${cmd}`);
  return { pid: child.pid, startTicks: procStartTicks(child.pid) ?? -1 };
}

/** Signal a process group (falling back to the process alone); already gone is fine. */
export function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* gone */
    }
  }
}

/** A child the caller supervises itself (etcd, a benchmarked server): node's ChildProcess, argv only. */
export function spawnProgram(argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error('spawnProgram: empty argv');
  return spawn(cmd, args, opts);
}
