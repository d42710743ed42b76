import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';

/**
 * A real flock(2) lock from Node without a native addon. flock locks belong to the *open file description*:
 * we open the lock file, hand that same description to util-linux `flock` as fd 3, and let it take the lock
 * and exit. The lock stays held by the description our process still has open, and is released when we close
 * it (or when this process dies, so a crash never leaves a stale lock). Because it is the kernel's flock, it
 * excludes the reference host-local plugin too, which flocks the same `lock` file.
 */
interface FileLock {
  release(): void;
}

async function lockFile(path: string, timeoutMs = 30_000): Promise<FileLock> {
  const fd = openSync(path, 'a');
  try {
    const code = await new Promise<number>((resolve, reject) => {
      const child = spawn('flock', ['--exclusive', '--wait', String(Math.ceil(timeoutMs / 1000)), '3'], {
        stdio: ['ignore', 'ignore', 'pipe', fd],
      });
      let err = '';
      child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
      child.on('error', reject);
      child.on('close', (c) =>
        c === 0 ? resolve(0) : reject(new Error(`flock ${path}: exit ${c}${err ? `: ${err.trim()}` : ''}`)),
      );
    });
    void code;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      closeSync(fd);
    },
  };
}

export async function withFileLock<T>(path: string, fn: () => Promise<T> | T, timeoutMs?: number): Promise<T> {
  const lock = await lockFile(path, timeoutMs);
  try {
    return await fn();
  } finally {
    lock.release();
  }
}
