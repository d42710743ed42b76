import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { removeCgroupsWithPrefix } from '../os/cgroups.js';
import { deleteLabNamespaces } from './network.js';
import { labPaths } from './paths.js';
import { readLab, writeLab } from './state.js';
import { labSupervision, stopLab } from './supervisor.js';

/**
 * `skiff stop`: the lab as after a power-off of every machine. Every process stops (components, then pods
 * with their namespaces), and the state stays: the store and PKI in cp/, each node's kubelet, CNI and IPAM
 * state in nodes/, the logs. `skiff up` on the directory then resumes the same cluster: same prefix, same
 * objects; the kubelets find their pods' sandboxes gone and recreate them, as after a node reboot.
 */
export async function stopLabKeepingState(dir: string): Promise<{ processes: number; namespaces: number }> {
  const lab = readLab(dir);
  if (!lab || lab.phase === 'stopped') return { processes: 0, namespaces: 0 };
  const processes = await stopLab(dir, lab.processes);
  const namespaces = await deleteLabNamespaces(lab.prefix);
  removeCgroupsWithPrefix(lab.prefix);
  const paths = labPaths(dir);
  // what only a running lab has: sockets and pid files, the supervisor's units (rewritten by the next up)
  rmSync(paths.apiSock, { force: true });
  rmSync(labSupervision(dir).dir, { recursive: true, force: true });
  for (const node of safeList(join(dir, 'nodes'))) {
    const socket = paths.cniSocket(node);
    rmSync(socket, { force: true });
    rmSync(`${socket}.pid`, { force: true });
  }
  writeLab({ ...lab, phase: 'stopped', processes: [], namespaces: [] });
  return { processes, namespaces: namespaces.length };
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
