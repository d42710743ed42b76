import { readFileSync } from 'node:fs';
import type { z } from 'zod';
import { asCniError, CniCode, CniError } from './errors.js';
import { convertResult, issuesText, parseResult } from './spec/convert.js';
import { type Attachment, attachmentSchema, type NetConf, type Result, VALID_ATTACHMENTS_KEY } from './spec/types.js';
import { CURRENT_VERSION, SUPPORTED_VERSIONS, versionAtLeast } from './spec/version.js';

/**
 * The CNI protocol side of every plugin: environment → validated arguments, stdin → validated config,
 * version negotiation, prevResult parsing, dispatch, result conversion back to the config's version, and
 * the mapping of failures to the spec's error JSON and exit code. A plugin only supplies its networking logic.
 */
type CniCommand = 'ADD' | 'DEL' | 'CHECK' | 'VERSION' | 'GC' | 'STATUS';
const COMMANDS: readonly string[] = ['ADD', 'DEL', 'CHECK', 'VERSION', 'GC', 'STATUS'];

export interface CniArgs {
  command: CniCommand;
  containerId: string;
  /** Path of the container's network namespace ("" for DEL/GC/STATUS when not given). */
  netns: string;
  ifname: string;
  /** CNI_ARGS parsed from "K1=V1;K2=V2". */
  args: Record<string, string>;
  /** CNI_PATH split on ':'. */
  path: string[];
  /** Raw stdin (the runtime passes the same bytes on to delegates). */
  stdin: string;
  /** The caller's whole environment (a resident daemon serves many callers; process.env is its own). */
  env?: NodeJS.ProcessEnv;
  /** Path of the executable the runtime invoked (to recognise sibling plugins); default process.argv[1]. */
  self?: string;
}

/** The config a plugin's handlers receive: schema-parsed, with prevResult already in the 1.x shape. */
export type PluginConf<C> = C & { prevResult?: Result };

export interface CniPlugin<C extends NetConf = NetConf> {
  /** Used in the about text (`<name> CNI plugin`). */
  name: string;
  /** Versions this plugin accepts; default SUPPORTED_VERSIONS (0.3.0 to 1.1.0). */
  versions?: readonly string[];
  confSchema: z.ZodType<C, z.ZodTypeDef, unknown>;
  add(args: CniArgs, conf: PluginConf<C>): Promise<Result>;
  del(args: CniArgs, conf: PluginConf<C>): Promise<void>;
  check?(args: CniArgs, conf: PluginConf<C>): Promise<void>;
  /** Remove whatever this plugin holds for attachments not in `valid`. */
  gc?(args: CniArgs, conf: PluginConf<C>, valid: Attachment[]): Promise<void>;
  /** Throw CniError(50/51) when the plugin cannot currently serve ADDs. */
  status?(args: CniArgs, conf: PluginConf<C>): Promise<void>;
}

export interface PluginIo {
  env: NodeJS.ProcessEnv;
  readStdin(): string;
  stdout(text: string): void;
  stderr(text: string): void;
  /** Path of the invoked plugin executable, when not this process's own script. */
  self?: string;
}

const defaultIo: PluginIo = {
  env: process.env,
  readStdin: () => {
    try {
      return readFileSync(0, 'utf8');
    } catch {
      return '';
    }
  },
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
};

const REQUIRED: Record<string, CniCommand[]> = {
  CNI_CONTAINERID: ['ADD', 'CHECK', 'DEL'],
  CNI_NETNS: ['ADD', 'CHECK'],
  CNI_IFNAME: ['ADD', 'CHECK', 'DEL'],
  CNI_PATH: ['ADD', 'CHECK', 'DEL', 'GC'],
};

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Interface-name rules from the spec (and the kernel): 1-15 bytes, not . or .., no / : or whitespace. */
function validateIfName(name: string): string | undefined {
  if (name === '') return 'interface name is empty';
  if (Buffer.byteLength(name) > 15) return 'interface name is too long';
  if (name === '.' || name === '..') return 'interface name is . or ..';
  if (/[/:\s]/.test(name)) return 'interface name contains / or : or whitespace characters';
  return undefined;
}

export function parseCniArgs(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of s.split(';')) {
    if (!part) continue;
    const i = part.indexOf('=');
    if (i <= 0) throw new CniError(CniCode.InvalidEnvironment, `invalid CNI_ARGS pair ${JSON.stringify(part)}`);
    out[part.slice(0, i)] = part.slice(i + 1);
  }
  return out;
}

function envArgs(env: NodeJS.ProcessEnv, stdin: string, self: string | undefined): CniArgs {
  const command = env.CNI_COMMAND ?? '';
  if (!COMMANDS.includes(command)) throw new CniError(CniCode.InvalidEnvironment, `unknown CNI_COMMAND: ${command}`);
  const cmd = command as CniCommand;
  const missing = Object.entries(REQUIRED)
    .filter(([k, cmds]) => cmds.includes(cmd) && !env[k])
    .map(([k]) => k);
  if (missing.length) {
    throw new CniError(CniCode.InvalidEnvironment, `required env variables [${missing.join(',')}] missing`);
  }
  const containerId = env.CNI_CONTAINERID ?? '';
  if (containerId && !CONTAINER_ID.test(containerId)) {
    throw new CniError(CniCode.InvalidEnvironment, 'invalid characters in containerID', containerId);
  }
  const ifname = env.CNI_IFNAME ?? '';
  if (REQUIRED.CNI_IFNAME?.includes(cmd)) {
    const bad = validateIfName(ifname);
    if (bad) throw new CniError(CniCode.InvalidEnvironment, bad, ifname);
  }
  return {
    command: cmd,
    containerId,
    netns: env.CNI_NETNS ?? '',
    ifname,
    args: parseCniArgs(env.CNI_ARGS ?? ''),
    path: (env.CNI_PATH ?? '').split(':').filter(Boolean),
    stdin,
    env,
    self,
  };
}

/** Run a plugin against this process's env/stdin/stdout. Resolves to the exit code (also set on process). */
export async function runPlugin<C extends NetConf>(plugin: CniPlugin<C>, io: PluginIo = defaultIo): Promise<number> {
  const code = await runPluginInner(plugin, io);
  if (io === defaultIo) process.exitCode = code;
  return code;
}

async function runPluginInner<C extends NetConf>(plugin: CniPlugin<C>, io: PluginIo): Promise<number> {
  const versions = plugin.versions ?? SUPPORTED_VERSIONS;
  let confVersion: string | undefined;
  const fail = (err: unknown): number => {
    const e = asCniError(err);
    io.stdout(JSON.stringify(e.toJSON(confVersion), null, 4));
    return 1;
  };
  if (!io.env.CNI_COMMAND) {
    // Like the reference: a bare invocation prints what this is and succeeds.
    io.stderr(`skiff ${plugin.name} CNI plugin\nCNI protocol versions supported: ${versions.join(', ')}\n`);
    return 0;
  }
  try {
    if (io.env.CNI_COMMAND === 'VERSION') {
      // The spec: VERSION echoes the config's cniVersion when given; the body is optional.
      const text = io.readStdin().trim();
      let cniVersion = CURRENT_VERSION as string;
      if (text) {
        try {
          const v = (JSON.parse(text) as { cniVersion?: unknown }).cniVersion;
          if (typeof v === 'string' && v) cniVersion = v;
        } catch {
          /* VERSION ignores a malformed body, like the reference */
        }
      }
      io.stdout(JSON.stringify({ cniVersion, supportedVersions: versions }));
      return 0;
    }
    const stdin = io.readStdin();
    const args = envArgs(io.env, stdin, io.self ?? process.argv[1]);
    let raw: unknown;
    try {
      raw = JSON.parse(stdin);
    } catch (e) {
      throw new CniError(CniCode.DecodingFailure, `error unmarshall network config: ${(e as Error).message}`);
    }
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new CniError(CniCode.DecodingFailure, 'error unmarshall network config: not a JSON object');
    }
    const obj = raw as Record<string, unknown>;
    // The reference treats a missing cniVersion as 0.1.0, which no skiff plugin supports.
    const v = typeof obj.cniVersion === 'string' && obj.cniVersion ? obj.cniVersion : '0.1.0';
    if (!versions.includes(v)) {
      throw new CniError(
        CniCode.IncompatibleVersion,
        'incompatible CNI versions',
        `config is ${JSON.stringify(v)}, plugin supports [${versions.map((x) => JSON.stringify(x)).join(' ')}]`,
      );
    }
    confVersion = v;
    // As the reference skel: CHECK arrived in 0.4.0, GC and STATUS in 1.1.0.
    const since = { CHECK: '0.4.0', GC: '1.1.0', STATUS: '1.1.0' } as Partial<Record<CniCommand, string>>;
    const minVersion = since[args.command];
    if (minVersion && !versionAtLeast(v, minVersion)) {
      throw new CniError(CniCode.IncompatibleVersion, `config version does not allow ${args.command}`);
    }
    const parsed = plugin.confSchema.safeParse(obj);
    if (!parsed.success) {
      throw new CniError(
        CniCode.InvalidNetworkConfig,
        `invalid network config: ${parsed.error.issues[0]?.path.join('.') || '(root)'}: ${parsed.error.issues[0]?.message}`,
        issuesText(parsed.error.issues),
      );
    }
    const conf = { ...parsed.data } as unknown as PluginConf<C>;
    if (obj.prevResult !== undefined && obj.prevResult !== null) {
      conf.prevResult = parseResult(obj.prevResult, v);
    } else {
      delete (conf as { prevResult?: unknown }).prevResult;
    }
    switch (args.command) {
      case 'ADD': {
        const result = await plugin.add(args, conf);
        io.stdout(JSON.stringify(convertResult(result, v)));
        return 0;
      }
      case 'DEL':
        await plugin.del(args, conf);
        return 0;
      case 'CHECK':
        if (plugin.check) await plugin.check(args, conf);
        return 0;
      case 'GC': {
        const list = attachmentSchema.array().safeParse(obj[VALID_ATTACHMENTS_KEY] ?? []);
        if (!list.success) {
          throw new CniError(
            CniCode.InvalidNetworkConfig,
            `invalid ${VALID_ATTACHMENTS_KEY}`,
            issuesText(list.error.issues),
          );
        }
        if (plugin.gc) await plugin.gc(args, conf, list.data);
        return 0;
      }
      case 'STATUS':
        if (plugin.status) await plugin.status(args, conf);
        return 0;
      default:
        throw new CniError(CniCode.InvalidEnvironment, `unknown CNI_COMMAND: ${args.command}`);
    }
  } catch (err) {
    return fail(err);
  }
}
