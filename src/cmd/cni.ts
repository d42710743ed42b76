import { Command } from 'commander';
import { resolve } from 'node:path';
import { asCniError } from '../cni/errors.js';
import { loadConfFile, type LoadedList } from '../cni/runtime/config.js';
import { CniRuntime } from '../cni/runtime/runtime.js';
import { DEFAULT_CACHE_DIR } from '../cni/runtime/cache.js';
import {
  defaultContainerId,
  exitStatusFor,
  netnsArg,
  parseArgPairs,
  parseCapArgs,
  pluginPath,
} from '../cni/tool/options.js';
import * as verbs from '../cni/tool/verbs.js';
import { addNetns, delNetns, netnsExists } from '../os/netns.js';
import { UserError } from '../util/errors.js';
import { parseArgs } from './parse.js';

/**
 * `skiff cni`: run any CNI plugin chain by hand through skiff's runtime (like cnitool), make throwaway
 * namespaces for it, and hold plugins to the spec (`skiff cni conformance`). Plugins run in the caller's
 * network namespace, as under any runtime; results are cached so CHECK and DEL use what ADD produced.
 */
const USAGE = `Usage: skiff cni <verb> [options]

Verbs:
  add|check|del   run a network's plugin chain for one attachment (--conf FILE --netns NAME|PATH)
  status          STATUS of every plugin of the network (cniVersion 1.1.0)
  gc              GC: delete cached attachments not listed with --valid, then plugin GC (1.1.0)
  version         VERSION of each plugin type of the network (or of the types given)
  netns add|del   make or remove a throwaway network namespace NAME
  conformance     hold a plugin directory to the CNI spec (and compare with a reference directory)

Run 'skiff cni <verb> --help' for a verb's options.
`;

interface CommonOpts {
  conf: string;
  cniBin?: string[];
  cacheDir: string;
}
interface AttachOpts extends CommonOpts {
  netns: string;
  ifname: string;
  containerId?: string;
  cap?: string;
  args?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function common(name: string, description: string): Command {
  return new Command(`skiff cni ${name}`)
    .description(description)
    .requiredOption('--conf <file>', 'network configuration (.conflist, or .conf/.json for one plugin)')
    .option('--cni-bin <dir>', 'plugin directory, repeatable (default: $CNI_PATH, else /opt/cni/bin)', collect)
    .option('--cache-dir <dir>', 'result cache directory', DEFAULT_CACHE_DIR);
}

function attachCommand(verb: string): Command {
  return common(verb, `${verb.toUpperCase()} of a network's plugin chain for one attachment`)
    .requiredOption('--netns <name|path>', 'network namespace: a name under /run/netns or a path')
    .option('--ifname <name>', 'interface name in the namespace', 'eth0')
    .option('--container-id <id>', 'container ID (default: derived from the netns path, as cnitool does)')
    .option('--cap <json>', 'capability args, e.g. \'{"portMappings":[{"hostPort":8080,"containerPort":80}]}\'')
    .option('--args <K=V;...>', 'CNI_ARGS');
}

function load(o: CommonOpts): { net: LoadedList; ctx: verbs.ToolContext } {
  let net: LoadedList;
  try {
    net = loadConfFile(resolve(o.conf));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`skiff cni: no such file ${o.conf}`);
    throw err;
  }
  const path = pluginPath(o.cniBin).map((d) => resolve(d));
  return { net, ctx: { runtime: new CniRuntime({ path, cacheDir: resolve(o.cacheDir) }), path } };
}

function print(value: unknown): void {
  if (value !== undefined) process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

async function attachVerb(verb: 'add' | 'check' | 'del', argv: string[]): Promise<void> {
  const cmd = attachCommand(verb);
  if (!parseArgs(cmd, argv)) return;
  const o = cmd.opts<AttachOpts>();
  const { net, ctx } = load(o);
  const netns = netnsArg(o.netns);
  const att = {
    containerId: o.containerId ?? defaultContainerId(netns),
    netns,
    ifname: o.ifname,
    args: parseArgPairs(o.args),
    capabilityArgs: parseCapArgs(o.cap),
  };
  print(await verbs[verb](ctx, net, att));
}

async function statusVerb(argv: string[]): Promise<void> {
  const cmd = common('status', 'STATUS of every plugin of a network (needs cniVersion 1.1.0)');
  if (!parseArgs(cmd, argv)) return;
  const { net, ctx } = load(cmd.opts<CommonOpts>());
  print(await verbs.status(ctx, net));
}

async function gcVerb(argv: string[]): Promise<void> {
  const cmd = common('gc', 'GC of a network: every cached attachment not listed with --valid is deleted').option(
    '--valid <containerID/ifname>',
    'an attachment to keep, repeatable',
    collect,
  );
  if (!parseArgs(cmd, argv)) return;
  const o = cmd.opts<CommonOpts & { valid?: string[] }>();
  const valid = (o.valid ?? []).map((v) => {
    const i = v.lastIndexOf('/');
    if (i <= 0 || i === v.length - 1) throw new UserError(`skiff cni gc: --valid ${v}: expected containerID/ifname`, 2);
    return { containerID: v.slice(0, i), ifname: v.slice(i + 1) };
  });
  const { net, ctx } = load(o);
  print(await verbs.gc(ctx, net, valid));
}

async function versionVerb(argv: string[]): Promise<void> {
  const cmd = new Command('skiff cni version')
    .description('VERSION of each plugin type of --conf, or of the types given')
    .argument('[types...]', 'plugin types (executables in the plugin directories)')
    .option('--conf <file>', 'network configuration whose plugin types to ask')
    .option('--cni-bin <dir>', 'plugin directory, repeatable (default: $CNI_PATH, else /opt/cni/bin)', collect);
  if (!parseArgs(cmd, argv)) return;
  const o = cmd.opts<{ conf?: string; cniBin?: string[] }>();
  const path = pluginPath(o.cniBin).map((d) => resolve(d));
  let types = cmd.args;
  let cniVersion = '1.1.0';
  if (o.conf) {
    const net = loadConfFile(resolve(o.conf));
    types = [...new Set([...types, ...net.list.plugins.map((p) => p.type)])];
    cniVersion = net.list.cniVersion;
  }
  if (!types.length) throw new UserError('skiff cni version: give --conf FILE or plugin types', 2);
  print(await verbs.version({ runtime: new CniRuntime({ path }), path }, types, cniVersion));
}

async function netnsVerb(argv: string[]): Promise<void> {
  const cmd = new Command('skiff cni netns')
    .description('make or remove a throwaway network namespace (under /run/netns) to attach plugins to')
    .argument('<add|del>')
    .argument('<name>');
  if (!parseArgs(cmd, argv)) return;
  const [op, name] = cmd.args as [string, string];
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name)) throw new UserError(`skiff cni netns: invalid name ${name}`, 2);
  if (op === 'add') {
    if (netnsExists(name)) throw new UserError(`skiff cni netns add: ${name} exists`);
    await addNetns(name);
    process.stdout.write(`/run/netns/${name}\n`);
  } else if (op === 'del') {
    await delNetns(name);
  } else throw new UserError(`skiff cni netns: unknown operation ${op} (add or del)`, 2);
}

const VERBS: Record<string, (argv: string[]) => Promise<void>> = {
  add: (a) => attachVerb('add', a),
  check: (a) => attachVerb('check', a),
  del: (a) => attachVerb('del', a),
  status: statusVerb,
  gc: gcVerb,
  version: versionVerb,
  netns: netnsVerb,
  conformance: async (a) => (await import('../cni/conformance/command.js')).main(a),
};

export async function main(argv: string[]): Promise<void> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  const run = VERBS[verb];
  if (!run) throw new UserError(`skiff cni: unknown verb "${verb}" (see 'skiff cni --help')`, 2);
  try {
    await run(rest);
  } catch (err) {
    if (err instanceof UserError) throw err;
    // The plugin's (or runtime's) CNI error: the spec's JSON on stdout, one line on stderr, its code as status.
    const e = asCniError(err);
    process.stdout.write(`${JSON.stringify(e.toJSON(), null, 2)}\n`);
    throw new UserError(
      `skiff cni ${verb}: ${e.message}${e.details ? ` (${e.details})` : ''}`,
      exitStatusFor(Number(e.code)),
    );
  }
}
