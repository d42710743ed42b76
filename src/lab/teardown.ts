import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { removeCgroupsWithPrefix } from '../os/cgroups.js';
import { deleteLabNamespaces } from './network.js';
import { labFile, readLab, type LabState } from './state.js';
import { labSupervision, stopLab } from './supervisor.js';
import { labPaths } from './paths.js';

/**
 * Remove a lab: the supervisor and its components (kubelets first so they do not recreate anything,
 * forwarders last; any component a crashed supervisor left running), every process still inside a lab
 * namespace, every namespace with the lab prefix (pods included), the pods' cgroups, the forwarder socket,
 * the skiff-cnid sockets, the lab's plugin copy, the supervisor's files and the runtime state. Logs stay
 * for post-mortems.
 * Idempotent; works from lab.json alone after a crash.
 */
export interface TeardownReport {
  prefix?: string;
  processes: number;
  namespaces: string[];
}

export async function teardown(dir: string): Promise<TeardownReport> {
  let lab: LabState | undefined;
  try {
    lab = readLab(dir);
  } catch (err) {
    throw new Error(
      `${labFile(dir)} is unreadable (${(err as Error).message}); remove the lab by hand or fix the file`,
      { cause: err },
    );
  }
  if (!lab) return { processes: 0, namespaces: [] };
  const processes = await stopLab(dir, lab.processes);
  const namespaces = await deleteLabNamespaces(lab.prefix);
  removeCgroupsWithPrefix(lab.prefix);
  const paths = labPaths(dir);
  // nodes/ holds each node's skiff-cnid socket and pid file (left behind when the daemon was SIGKILLed)
  for (const f of [
    paths.apiSock,
    paths.adminKubeconfig,
    paths.cniBin,
    labSupervision(dir).dir,
    join(dir, 'cp'),
    join(dir, 'nodes'),
    join(dir, 'demo'),
  ]) {
    rmSync(f, { recursive: true, force: true });
  }
  rmSync(labFile(dir), { force: true });
  return { prefix: lab.prefix, processes, namespaces };
}
