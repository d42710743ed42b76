import { CniRuntime, type RuntimeConf } from '../runtime/runtime.js';
import type { LoadedList } from '../runtime/config.js';
import { convertResult } from '../spec/convert.js';
import { findInPath, cniEnv, pluginFailure, type PluginExec, spawnExec } from '../invoke.js';
import { type Attachment, versionResultSchema } from '../spec/types.js';
import { CniCode, CniError } from '../errors.js';

/**
 * The verbs of `skiff cni` over skiff's runtime: each returns what the command prints (a JSON value or
 * nothing) and throws the plugin's CniError, which the command prints as the spec's error JSON.
 */
export interface ToolContext {
  runtime: CniRuntime;
  path: string[];
  exec?: PluginExec;
}

export type Verb = 'add' | 'check' | 'del' | 'status' | 'gc' | 'version';

export async function add(ctx: ToolContext, net: LoadedList, att: RuntimeConf): Promise<unknown> {
  const result = await ctx.runtime.addNetworkList(net, att);
  return convertResult(result, net.list.cniVersion);
}

export async function check(ctx: ToolContext, net: LoadedList, att: RuntimeConf): Promise<undefined> {
  await ctx.runtime.checkNetworkList(net, att);
  return undefined;
}

export async function del(ctx: ToolContext, net: LoadedList, att: RuntimeConf): Promise<undefined> {
  await ctx.runtime.delNetworkList(net, att);
  return undefined;
}

/** STATUS needs 1.1.0 lists; an older list cannot say it is not ready, so it is reported as such. */
export async function status(ctx: ToolContext, net: LoadedList): Promise<unknown> {
  await ctx.runtime.getStatusNetworkList(net);
  return { network: net.list.name, cniVersion: net.list.cniVersion, ready: true };
}

export async function gc(ctx: ToolContext, net: LoadedList, valid: Attachment[]): Promise<undefined> {
  await ctx.runtime.gcNetworkList(net, valid);
  return undefined;
}

/** VERSION of every plugin type in the list (or the types given): what each supports. */
export async function version(ctx: ToolContext, types: string[], cniVersion: string): Promise<unknown> {
  const exec = ctx.exec ?? spawnExec;
  const out: Record<string, unknown> = {};
  for (const type of types) {
    const p = findInPath(type, ctx.path);
    const r = await exec.exec(p, cniEnv({ command: 'VERSION', path: ctx.path }), JSON.stringify({ cniVersion }));
    if (r.code !== 0) throw pluginFailure(p, r);
    let parsed: unknown;
    try {
      parsed = JSON.parse(r.stdout);
    } catch {
      throw new CniError(CniCode.DecodingFailure, `plugin ${p} printed no JSON on VERSION`, r.stdout.slice(0, 500));
    }
    const v = versionResultSchema.safeParse(parsed);
    if (!v.success) throw new CniError(CniCode.DecodingFailure, `plugin ${p}: invalid VERSION result`);
    out[type] = v.data;
  }
  return out;
}
