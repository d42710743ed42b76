import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { Command } from 'commander';
import { UserError } from '../util/errors.js';
import { netnsExists } from '../os/netns.js';
import { ApiClient, isStatus } from '../kubelet/api.js';
import { podNetnsName } from '../kubelet/pod.js';
import { nsName } from '../lab/addressing.js';
import { labPaths } from '../lab/paths.js';
import { DEFAULT_STATE_DIR, readLab, type LabState } from '../lab/state.js';
import { parseArgs } from './parse.js';

/** Resolve an exec target to a namespace name: node1|cp|client|underlay, pod/NAME (default ns) or NS/POD. */
export async function resolveTarget(lab: LabState, target: string): Promise<string> {
  if (!target.includes('/')) {
    const ns = nsName(lab.prefix, target);
    if (!netnsExists(ns)) throw new UserError(`no namespace "${target}" in lab ${lab.prefix} (try node1..node${lab.nodes}, cp, client, underlay, pod/NAME, NS/POD)`, 2);
    return ns;
  }
  const [a, b] = target.split('/', 2) as [string, string];
  const [namespace, name] = a === 'pod' || a === 'pods' ? ['default', b] : [a, b];
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
  return ns;
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
  if (command.length === 0) throw new UserError('skiff exec: give the command after --, e.g. skiff exec node1 -- ip addr', 2);
  const dir = resolve(cmd.opts<{ stateDir: string }>().stateDir);
  const lab = readLab(dir);
  if (!lab) throw new UserError(`no lab in ${dir} (run skiff up)`, 2);
  const ns = await resolveTarget(lab, cmd.args[0] as string);
  const child = spawn('nsenter', [`--net=/run/netns/${ns}`, '--', ...command], { stdio: 'inherit' });
  const code = await new Promise<number>((res) => {
    child.on('error', () => res(127));
    child.on('close', (c, sig) => res(c ?? (sig ? 128 : 1)));
  });
  process.exitCode = code;
}
