import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { runRaw } from '../os/exec.js';
import { CniCode, CniError } from './errors.js';
import { parseResult } from './spec/convert.js';
import { errorResultSchema, type Result } from './spec/types.js';

/**
 * Calling a CNI plugin executable: used by plugins to delegate (bridge → IPAM) and by the runtime to run
 * a chain. The `PluginExec` seam is the only place a process is started, so tests can record calls.
 */
export interface PluginExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PluginExec {
  exec(pluginPath: string, env: Record<string, string>, stdin: string): Promise<PluginExecResult>;
}

/** Real use: spawn the executable with the CNI environment and the config on stdin. */
export const spawnExec: PluginExec = {
  exec(pluginPath, env, stdin) {
    const full: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('CNI_')) full[k] = v;
    return runRaw([pluginPath], { env: { ...full, ...env }, input: stdin, timeoutMs: 60_000 });
  },
};

/**
 * Exec for delegates that passes on the *caller's* environment (CniArgs.env) instead of this process's:
 * the same thing in a plugin process, but not in skiff-cnid, which serves many callers.
 */
export function callerExec(callerEnv: NodeJS.ProcessEnv | undefined): PluginExec | undefined {
  if (!callerEnv) return undefined;
  const base: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(callerEnv)) if (!k.startsWith('CNI_')) base[k] = v;
  return { exec: (p, env, stdin) => runRaw([p], { env: { ...base, ...env }, input: stdin, timeoutMs: 60_000 }) };
}

/** First executable named `type` on the path list (like invoke.FindInPath). */
export function findInPath(type: string, paths: readonly string[]): string {
  if (!type || type.includes('/'))
    throw new CniError(CniCode.InvalidNetworkConfig, `invalid plugin type ${JSON.stringify(type)}`);
  if (!paths.length) throw new CniError(CniCode.InvalidEnvironment, 'CNI_PATH is empty');
  for (const dir of paths) {
    const p = join(dir, type);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      /* next dir */
    }
  }
  throw new CniError(CniCode.PluginNotAvailable, `failed to find plugin "${type}" in path [${paths.join(' ')}]`);
}

export type InvokeCommand = 'ADD' | 'DEL' | 'CHECK' | 'GC' | 'STATUS' | 'VERSION';

export interface InvokeArgs {
  command: InvokeCommand;
  containerId?: string;
  netns?: string;
  ifname?: string;
  /** CNI_ARGS, either the raw "K=V;K=V" string or pairs. */
  args?: string | Record<string, string>;
  path: readonly string[];
}

export function cniEnv(a: InvokeArgs): Record<string, string> {
  const env: Record<string, string> = { CNI_COMMAND: a.command, CNI_PATH: a.path.join(':') };
  if (a.containerId) env.CNI_CONTAINERID = a.containerId;
  if (a.netns) env.CNI_NETNS = a.netns;
  if (a.ifname) env.CNI_IFNAME = a.ifname;
  const args =
    typeof a.args === 'string'
      ? a.args
      : Object.entries(a.args ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(';');
  if (args) env.CNI_ARGS = args;
  return env;
}

/** Turn a failed plugin run into a CniError: the spec's error JSON when it printed one, else stderr. */
export function pluginFailure(pluginPath: string, r: PluginExecResult): CniError {
  try {
    const e = errorResultSchema.safeParse(JSON.parse(r.stdout));
    if (e.success) return new CniError(e.data.code, e.data.msg, e.data.details);
  } catch {
    /* not JSON */
  }
  const text = (r.stderr.trim() || r.stdout.trim()).slice(0, 2000);
  return new CniError(CniCode.Unknown, `plugin ${pluginPath} failed (exit ${r.code})${text ? `: ${text}` : ''}`);
}

/**
 * Run a plugin executable with `conf` on stdin. ADD resolves to the result (parsed from the config's
 * cniVersion into the 1.x shape); other commands resolve to undefined. Failure → CniError.
 */
export async function execPlugin(
  pluginPath: string,
  conf: Record<string, unknown>,
  a: InvokeArgs,
  exec: PluginExec = spawnExec,
): Promise<Result | undefined> {
  const r = await exec.exec(pluginPath, cniEnv(a), JSON.stringify(conf));
  if (r.code !== 0) throw pluginFailure(pluginPath, r);
  if (a.command !== 'ADD') return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(r.stdout);
  } catch {
    throw new CniError(
      CniCode.DecodingFailure,
      `plugin ${pluginPath} printed no JSON result on ADD`,
      r.stdout.slice(0, 500),
    );
  }
  const version =
    typeof (raw as { cniVersion?: unknown }).cniVersion === 'string'
      ? (raw as { cniVersion: string }).cniVersion
      : String(conf.cniVersion);
  return parseResult(raw, version);
}

/** The delegate helpers a plugin uses for its `ipam` (reference: pkg/invoke DelegateAdd/Del/Check). */
export interface DelegateCtx {
  containerId: string;
  netns: string;
  ifname: string;
  args: Record<string, string>;
  path: readonly string[];
}

async function delegate(
  command: InvokeCommand,
  type: string,
  conf: Record<string, unknown>,
  ctx: DelegateCtx,
  exec?: PluginExec,
): Promise<Result | undefined> {
  const p = findInPath(type, ctx.path);
  return execPlugin(
    p,
    conf,
    { command, containerId: ctx.containerId, netns: ctx.netns, ifname: ctx.ifname, args: ctx.args, path: ctx.path },
    exec,
  );
}

export async function delegateAdd(
  type: string,
  conf: Record<string, unknown>,
  ctx: DelegateCtx,
  exec?: PluginExec,
): Promise<Result> {
  const r = await delegate('ADD', type, conf, ctx, exec);
  if (!r) throw new CniError(CniCode.Unknown, `delegate ${type} returned no result`);
  return r;
}

export async function delegateDel(
  type: string,
  conf: Record<string, unknown>,
  ctx: DelegateCtx,
  exec?: PluginExec,
): Promise<void> {
  await delegate('DEL', type, conf, ctx, exec);
}

export async function delegateCheck(
  type: string,
  conf: Record<string, unknown>,
  ctx: DelegateCtx,
  exec?: PluginExec,
): Promise<void> {
  await delegate('CHECK', type, conf, ctx, exec);
}

/** STATUS of a delegate (1.1.0): resolves when it can serve ADDs, else its CniError (50/51). */
export async function delegateStatus(
  type: string,
  conf: Record<string, unknown>,
  ctx: Pick<DelegateCtx, 'path'>,
  exec?: PluginExec,
): Promise<void> {
  await execPlugin(findInPath(type, ctx.path), conf, { command: 'STATUS', path: ctx.path }, exec);
}

export async function delegateGc(
  type: string,
  conf: Record<string, unknown>,
  ctx: Pick<DelegateCtx, 'path'>,
  exec?: PluginExec,
): Promise<void> {
  const p = findInPath(type, ctx.path);
  await execPlugin(p, conf, { command: 'GC', path: ctx.path }, exec);
}
