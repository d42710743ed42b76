import { createHash } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import { CniCode, CniError } from '../errors.js';
import { parseCniArgs } from '../skel.js';
import { netnsPath } from '../../os/netns.js';

/**
 * What `skiff cni add|check|del|...` takes from its flags, validated once: the attachment (netns, ifname,
 * container ID), CNI_ARGS pairs and capability args, and where plugins and the result cache live.
 */
const DEFAULT_CNI_BIN = '/opt/cni/bin';

/** `--netns pod1` means /run/netns/pod1; a path is taken as is. */
export function netnsArg(v: string): string {
  return isAbsolute(v) ? v : netnsPath(v);
}

/** cnitool's default container ID: derived from the netns path, so ADD and DEL of one netns agree. */
export function defaultContainerId(netns: string): string {
  return `skiff-${createHash('sha512').update(netns).digest('hex').slice(0, 20)}`;
}

const capSchema = z.record(z.unknown());

export function parseCapArgs(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CniError(CniCode.DecodingFailure, `--cap: invalid JSON: ${(e as Error).message}`);
  }
  const r = capSchema.safeParse(raw);
  if (!r.success) throw new CniError(CniCode.InvalidNetworkConfig, '--cap: expected a JSON object of capability args');
  return r.data;
}

export function parseArgPairs(text: string | undefined): [string, string][] {
  return Object.entries(parseCniArgs(text ?? ''));
}

/** --cni-bin DIR (repeatable, each may be a ':' list), else $CNI_PATH, else /opt/cni/bin. */
export function pluginPath(dirs: string[] | undefined, env: NodeJS.ProcessEnv = process.env): string[] {
  const given = (dirs ?? []).flatMap((d) => d.split(':')).filter(Boolean);
  if (given.length) return given;
  const fromEnv = (env.CNI_PATH ?? '').split(':').filter(Boolean);
  return fromEnv.length ? fromEnv : [DEFAULT_CNI_BIN];
}

/** CNI error codes go up to 999; an exit status is one byte, so codes above 255 exit 255. */
export function exitStatusFor(code: number): number {
  return code >= 1 && code <= 255 ? code : 255;
}
