import { existsSync, renameSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Where a container's files live in the pod directory: the CRI-format log of the running (or last) instance,
 * the log of the instance before it (what `kubectl logs --previous` reads), the exit-code file and the root
 * view's scratch directory.
 */
export interface ContainerFiles {
  log: string;
  previousLog: string;
  exit: string;
  scratch: string;
  /** the FIFO behind the container's stdin (spec.stdin) */
  stdin: string;
}

export function containerFiles(podDir: string, container: string): ContainerFiles {
  const dir = join(podDir, 'containers', container);
  return {
    log: join(dir, 'output.log'),
    previousLog: join(dir, 'previous.log'),
    exit: join(dir, 'exit-code'),
    scratch: join(dir, 'rootview'),
    stdin: join(dir, 'stdin'),
  };
}

/** Before a new instance starts: the last instance's log becomes the previous one (only one is kept, as the
 *  kubelet keeps the log of the last terminated instance). */
export function rotateLog(f: ContainerFiles): void {
  if (existsSync(f.log)) renameSync(f.log, f.previousLog);
}
