import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CniCode, CniError } from '../errors.js';
import { issuesText } from '../spec/convert.js';
import { type NetConfList, netConfListSchema, netConfSchema } from '../spec/types.js';
import { compareVersions, isSupportedVersion, SUPPORTED_VERSIONS } from '../spec/version.js';

/**
 * Network configuration files, as libcni reads them: `.conflist` (a chain) and `.conf`/`.json` (one
 * plugin, wrapped into a one-element list). Files are taken in lexical order, the first is the default.
 */
export interface LoadedList {
  list: NetConfList;
  /** The file's bytes (cached with results so a DEL after a restart uses the same config). */
  bytes: string;
  file?: string;
}

export function parseConfList(text: string, source = '<bytes>'): LoadedList {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CniError(CniCode.DecodingFailure, `${source}: invalid JSON: ${(e as Error).message}`);
  }
  const r = netConfListSchema.safeParse(withSelectedVersion(raw, source));
  if (!r.success)
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      `${source}: invalid network config list: ${issuesText(r.error.issues)}`,
    );
  return { list: r.data, bytes: text, file: source };
}

/**
 * Spec 1.1 version selection: with a `cniVersions` list the runtime uses the highest version in it that it
 * supports, ignoring `cniVersion` (which older runtimes read instead).
 */
function withSelectedVersion(raw: unknown, source: string): unknown {
  if (typeof raw !== 'object' || raw === null || !('cniVersions' in raw)) return raw;
  const listed = (raw as { cniVersions: unknown }).cniVersions;
  if (!Array.isArray(listed) || listed.some((v) => typeof v !== 'string'))
    throw new CniError(CniCode.InvalidNetworkConfig, `${source}: cniVersions must be a list of version strings`);
  const usable = (listed as string[]).filter((v) => isSupportedVersion(v)).sort(compareVersions);
  const chosen = usable[usable.length - 1];
  if (!chosen)
    throw new CniError(
      CniCode.IncompatibleVersion,
      `${source}: none of cniVersions [${listed.join(', ')}] is supported (supported: ${SUPPORTED_VERSIONS.join(', ')})`,
    );
  return { ...raw, cniVersion: chosen };
}

export function parseConf(text: string, source = '<bytes>'): LoadedList {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CniError(CniCode.DecodingFailure, `${source}: invalid JSON: ${(e as Error).message}`);
  }
  const r = netConfSchema.safeParse(raw);
  if (!r.success)
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      `${source}: invalid network config: ${issuesText(r.error.issues)}`,
    );
  const { cniVersion, name, ...plugin } = r.data;
  const list = netConfListSchema.parse({ cniVersion, name, plugins: [plugin] });
  return { list, bytes: JSON.stringify(list), file: source };
}

export function loadConfFile(path: string): LoadedList {
  const text = readFileSync(path, 'utf8');
  return path.endsWith('.conflist') ? parseConfList(text, path) : parseConf(text, path);
}

/** All valid network configs in dir, in file-name order. */
function loadConfDir(dir: string): LoadedList[] {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => /\.(conflist|conf|json)$/.test(f))
      .sort();
  } catch (e) {
    throw new CniError(CniCode.IoFailure, `cannot read CNI config dir ${dir}: ${(e as Error).message}`);
  }
  return files.map((f) => loadConfFile(join(dir, f)));
}

/** The named network from dir, or the first one when no name is given. */
export function loadNetwork(dir: string, name?: string): LoadedList {
  const all = loadConfDir(dir);
  const found = name ? all.find((l) => l.list.name === name) : all[0];
  if (!found)
    throw new CniError(
      CniCode.InvalidNetworkConfig,
      name ? `no network named ${name} in ${dir}` : `no network configuration in ${dir}`,
    );
  return found;
}
