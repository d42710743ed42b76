import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DEFAULT_CAPABILITIES, type RootView, SYSTEM_DIRS, type ViewBind } from '../os/rootview.js';
import type { PodFiles } from './podfiles.js';
import type { Container } from './types.js';

/**
 * What each container sees: the pod's managed /etc files, the skiff install (read-only, at its host path, so
 * built-in images run unchanged), the volumes it mounts, and nothing else of the host.
 */

/** Host paths a built-in image needs: the entry script's directory, the package's node_modules, node itself. */
export function installPaths(imageEntry: string[]): string[] {
  const [nodeBin, script] = imageEntry;
  const out: string[] = [];
  if (script) {
    const dist = dirname(script);
    out.push(dist);
    const modules = join(dirname(dist), 'node_modules');
    if (existsSync(modules)) out.push(modules);
  }
  if (nodeBin) {
    // node outside the system directories (e.g. /opt/node/bin/node): its whole prefix
    const top = nodeBin.split('/')[1] ?? '';
    if (!SYSTEM_DIRS.includes(top)) out.push(dirname(dirname(nodeBin)));
  }
  return out;
}

export function containerView(
  scratch: string,
  files: PodFiles,
  install: string[],
  volumeBinds: ViewBind[] = [],
): RootView {
  return {
    scratch,
    binds: [
      { source: files.hosts, target: '/etc/hosts', readOnly: false, file: true },
      { source: files.hostname, target: '/etc/hostname', readOnly: false, file: true },
      { source: files.resolvConf, target: '/etc/resolv.conf', readOnly: false, file: true },
      ...install.map((p) => ({ source: p, target: p, readOnly: true })),
      ...volumeBinds,
    ],
  };
}

interface SecurityContext {
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
}

const capName = (c: string): string => c.toUpperCase().replace(/^CAP_/, '');

/** The container's capability bounding set (containerd's defaults ± securityContext); undefined = privileged. */
export function containerCapabilities(c: Container): string[] | undefined {
  const sc = (c as { securityContext?: SecurityContext }).securityContext ?? {};
  if (sc.privileged) return undefined;
  const drop = new Set((sc.capabilities?.drop ?? []).map(capName));
  const add = (sc.capabilities?.add ?? []).map(capName);
  if (add.includes('ALL')) return undefined;
  const base = drop.has('ALL') ? [] : DEFAULT_CAPABILITIES.filter((x) => !drop.has(x));
  return [...new Set([...base, ...add])];
}
