import { builtinImages } from './index.js';

/**
 * The image catalogue: which image references a skiff node runs, and how. There is no image pull: an image
 * is either a server built into skiff (`skiff image <name>`) or programs the node's setup installs (Debian's
 * busybox-static, curl). Kubernetes' rules for command/args over ENTRYPOINT/CMD apply. docs/cluster.md
 * lists the catalogue; a new image is one entry here.
 */
export type ImageRun =
  | { kind: 'builtin'; name: string; args: string[] }
  | { kind: 'exec'; argv: string[]; pathPrefix?: string[] }
  | { kind: 'unsupported'; message: string };

interface ContainerCmd {
  command?: string[];
  args?: string[];
}

interface CatalogueEntry {
  /** repositories without registry default, tag or digest (`busybox`, `registry.k8s.io/e2e-test-images/agnhost`) */
  repos: string[];
  /** one line for the docs */
  about: string;
  resolve(c: ContainerCmd): ImageRun;
}

/** Where the kubelet links busybox's applets; put first on PATH for the busybox image, as in the image. */
export const BUSYBOX_BIN = '/busybox/bin';

/** Kubernetes: command replaces ENTRYPOINT (and drops CMD), args replace CMD. */
function entrypointCmd(entrypoint: string[], cmd: string[], c: ContainerCmd): string[] {
  if (c.command?.length) return [...c.command, ...(c.args ?? [])];
  return [...entrypoint, ...(c.args ?? cmd)];
}

const builtin =
  (name: string) =>
  (c: ContainerCmd): ImageRun =>
    c.command?.length
      ? { kind: 'exec', argv: [...c.command, ...(c.args ?? [])] }
      : { kind: 'builtin', name, args: c.args ?? [] };

/** agnhost: the first word picks the subcommand; netexec and serve-hostname are built in. */
function agnhost(c: ContainerCmd): ImageRun {
  const argv = entrypointCmd([], [], c);
  const [sub, ...rest] = c.command?.length ? [] : argv;
  if (c.command?.length) return { kind: 'exec', argv };
  if (sub === 'netexec') return { kind: 'builtin', name: 'netexec', args: rest };
  if (sub === 'serve-hostname') return { kind: 'builtin', name: 'serve-hostname', args: rest };
  return {
    kind: 'unsupported',
    message: `agnhost subcommand "${sub ?? ''}" is not available on skiff (netexec and serve-hostname are)`,
  };
}

const catalogue: CatalogueEntry[] = [
  ...Object.keys(builtinImages)
    .filter((n) => n !== 'serve-hostname')
    .map((n) => ({ repos: [`skiff/${n}`], about: `built-in skiff/${n}`, resolve: builtin(n) })),
  {
    repos: ['busybox'],
    about: "Debian's busybox-static: `sh` by default, every applet first on PATH",
    resolve: (c) => ({ kind: 'exec', argv: entrypointCmd([], ['sh'], c), pathPrefix: [BUSYBOX_BIN] }),
  },
  {
    repos: ['curlimages/curl'],
    about: "the node's curl as the entrypoint (`args` are curl's)",
    resolve: (c) => ({ kind: 'exec', argv: entrypointCmd(['curl'], [], c) }),
  },
  {
    repos: [
      'registry.k8s.io/e2e-test-images/agnhost',
      'k8s.gcr.io/e2e-test-images/agnhost',
      'gcr.io/kubernetes-e2e-test-images/agnhost',
    ],
    about: 'agnhost `netexec` (skiff/netexec) and `serve-hostname` (bare hostname on 9376)',
    resolve: agnhost,
  },
  {
    repos: ['registry.k8s.io/serve_hostname', 'k8s.gcr.io/serve_hostname', 'gcr.io/google_containers/serve_hostname'],
    about: 'the bare hostname on 9376',
    resolve: builtin('serve-hostname'),
  },
];

/** "docker.io/library/busybox:1.36@sha256:..." → "busybox" */
export function imageRepository(image: string): string {
  let r = image.trim().replace(/@sha256:[0-9a-f]+$/, '');
  const lastSlash = r.lastIndexOf('/');
  const colon = r.lastIndexOf(':');
  if (colon > lastSlash) r = r.slice(0, colon);
  return r.replace(/^(?:index\.)?docker\.io\//, '').replace(/^library\//, '');
}

/** How to run a container; undefined when its image is not in the catalogue. */
export function resolveImage(image: string, c: ContainerCmd): ImageRun | undefined {
  const repo = imageRepository(image);
  return catalogue.find((e) => e.repos.includes(repo))?.resolve(c);
}
