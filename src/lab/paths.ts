import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Where the running skiff lives: dist/skiff.mjs and the repo root (for scripts/provision and plugins/bin). */
export function skiffScript(): string {
  // SKIFF_JS lets library users (tests, benchmarks) point at the built CLI when argv[1] is something else
  const s = process.env.SKIFF_JS ?? process.argv[1];
  if (!s) throw new Error('cannot locate the skiff entry script');
  return resolve(s);
}

function repoRoot(): string {
  return dirname(dirname(skiffScript()));
}

export function provisionScript(name: string): string {
  return join(repoRoot(), 'scripts', 'provision', `${name}.sh`);
}

/** The repo's plugins/bin (the build `skiff up` copies into the lab). */
export function ourPluginsDir(): string {
  return join(repoRoot(), 'plugins', 'bin');
}

/** Our plugins when built (bridge + host-local at least), else Debian's reference plugins. */
export function cniBinDir(): string {
  const ours = ourPluginsDir();
  if (existsSync(join(ours, 'bridge')) && existsSync(join(ours, 'host-local'))) {
    return existsSync('/usr/lib/cni') ? `${ours}:/usr/lib/cni` : ours;
  }
  return '/usr/lib/cni';
}

/** 1.1.0 (plugin GC with valid attachments) when our plugins come first, else what the reference ones speak. */
export function cniVersionFor(binDir: string): string {
  return binDir.startsWith(join(repoRoot(), 'plugins', 'bin')) ? '1.1.0' : '1.0.0';
}

export interface LabPaths {
  dir: string;
  logs: string;
  cp: string;
  node(name: string): string;
  adminKubeconfig: string;
  apiSock: string;
  /** the lab's private copy of plugins/bin (see plugins.ts) */
  cniBin: string;
  /** a node's skiff-cnid socket (its pid file is `<socket>.pid`); per node, as all nodes share this filesystem */
  cniSocket(name: string): string;
}

export function labPaths(dir: string): LabPaths {
  return {
    dir,
    logs: join(dir, 'logs'),
    cp: join(dir, 'cp'),
    node: (name) => join(dir, 'nodes', name),
    adminKubeconfig: join(dir, 'admin.kubeconfig'),
    apiSock: join(dir, 'api.sock'),
    cniBin: join(dir, 'cni-bin'),
    cniSocket: (name) => join(dir, 'nodes', name, 'cni.sock'),
  };
}
