import { type ChildProcess, spawn, spawnSync, type SpawnOptions } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { startLogStamper } from './crilog.js';
import { capabilityPrefix, type RootView, rootViewScript, shq } from './rootview.js';

/**
 * Container processes at the kernel boundary. A container is
 * `nsenter --net=<pod netns> unshare --uts --ipc --mount --pid --fork --kill-child sh -c INIT -- ARGV`:
 * the pod's network namespace and its own UTS, IPC, mount and PID namespaces. The init (PID 1 there) joins
 * the cgroups, sets the hostname, builds and pivots into the container's root view (src/os/rootview.ts),
 * changes directory, runs the command with the container's capabilities, and records its exit code through a
 * file descriptor opened before the pivot (the host path is not in the view), so a restarted kubelet still
 * learns how an adopted container ended. The process group is the unit of signalling: SIGTERM reaches the
 * command (the init, as PID 1 of its namespace, ignores it), SIGKILL ends everything.
 */
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

/** unshare flags; a private root view needs mount and PID namespaces, so without them nothing starts. */
export function unshareArgs(iso: Isolation): string[] {
  if (!iso.mount || !iso.pid)
    throw new Error(
      'this node cannot create mount and PID namespaces, so it cannot give a container a root view of its own',
    );
  const a: string[] = [];
  if (iso.uts) a.push('--uts');
  if (iso.ipc) a.push('--ipc');
  a.push('--mount', '--propagation', 'private', '--pid', '--fork', '--kill-child');
  return a;
}

export interface ContainerSpawn {
  netnsPath: string;
  hostname: string;
  argv: string[];
  env: Record<string, string>;
  workingDir?: string;
  logFile: string;
  exitFile: string;
  cgroupProcs: string[];
  view: RootView;
  /** capability bounding set; undefined = privileged (all) */
  capabilities?: readonly string[];
  /** a FIFO that becomes the container's stdin (created if missing; held open read-write, so it never ends) */
  stdinFifo?: string;
  /** run the command on a terminal of its own (util-linux `script` in the view relays it) */
  tty?: boolean;
}

/** The init's sh text for one container (values quoted in; the command arrives as "$@"). */
function initScript(s: ContainerSpawn): string {
  const wd = s.workingDir ?? '';
  const caps = capabilityPrefix(s.capabilities).map(shq).join(' ');
  return [
    `exec 9>${shq(s.exitFile)} || exit 128`,
    // the init's own tools come from the host's system directories, whatever the container's PATH says
    'CONTAINER_PATH="$PATH"; PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    'die() { echo "skiff-init: $*" >&2; echo 128 >&9; exit 128; }',
    ...s.cgroupProcs.map((p) => `echo 0 > ${shq(p)} 2>/dev/null`),
    `hostname ${shq(s.hostname)} 2>/dev/null`,
    rootViewScript(s.view),
    ...(wd ? [`cd ${shq(wd)} || die ${shq(`workingDir ${wd}: not found`)}`] : []),
    'PATH="$CONTAINER_PATH"',
    // with a TTY, `script` (util-linux, under /usr in every view) runs the command on a pty and relays it
    s.tty ? `${caps} /usr/bin/script -qfec ${shq(s.argv.map(shq).join(' '))} /dev/null 9>&-` : `${caps} "$@" 9>&-`,
    'c=$?',
    'echo "$c" >&9',
    'exit "$c"',
  ].join('\n');
}

/** Start a container process (detached, its own process group); returns its pid. */
export function spawnContainer(s: ContainerSpawn): number {
  mkdirSync(dirname(s.logFile), { recursive: true });
  mkdirSync(dirname(s.exitFile), { recursive: true });
  mkdirSync(s.view.scratch, { recursive: true });
  const argv = [
    `--net=${s.netnsPath}`,
    '--',
    'unshare',
    ...unshareArgs(detectIsolation()),
    '--',
    'sh',
    '-c',
    initScript(s),
    'skiff-init',
    ...s.argv,
  ];
  // stdout and stderr through the CRI-format filters (crilog.ts); our ends of their pipes close at once
  const out = startLogStamper('stdout', s.logFile);
  const err = startLogStamper('stderr', s.logFile);
  let child: ChildProcess;
  const stdin = s.stdinFifo ? openFifo(s.stdinFifo) : undefined;
  try {
    child = spawn('nsenter', argv, { detached: true, stdio: [stdin ?? 'ignore', out.stdin!, err.stdin!], env: s.env });
  } finally {
    if (stdin !== undefined) closeSync(stdin);
    out.stdin?.destroy();
    err.stdin?.destroy();
    out.unref();
    err.unref();
  }
  child.on('error', () => undefined);
  child.unref();
  if (!child.pid) throw new Error('failed to start container process');
  return child.pid;
}

/** Open (creating it if needed) a FIFO read-write: the open does not wait for a peer, and a writer that comes
 *  and goes (each attach) never ends the reader's stream. */
function openFifo(path: string): number {
  if (!existsSync(path)) {
    const r = spawnSync('mkfifo', ['-m', '600', path], { stdio: 'ignore', timeout: 5000 });
    if (r.status !== 0) throw new Error(`cannot create the stdin FIFO ${path}`);
  }
  return openSync(path, 'r+');
}

/**
 * Whether `pid` has pivoted into a root view of its own. Until then (the init is still building it, or the
 * pid is the `unshare` that has not forked yet) its root is the host's, and entering it would expose the
 * host's files.
 */
export function inOwnView(pid: number): boolean {
  try {
    const theirs = statSync(`/proc/${pid}/root/`);
    const ours = statSync('/');
    return theirs.dev !== ours.dev || theirs.ino !== ours.ino;
  } catch {
    return false;
  }
}

/** Wait (bounded) until the container's init, as `resolvePid` finds it, is in its view; returns its pid. */
export async function waitForView(resolvePid: () => number | undefined, timeoutMs = 10_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pid = resolvePid();
    if (pid !== undefined && inOwnView(pid)) return pid;
    if (Date.now() >= deadline) throw new Error('the container has not entered its root view (still starting?)');
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Run a command inside a running container: all of its namespaces, its root view and working directory
 * (as `kubectl exec` does). `initPid` is the container's PID 1 as seen from the host; refused (throws) while
 * that process is not in its own view yet. `capabilities` as for the container's own processes (undefined: all,
 * as `skiff exec` keeps for debugging).
 */
export function spawnInContainer(
  initPid: number,
  command: string[],
  opts: SpawnOptions = {},
  capabilities?: readonly string[],
): ChildProcess {
  // the container's environment (its init's), as kubectl exec gives, unless the caller sets one
  const env = opts.env ?? containerEnvironment(initPid);
  const [cmd, ...args] = containerExecArgv(initPid, command, capabilities);
  return spawn(cmd!, args, { ...opts, env });
}

/** The argv that runs `command` inside the container of `initPid` (refused while it is not in its view). */
export function containerExecArgv(initPid: number, command: string[], capabilities?: readonly string[]): string[] {
  if (!inOwnView(initPid)) throw new Error(`process ${initPid} is not in a container root view`);
  const ns = ['-t', String(initPid), '--net', '--uts', '--ipc', '--pid', '--mount', '--root', '--wd', '--'];
  return ['nsenter', ...ns, ...capabilityPrefix(capabilities), ...command];
}

/** The environment a container's processes run with (its init's, from /proc). */
export function containerEnvironment(initPid: number): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of readFileSync(`/proc/${initPid}/environ`, 'utf8').split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

/** Run a command in a named network namespace only (a lab node, or a pod without a running container). */
export function spawnInNetns(netnsPath: string, command: string[], opts: SpawnOptions = {}): ChildProcess {
  return spawn('nsenter', [`--net=${netnsPath}`, '--', ...command], opts);
}
