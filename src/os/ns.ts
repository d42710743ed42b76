import { basename, dirname } from 'node:path';

/**
 * The one way src/os names a network namespace. A namespace is the caller's own (`current`), a named one
 * (iproute2's /run/netns/NAME, reached with `ip -n` / `ip netns exec`), or any other namespace file such as
 * /proc/PID/ns/net (reached with `nsenter --net=PATH`). Every src/os function that touches a namespace takes
 * an NsRef and builds its argv through the helpers below, so no caller ever spells `ip -n` or `nsenter`.
 */
export type NsRef = { kind: 'current' } | { kind: 'named'; name: string } | { kind: 'path'; path: string };

/** Named network namespaces, as iproute2 keeps them. */
export const NETNS_DIR = '/run/netns';

export const CURRENT_NS: NsRef = { kind: 'current' };

export function namedNs(name: string): NsRef {
  if (!/^[A-Za-z0-9_.-]+$/.test(name)) throw new Error(`invalid netns name ${JSON.stringify(name)}`);
  return { kind: 'named', name };
}

/** A component's optional `netns` setting: a named namespace, or the process's own when unset. */
export function nsOf(name: string | undefined): NsRef {
  return name ? namedNs(name) : CURRENT_NS;
}

/** NsRef for a CNI_NETNS-style path (a file under /run/netns becomes the named namespace). */
export function nsFromPath(path: string): NsRef {
  const dir = dirname(path);
  if (dir === NETNS_DIR || dir === '/var/run/netns') return { kind: 'named', name: basename(path) };
  return { kind: 'path', path };
}

/** The namespace file (undefined for the current namespace). */
function nsFile(ns: NsRef): string | undefined {
  switch (ns.kind) {
    case 'current':
      return undefined;
    case 'named':
      return `${NETNS_DIR}/${ns.name}`;
    case 'path':
      return ns.path;
  }
}

/** For messages: "netns NAME", "netns /proc/1/ns/net" or "the current netns". */
export function describeNs(ns: NsRef): string {
  return ns.kind === 'current' ? 'the current netns' : `netns ${nsFile(ns)}`;
}

/** argv that runs `ip ARGS` in ns. */
export function ipArgv(ns: NsRef, args: readonly string[]): string[] {
  switch (ns.kind) {
    case 'current':
      return ['ip', ...args];
    case 'named':
      return ['ip', '-n', ns.name, ...args];
    case 'path':
      return ['nsenter', `--net=${ns.path}`, 'ip', ...args];
  }
}

/** argv that runs `bridge ARGS` in ns. */
export function bridgeArgv(ns: NsRef, args: readonly string[]): string[] {
  return ns.kind === 'named' ? ['bridge', '-n', ns.name, ...args] : inNs(ns, ['bridge', ...args]);
}

/** argv that runs any command in ns (nft, sysctl, conntrack, a CNI plugin, ...). */
export function inNs(ns: NsRef, argv: readonly string[]): string[] {
  switch (ns.kind) {
    case 'current':
      return [...argv];
    case 'named':
      return ['ip', 'netns', 'exec', ns.name, ...argv];
    case 'path':
      return ['nsenter', `--net=${ns.path}`, ...argv];
  }
}

/**
 * argv that runs a long-lived program in ns with `nsenter --net` (pid kept, the host's mount namespace kept:
 * `ip netns exec` would give it a private one, in which the mounts it makes would stay invisible).
 */
export function nsenterArgv(ns: NsRef, argv: readonly string[]): string[] {
  const file = nsFile(ns);
  return file ? ['nsenter', `--net=${file}`, '--', ...argv] : [...argv];
}
