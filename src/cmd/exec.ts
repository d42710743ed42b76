import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { UserError } from '../util/errors.js';
import { spawnInContainer, spawnInNetns, waitForView } from '../os/container.js';
import { netnsExists, netnsPath } from '../os/netns.js';
import { procChildren, procExists } from '../os/proc.js';
import { ApiClient, isStatus } from '../kubelet/api.js';
import { podNetnsName } from '../kubelet/pod.js';
import { podStateSchema } from '../kubelet/state.js';
import { nsName } from '../lab/addressing.js';
import { labPaths } from '../lab/paths.js';
import { DEFAULT_STATE_DIR, readLab, type LabState } from '../lab/state.js';
import { parseArgs } from './parse.js';

/**
 * Where a command runs: a lab namespace by name, or, for a pod whose container is running, that container's
 * process (so the command also sees the pod's hostname, IPC and PID namespaces, as `kubectl exec` would).
 */
export interface ExecTarget {
  netns: string;
  /** a process of the pod's first running container */
  pid?: number;
}

/** The pid of a pod's running container, from the kubelet's state file: its pid-namespace init if any. */
function containerPid(lab: LabState, nodeName: string, uid: string): number | undefined {
  const file = join(labPaths(lab.stateDir).node(nodeName), 'kubelet', 'pods', uid, 'state.json');
  if (!existsSync(file)) return undefined;
  const parsed = podStateSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  if (!parsed.success) return undefined;
  for (const c of Object.values(parsed.data.containers)) {
    const pid = c.handle?.pid;
    if (!pid || !procExists(pid)) continue;
    // The recorded process is `unshare`; its first child is pid 1 of the container's PID namespace.
    return procChildren(pid)[0] ?? pid;
  }
  return undefined;
}

/** Resolve an exec target: node1|cp|client|underlay, pod/NAME (default ns) or NS/POD. */
export async function resolveTarget(lab: LabState, target: string): Promise<ExecTarget> {
  if (!target.includes('/')) {
    const ns = nsName(lab.prefix, target);
    if (!netnsExists(ns))
      throw new UserError(
        `no namespace "${target}" in lab ${lab.prefix} (try node1..node${lab.nodes}, cp, client, underlay, pod/NAME, NS/POD)`,
        2,
      );
    return { netns: ns };
  }
  const [a, b] = target.split('/', 2) as [string, string];
  const [namespace, name] = a === 'pod' || a === 'pods' ? ['default', b] : [a, b];
  if (!namespace || !name)
    throw new UserError(`skiff exec: give a pod name: pod/NAME or NAMESPACE/NAME, not "${target}"`, 2);
  const api = new ApiClient(labPaths(lab.stateDir).adminKubeconfig);
  let pod: { metadata: { uid: string }; spec?: { nodeName?: string } };
  try {
    pod = await api.request('GET', `/api/v1/namespaces/${namespace}/pods/${name}`);
  } catch (err) {
    if (isStatus(err, 404)) throw new UserError(`pod ${namespace}/${name} not found`, 2);
    throw err;
  }
  if (!pod.spec?.nodeName) throw new UserError(`pod ${namespace}/${name} is not scheduled yet`, 2);
  const ns = podNetnsName(nsName(lab.prefix, pod.spec.nodeName), pod.metadata.uid);
  if (!netnsExists(ns)) throw new UserError(`pod ${namespace}/${name} has no sandbox yet (${ns})`, 2);
  const node = pod.spec.nodeName;
  const uid = pod.metadata.uid;
  if (containerPid(lab, node, uid) === undefined) return { netns: ns };
  // a container that just started may still be building its root view: wait for it (bounded)
  return { netns: ns, pid: await waitForView(() => containerPid(lab, node, uid)) };
}

export async function main(argv: string[]): Promise<void> {
  const dash = argv.indexOf('--');
  const own = dash >= 0 ? argv.slice(0, dash) : argv;
  const command = dash >= 0 ? argv.slice(dash + 1) : [];
  const cmd = new Command('skiff exec')
    .description('run a command inside a lab namespace')
    .usage('[--state-dir DIR] <node1|cp|client|underlay|pod/NAME|NS/POD> -- CMD [ARGS...]')
    .option('--state-dir <dir>', 'lab state directory', DEFAULT_STATE_DIR)
    .argument('<target>');
  if (!parseArgs(cmd, own)) return;
  if (command.length === 0)
    throw new UserError('skiff exec: give the command after --, e.g. skiff exec node1 -- ip addr', 2);
  const dir = resolve(cmd.opts<{ stateDir: string }>().stateDir);
  const lab = readLab(dir);
  if (!lab) throw new UserError(`no lab in ${dir} (run skiff up)`, 2);
  const t = await resolveTarget(lab, cmd.args[0] as string);
  const child = t.pid
    ? spawnInContainer(t.pid, command, { stdio: 'inherit' })
    : spawnInNetns(netnsPath(t.netns), command, { stdio: 'inherit' });
  const code = await new Promise<number>((res) => {
    child.on('error', () => res(127));
    child.on('close', (c, sig) => res(c ?? (sig ? 128 : 1)));
  });
  process.exitCode = code;
}
