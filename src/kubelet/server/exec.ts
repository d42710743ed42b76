import { constants } from 'node:os';
import type { ChildProcess } from 'node:child_process';
import type { WebSocket } from 'ws';
import { containerEnvironment, containerExecArgv, spawnInContainer } from '../../os/container.js';
import { spawnOnPty } from '../../os/pty.js';
import { signalGroup } from '../../os/process.js';
import type { Logger } from '../../util/log.js';
import { errorMessage } from '../../util/errors.js';
import { CH, errorStatus, exitStatus, parseResize, send, type TerminalSize } from './channels.js';

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
  ws: WebSocket,
  protocol: string,
  target: ExecTarget,
  command: string[],
  o: StreamOptions,
  log: Logger,
): Promise<void> {
  const queued: Buffer[] = [];
  let child: ChildProcess | undefined;
  let resizeTo: ((s: TerminalSize) => void) | undefined;
  let firstSize: ((s: TerminalSize) => void) | undefined;
  const v5 = protocol.startsWith('v5.');
  ws.on('message', (raw: Buffer, isBinary) => {
    if (!isBinary || raw.length === 0) return;
    const ch = raw[0]!;
    const payload = raw.subarray(1);
    if (ch === CH.resize && o.tty) {
      const size = parseResize(payload);
      if (size) (firstSize ?? resizeTo)?.(size);
    } else if (ch === CH.stdin && o.stdin) {
      if (child?.stdin) child.stdin.write(payload);
      else queued.push(Buffer.from(payload));
    } else if (ch === CH.close && v5 && payload[0] === CH.stdin) {
      if (child?.stdin) child.stdin.end();
      else queued.push(Buffer.alloc(0));
    }
  });
  const closed = new Promise<void>((r) => ws.once('close', () => r()));
  let size: TerminalSize | undefined;
  if (o.tty) {
    size = await Promise.race([
      new Promise<TerminalSize>((r) => (firstSize = r)),
      new Promise<undefined>((r) => setTimeout(() => r(undefined), FIRST_SIZE_WAIT_MS)),
      closed.then(() => undefined),
    ]);
    firstSize = undefined;
  }
  if (ws.readyState !== ws.OPEN) return;
  try {
    child = start(target, command, o, size);
  } catch (err) {
    send(ws, CH.error, JSON.stringify(errorStatus(errorMessage(err))));
    ws.close(1000);
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
  c.stdout?.on('data', (d: Buffer) => o.stdout && send(ws, CH.stdout, d));
  c.stderr?.on('data', (d: Buffer) =>
    o.tty ? log.debug({ err: d.toString() }, 'pty helper') : o.stderr && send(ws, CH.stderr, d),
  );
  const exit = new Promise<number>((res) => {
    c.on('error', (err) => {
      send(ws, CH.error, JSON.stringify(errorStatus(errorMessage(err))));
      res(-1);
    });
    c.on('close', (code, sig) => res(code ?? (sig ? 128 + (signalNumber(sig) ?? 9) : 1)));
  });
  const outcome = await Promise.race([exit, closed.then(() => undefined)]);
  if (outcome === undefined) {
    // the client left: end what it started
    if (c.pid) signalGroup(c.pid, 'SIGKILL');
    return;
  }
  if (outcome >= 0) send(ws, CH.error, JSON.stringify(exitStatus(outcome, command)));
  ws.close(1000);
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
