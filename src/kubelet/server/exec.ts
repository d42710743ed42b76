import { constants } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import { containerEnvironment, containerExecArgv, spawnInContainer } from '../../os/container.js';
import { spawnOnPty } from '../../os/pty.js';
import { signalGroup } from '../../os/process.js';
import type { Logger } from '../../util/log.js';
import { errorMessage } from '../../util/errors.js';
import { errorStatus, exitStatus, type TerminalSize } from './channels.js';
import type { CommandStreams } from './command-streams.js';

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** A running container a command can join: its init's pid (as the host sees it) and its capabilities. */
export interface ExecTarget {
  initPid: number;
  capabilities?: readonly string[];
}

/** How long a TTY session waits for the client's first window size before starting with none. */
const FIRST_SIZE_WAIT_MS = 2000;

/**
 * `kubectl exec`: the command runs inside the container (its namespaces, root view, environment) with the
 * streams the client asked for; with a TTY it runs on a pty whose first size is the client's (kubectl sends
 * it at once on channel 4; the command starts after it, so `stty size` is right from the start). When the
 * command ends, the error channel carries its exit status and the socket closes; when the client goes away
 * the command's process group is killed, so nothing is left running.
 */
export async function serveExec(
  io: CommandStreams,
  target: ExecTarget,
  command: string[],
  o: StreamOptions,
  log: Logger,
): Promise<void> {
  const queued: Buffer[] = [];
  let child: ChildProcess | undefined;
  let resizeTo: ((s: TerminalSize) => void) | undefined;
  let firstSize: ((s: TerminalSize) => void) | undefined;
  io.onResize((size) => o.tty && (firstSize ?? resizeTo)?.(size));
  io.onStdin((payload) => {
    if (!o.stdin) return;
    if (child?.stdin) child.stdin.write(payload);
    else queued.push(Buffer.from(payload));
  });
  io.onStdinEnd(() => {
    if (child?.stdin) child.stdin.end();
    else queued.push(Buffer.alloc(0));
  });
  let size: TerminalSize | undefined;
  if (o.tty) {
    size = await Promise.race([
      new Promise<TerminalSize>((r) => (firstSize = r)),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), FIRST_SIZE_WAIT_MS)),
      io.closed.then(() => undefined),
    ]);
    firstSize = undefined;
  }
  if (!io.open()) return;
  try {
    child = start(target, command, o, size);
  } catch (err) {
    io.finish(errorStatus(errorMessage(err)));
    return;
  }
  const c = child;
  if (o.tty) resizeTo = (s) => c.stdio[3] && (c.stdio[3] as NodeJS.WritableStream).write(`${s.cols} ${s.rows}\n`);
  for (const b of queued.splice(0)) {
    if (b.length === 0) c.stdin?.end();
    else c.stdin?.write(b);
  }
  if (!o.stdin) c.stdin?.end();
  c.stdin?.on('error', () => undefined);
  c.stdout?.on('data', (d: Buffer) => o.stdout && io.stdout(d));
  c.stderr?.on('data', (d: Buffer) =>
    o.tty ? log.debug({ err: d.toString() }, 'pty helper') : o.stderr && io.stderr(d),
  );
  let failure: string | undefined;
  const exit = new Promise<number>((res) => {
    c.on('error', (err) => {
      failure = errorMessage(err);
      res(-1);
    });
    c.on('close', (code, sig) => res(code ?? (sig ? 128 + (signalNumber(sig) ?? 9) : 1)));
  });
  const outcome = await Promise.race([exit, io.closed.then(() => undefined)]);
  if (outcome === undefined) {
    // the client left: end what it started
    if (c.pid) signalGroup(c.pid, 'SIGKILL');
    return;
  }
  io.finish(outcome >= 0 ? exitStatus(outcome, command) : errorStatus(failure ?? 'the command failed'));
}

function start(target: ExecTarget, command: string[], o: StreamOptions, size: TerminalSize | undefined): ChildProcess {
  if (!o.tty) {
    return spawnInContainer(
      target.initPid,
      command,
      { stdio: ['pipe', 'pipe', 'pipe'], detached: true },
      target.capabilities,
    );
  }
  const argv = containerExecArgv(target.initPid, command, target.capabilities);
  const env = { TERM: 'xterm', ...containerEnvironment(target.initPid) };
  return spawnOnPty(argv, size ?? { cols: 0, rows: 0 }, env);
}

function signalNumber(sig: NodeJS.Signals): number | undefined {
  return constants.signals[sig];
}
