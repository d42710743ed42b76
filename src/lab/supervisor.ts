import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { namedNs, nsenterArgv } from '../os/ns.js';
import { isSameProcess, signalGroup, startDetached, type ProcessIdentity } from '../os/process.js';
import { waitFor } from '../util/wait.js';
import { skiffScript } from './paths.js';
import type { LabProcess } from './state.js';
import {
  readStatus,
  readUnits,
  requestControl,
  runningProcess,
  supervisionPaths,
  writeUnit,
  type ControlRequest,
  type SupervisionPaths,
  type UnitStatus,
} from './supervision.js';

/**
 * Lab processes. lab.json records one: the lab's supervisor (`skiff supervise`, a detached child in its own
 * process group, surviving `skiff up`). Every component is a unit the supervisor runs inside its namespace
 * with `nsenter --net`, stdout+stderr appended to its own log file, and restarts when it exits. Identity is
 * pid + start time so nothing ever signals a recycled pid.
 */
export function alive(p: Pick<LabProcess, 'pid' | 'startTicks'>): boolean {
  return isSameProcess(p);
}

export function labSupervision(stateDir: string): SupervisionPaths {
  return supervisionPaths(join(stateDir, 'supervise'));
}

/** A detached process outside supervision (the supervisor itself; test harnesses that want exactly one run). */
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

/** Start the lab's supervisor and wait (bounded) until it takes requests. */
export async function startSupervisor(
  stateDir: string,
  log: string,
  o: { backoffBaseMs?: number } = {},
): Promise<LabProcess> {
  const paths = labSupervision(stateDir);
  const argv = [process.execPath, skiffScript(), 'supervise', '--dir', paths.dir];
  if (o.backoffBaseMs) argv.push('--backoff-base', `${o.backoffBaseMs}ms`);
  const p = startProcess('supervisor', argv, { log });
  await waitFor('the lab supervisor', 30_000, async () => (existsSync(paths.ready) ? true : undefined), {
    intervalMs: 50,
    check: () => {
      if (!alive(p)) throw new Error(`the lab supervisor exited; see ${log}`);
    },
  });
  return p;
}

/** Hand a component to the supervisor (it starts it within a second, at once with the SIGHUP). */
export function startUnit(
  stateDir: string,
  supervisor: LabProcess,
  unit: { name: string; argv: string[]; log: string; netns?: string; env?: Record<string, string> },
): void {
  const argv = unit.netns ? nsenterArgv(namedNs(unit.netns), unit.argv) : unit.argv;
  writeUnit(labSupervision(stateDir), {
    name: unit.name,
    argv,
    log: unit.log,
    env: { SKIFF_LOG_FORMAT: 'json', ...unit.env },
    ...(unit.netns ? { netns: unit.netns } : {}),
  });
  if (alive(supervisor)) signalGroupLeader(supervisor.pid, 'SIGHUP');
}

/** Signal the process alone (not its group: a SIGHUP to the supervisor's group would reach no unit anyway). */
function signalGroupLeader(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* gone: the next start of the lab picks the unit up */
  }
}

/** A lab component as `skiff status` shows it: its unit, and what the supervisor reports. */
export interface Component {
  name: string;
  log: string;
  netns?: string;
  status?: UnitStatus;
  /** the running process, when there is one */
  process?: ProcessIdentity;
}

export function labComponents(stateDir: string): Component[] {
  const paths = labSupervision(stateDir);
  return readUnits(paths).map((u) => {
    const proc = runningProcess(paths, u.name);
    const status = readStatus(paths, u.name);
    return {
      name: u.name,
      log: u.log,
      ...(u.netns ? { netns: u.netns } : {}),
      ...(status ? { status } : {}),
      ...(proc ? { process: proc } : {}),
    };
  });
}

/** The component's running process (pid + start time), if it runs. */
export function componentProcess(stateDir: string, name: string): ProcessIdentity | undefined {
  return runningProcess(labSupervision(stateDir), name);
}

/**
 * Names as the user gives them: a unit's name, or a kind for every node's ("kubelet" = kubelet-node1,
 * kubelet-node2, …). Unknown names throw with the list of known ones.
 */
export function resolveComponents(stateDir: string, names: string[]): string[] {
  const known = readUnits(labSupervision(stateDir)).map((u) => u.name);
  const out = new Set<string>();
  for (const n of names) {
    const matches = known.filter((k) => k === n || k.startsWith(`${n}-`));
    if (matches.length === 0) throw new Error(`no component "${n}" in this lab; components: ${known.join(', ')}`);
    for (const m of matches) out.add(m);
  }
  return [...out];
}

/**
 * Ask the supervisor to restart, stop or start components and wait (bounded) until it has: restart = a new
 * process runs, stop = none runs, start = one runs. Returns each component's pid before and after.
 */
export async function controlComponents(
  stateDir: string,
  supervisor: LabProcess,
  names: string[],
  req: ControlRequest,
  timeoutMs = 30_000,
): Promise<{ name: string; before?: number; after?: number }[]> {
  if (!alive(supervisor)) throw new Error('the lab supervisor is not running (skiff status shows it)');
  const paths = labSupervision(stateDir);
  const before = new Map(names.map((n) => [n, runningProcess(paths, n)]));
  for (const n of names) requestControl(paths, n, req);
  signalGroupLeader(supervisor.pid, 'SIGHUP');
  const done = (n: string): boolean => {
    const now = runningProcess(paths, n);
    if (req === 'stop') return !now && readStatus(paths, n)?.state === 'stopped';
    if (req === 'start') return !!now;
    const was = before.get(n);
    return !!now && (!was || now.pid !== was.pid || now.startTicks !== was.startTicks);
  };
  await waitFor(`${req} of ${names.join(', ')}`, timeoutMs, async () => (names.every(done) ? true : undefined), {
    intervalMs: 100,
  });
  return names.map((n) => ({ name: n, before: before.get(n)?.pid, after: runningProcess(paths, n)?.pid }));
}

/** SIGTERM the process group, wait (bounded), then SIGKILL. */
export async function stopProcess(p: Pick<LabProcess, 'pid' | 'startTicks'>, graceMs = 3000): Promise<void> {
  if (!alive(p)) return;
  const sig = (s: NodeJS.Signals): void => signalGroup(p.pid, s);
  sig('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (alive(p) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive(p)) sig('SIGKILL');
}

/**
 * Stop a lab's processes: the supervisor stops its units (kubelets first, the API path last) and exits; a
 * unit still running after that (its supervisor had crashed or was killed) is stopped here from its status.
 */
export async function stopLab(stateDir: string, processes: LabProcess[]): Promise<number> {
  for (const p of processes) await stopProcess(p, 15_000);
  const paths = labSupervision(stateDir);
  const leftovers = readUnits(paths).flatMap((u) => {
    const p = runningProcess(paths, u.name);
    return p ? [p] : [];
  });
  await Promise.all(leftovers.map((p) => stopProcess(p, 2000)));
  return processes.length + leftovers.length;
}
