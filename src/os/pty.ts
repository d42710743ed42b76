import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';

/**
 * A command on a pseudo-terminal, for `kubectl exec -t` / `attach -t`: a small helper written with python3's
 * pty module (Debian's python3; no native npm module is needed). The helper opens the pty, sets the initial
 * window size on it before the command starts (so `stty size` is right from the first prompt), runs the
 * command as the session leader on the slave side, and relays: its stdin to the pty, the pty to its stdout,
 * and "COLS ROWS" lines read on fd 3 to TIOCSWINSZ (the kernel then sends SIGWINCH to the foreground
 * group). It exits with the command's exit code (128+N for a signal).
 */
const HELPER = String.raw`
import fcntl, os, pty, select, signal, struct, sys, termios
cols, rows = int(sys.argv[1]), int(sys.argv[2])
argv = sys.argv[3:]
def winsize(fd, c, r):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', r, c, 0, 0))
pid, master = pty.fork()
if pid == 0:
    if cols > 0 and rows > 0:
        winsize(0, cols, rows)
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        os.write(2, ('exec %s: %s\r\n' % (argv[0], e.strerror)).encode())
        os._exit(127)
signal.signal(signal.SIGPIPE, signal.SIG_DFL)
ins = [0, 3, master]
pending = b''
status = None
while True:
    try:
        r, _, _ = select.select(ins, [], [], 0.2)
    except InterruptedError:
        continue
    if status is not None and not r:
        break
    if master in r:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b''
        if not data:
            break
        os.write(1, data)
    if 0 in r:
        data = os.read(0, 65536)
        if data:
            os.write(master, data)
        else:
            ins.remove(0)
            os.write(master, b'\x04')
    if 3 in r:
        data = os.read(3, 4096)
        if not data:
            ins.remove(3)
        pending += data
        while b'\n' in pending:
            line, pending = pending.split(b'\n', 1)
            try:
                c, rr = (int(x) for x in line.split())
                winsize(master, c, rr)
            except ValueError:
                pass
    if status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            ins = [master]
if status is None:
    _, status = os.waitpid(pid, 0)
code = os.waitstatus_to_exitcode(status)
sys.exit(128 - code if code < 0 else code)
`;

/** Debian's python3 by absolute path (a pyenv shim or a container PATH must not decide which one runs). */
function python(): string {
  return ['/usr/bin/python3', '/bin/python3'].find((p) => existsSync(p)) ?? 'python3';
}

/**
 * Run argv on a new pty of size cols x rows. stdio: [stdin, pty output, helper errors, resize lines]; write
 * `${cols} ${rows}\n` to stdio[3] to resize.
 */
export function spawnOnPty(argv: string[], size: { cols: number; rows: number }, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(python(), ['-c', HELPER, String(size.cols), String(size.rows), ...argv], {
    stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
    env,
  });
}
