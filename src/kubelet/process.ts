import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Container processes. Each container is `nsenter --net=<pod netns> unshare <namespaces> sh -c INIT ...`:
 * the pod's network namespace, its own UTS (hostname = pod hostname), and PID/IPC/mount namespaces where the
 * kernel allows (detected once). A tiny sh init joins the cgroups, sets the hostname, changes directory,
 * runs the command and records its exit code in a file, so a restarted kubelet still learns how an adopted
 * container ended. The process group is the unit of signalling: SIGTERM reaches the command (the init, as
 * PID 1 of its namespace, ignores it), SIGKILL ends everything.
 */
const INIT = [
  'host="$1"; exitfile="$2"; wd="$3"; n="$4"; shift 4',
  'while [ "$n" -gt 0 ]; do echo 0 > "$1" 2>/dev/null; shift; n=$((n-1)); done',
  'hostname "$host" 2>/dev/null',
  'if [ -n "$wd" ]; then cd "$wd" || { echo "workingDir $wd: not found" >&2; echo 128 > "$exitfile"; exit 128; }; fi',
  '"$@"',
  'c=$?',
  'echo "$c" > "$exitfile"',
  'exit "$c"',
].join('\n');

export interface Isolation {
  uts: boolean;
  pid: boolean;
  ipc: boolean;
  mount: boolean;
}

let detected: Isolation | undefined;

/** Which namespaces `unshare` may create here (a container or hardened kernel may refuse some). */
export function detectIsolation(): Isolation {
  if (detected) return detected;
  const ok = (args: string[]): boolean =>
    spawnSync('unshare', [...args, 'true'], { stdio: 'ignore', timeout: 5000 }).status === 0;
  detected = {
    uts: ok(['--uts']),
    ipc: ok(['--ipc']),
    pid: ok(['--pid', '--fork']),
    mount: ok(['--mount', '--pid', '--fork', '--mount-proc']),
  };
  return detected;
}

export function unshareArgs(iso: Isolation): string[] {
  const a: string[] = [];
  if (iso.uts) a.push('--uts');
  if (iso.ipc) a.push('--ipc');
  if (iso.pid) a.push('--pid', '--fork', '--kill-child');
  if (iso.pid && iso.mount) a.push('--mount-proc');
  return a;
}

export interface SpawnSpec {
  netnsPath: string;
  hostname: string;
  argv: string[];
  env: Record<string, string>;
  workingDir?: string;
  logFile: string;
  exitFile: string;
  cgroupProcs: string[];
}

export interface ProcHandle {
  pid: number;
  /** /proc/PID/stat start time (clock ticks since boot): detects pid reuse across kubelet restarts */
  startTicks: number;
  startedAt: string;
}

export function procStartTicks(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields after "(comm)": state is index 0 → starttime (field 22) is index 19
    if (rest[0] === 'Z' || rest[0] === 'X') return undefined;
    const n = Number(rest[19]);
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

export function isAlive(h: Pick<ProcHandle, 'pid' | 'startTicks'>): boolean {
  return procStartTicks(h.pid) === h.startTicks;
}

export function startContainerProcess(spec: SpawnSpec): ProcHandle {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  mkdirSync(dirname(spec.exitFile), { recursive: true });
  const log = openSync(spec.logFile, 'a');
  const argv = [
    `--net=${spec.netnsPath}`,
    '--',
    'unshare',
    ...unshareArgs(detectIsolation()),
    '--',
    'sh',
    '-c',
    INIT,
    'skiff-init',
    spec.hostname,
    spec.exitFile,
    spec.workingDir ?? '',
    String(spec.cgroupProcs.length),
    ...spec.cgroupProcs,
    ...spec.argv,
  ];
  const child = spawn('nsenter', argv, { detached: true, stdio: ['ignore', log, log], env: spec.env });
  closeSync(log);
  child.on('error', () => undefined);
  child.unref();
  const pid = child.pid;
  if (!pid) throw new Error('failed to start container process');
  // The start time is read right away; a process that died instantly is caught by the next liveness check.
  const startTicks = procStartTicks(pid) ?? -1;
  return { pid, startTicks, startedAt: new Date().toISOString() };
}

/** Signal the container's whole process group (ESRCH = already gone: fine). */
export function signalContainer(h: ProcHandle, signal: NodeJS.Signals): void {
  if (!isAlive(h)) return;
  try {
    process.kill(-h.pid, signal);
  } catch {
    try {
      process.kill(h.pid, signal);
    } catch {
      /* gone */
    }
  }
}

/** Exit code recorded by the init, if the container has ended and recorded one. */
export function readExitCode(exitFile: string): number | undefined {
  if (!existsSync(exitFile)) return undefined;
  const n = Number(readFileSync(exitFile, 'utf8').trim());
  return Number.isInteger(n) ? n : undefined;
}

/** PID (global) of the container's init: the unshare's child when a PID namespace is used. */
export function initPid(h: ProcHandle): number {
  try {
    const kids = readFileSync(`/proc/${h.pid}/task/${h.pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number)
      .filter((n) => n > 0);
    return kids[0] ?? h.pid;
  } catch {
    return h.pid;
  }
}

/** Resolve a command name like a shell would: absolute paths as is, else search PATH. */
export function resolveCommand(cmd: string, path: string): string | undefined {
  if (cmd.includes('/')) return existsSync(cmd) ? cmd : undefined;
  for (const dir of path.split(':')) {
    if (dir && existsSync(`${dir}/${cmd}`)) return `${dir}/${cmd}`;
  }
  return undefined;
}
