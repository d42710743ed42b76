import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Lab } from './lab.js';

export interface RunningCnid {
  child: ChildProcess;
  /** everything it has logged so far (one line per served call) */
  log(): string;
}

/**
 * Start a resident skiff-cnid from `binDir` inside lab namespace `netns`, listening on `socket`; resolves once
 * its pid file exists (bounded wait). The lab stops it on cleanup.
 */
export async function startCnid(lab: Lab, netns: string, binDir: string, socket: string): Promise<RunningCnid> {
  const child = spawn('ip', ['netns', 'exec', netns, join(binDir, 'skiff-cnid'), '--socket', socket], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let text = '';
  child.stderr?.on('data', (b: Buffer) => (text += b.toString()));
  lab.onCleanup(async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5_000))]);
  });
  const deadline = Date.now() + 30_000;
  while (!existsSync(`${socket}.pid`)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`skiff-cnid did not start: ${text.trim()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, log: () => text };
}
