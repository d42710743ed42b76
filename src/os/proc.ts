import { existsSync, readFileSync, readlinkSync, statSync } from 'node:fs';

/**
 * Readers of /proc: process identity (start time), children, namespaces and working directory. Each read is
 * a plain file read (no process start) and answers undefined when the process is gone.
 */

/** /proc/PID/stat start time (clock ticks since boot), the pid-reuse-proof half of a process identity.
 * Undefined when the process is gone or a zombie. */
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

/** Resident set size of a process in bytes (VmRSS), undefined when it is gone. */
export function procRssBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export function procExists(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

/** Direct children of a process (its main thread's), oldest first; [] when it is gone. */
export function procChildren(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

/** The network namespace a process lives in, as the kernel names it ("net:[4026531840]"). */
export function procNetnsId(pid: number | 'self'): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return undefined;
  }
}

/** Inode of this process's network namespace (compare with a /run/netns file's inode). */
export function selfNetnsInode(): number | undefined {
  try {
    return statSync('/proc/self/ns/net').ino;
  } catch {
    return undefined;
  }
}

/** A process's working directory. Throws when the process is gone or not ours to read. */
export function procCwd(pid: number): string {
  return readlinkSync(`/proc/${pid}/cwd`);
}
