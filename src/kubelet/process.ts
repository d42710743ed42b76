import { existsSync, readFileSync } from 'node:fs';
import { type ContainerSpawn, spawnContainer } from '../os/container.js';
import { procChildren, procStartTicks } from '../os/proc.js';
import { isSameProcess, signalGroup } from '../os/process.js';

/** Container process bookkeeping: start (through src/os/container.ts), liveness, signals, exit codes. */
export type SpawnSpec = ContainerSpawn;

export interface ProcHandle {
  pid: number;
  /** /proc/PID/stat start time (clock ticks since boot): detects pid reuse across kubelet restarts */
  startTicks: number;
  startedAt: string;
}

export function isAlive(h: Pick<ProcHandle, 'pid' | 'startTicks'>): boolean {
  return isSameProcess(h);
}

export function startContainerProcess(spec: SpawnSpec): ProcHandle {
  const pid = spawnContainer(spec);
  // The start time is read right away; a process that died instantly is caught by the next liveness check.
  const startTicks = procStartTicks(pid) ?? -1;
  return { pid, startTicks, startedAt: new Date().toISOString() };
}

/** Signal the container's whole process group (ESRCH = already gone: fine). */
export function signalContainer(h: ProcHandle, signal: NodeJS.Signals): void {
  if (isAlive(h)) signalGroup(h.pid, signal);
}

/** Exit code recorded by the init, if the container has ended and recorded one. */
export function readExitCode(exitFile: string): number | undefined {
  if (!existsSync(exitFile)) return undefined;
  const n = Number(readFileSync(exitFile, 'utf8').trim());
  return Number.isInteger(n) ? n : undefined;
}

/** PID (global) of the container's init: the unshare's child when a PID namespace is used. */
export function initPid(h: ProcHandle): number {
  return procChildren(h.pid)[0] ?? h.pid;
}

/** Resolve a command name like a shell would: absolute paths as is, else search PATH. */
export function resolveCommand(cmd: string, path: string): string | undefined {
  if (cmd.includes('/')) return existsSync(cmd) ? cmd : undefined;
  for (const dir of path.split(':')) {
    if (dir && existsSync(`${dir}/${cmd}`)) return `${dir}/${cmd}`;
  }
  return undefined;
}
