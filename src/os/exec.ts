import { spawn } from 'node:child_process';
import { CURRENT_NS, inNs, type NsRef } from './ns.js';

/**
 * The one place skiff starts external programs (ip, nft, conntrack, ...). Always an argv array: never a
 * shell string, so nothing a user typed can become shell syntax.
 */
export interface RunOptions {
  /** Run inside this network namespace (default: the caller's own). */
  ns?: NsRef;
  /** Bytes written to the child's stdin. */
  input?: string;
  /** Kill the child after this long (default 30 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export class ExecError extends Error {
  constructor(
    readonly argv: readonly string[],
    readonly result: RunResult,
  ) {
    super(`${argv.join(' ')}: exit ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`);
    this.name = 'ExecError';
  }
}

/** Run and return the result whatever the exit code. */
export function runRaw(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const full = inNs(opts.ns ?? CURRENT_NS, argv);
  const [cmd, ...args] = full;
  if (!cmd) throw new Error('runRaw: empty argv');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
    child.stdin.on('error', () => undefined); // child may exit before reading everything
    child.stdin.end(opts.input ?? '');
  });
}

/** Run and throw ExecError on a non-zero exit. */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<string> {
  const res = await runRaw(argv, opts);
  if (res.code !== 0) throw new ExecError(inNs(opts.ns ?? CURRENT_NS, argv), res);
  return res.stdout;
}
