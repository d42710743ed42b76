import { CniCode, CniError } from '../errors.js';
import { type Result, result040Schema, resultSchema } from './types.js';
import { compareVersions, parseVersion } from './version.js';

/**
 * Result conversion between wire versions. In memory every result has the 1.x shape; 0.3.x/0.4.0 differ only in
 * the per-IP `version` field (and 0.4.0 readers ignore unknown keys), so converting is a small, lossless map for
 * everything this project produces.
 */
function isV1(version: string): boolean {
  const p = parseVersion(version);
  return !!p && p[0] >= 1;
}

function ipFamily(cidr: string): '4' | '6' {
  return cidr.includes(':') ? '6' : '4';
}

/** Parse a result as written in `version` (e.g. a plugin's stdout or a prevResult) into the 1.x shape. */
export function parseResult(raw: unknown, version: string): Result {
  if (!parseVersion(version))
    throw new CniError(CniCode.DecodingFailure, `invalid result version ${JSON.stringify(version)}`);
  if (isV1(version)) {
    const r = resultSchema.safeParse(raw);
    if (!r.success)
      throw new CniError(
        CniCode.DecodingFailure,
        `invalid ${version} result: ${r.error.issues[0]?.message}`,
        issuesText(r.error.issues),
      );
    return r.data;
  }
  if (compareVersions(version, '0.3.0') < 0) {
    throw new CniError(CniCode.IncompatibleVersion, `result version ${version} is not supported (need 0.3.0 or later)`);
  }
  const r = result040Schema.safeParse(raw);
  if (!r.success)
    throw new CniError(
      CniCode.DecodingFailure,
      `invalid ${version} result: ${r.error.issues[0]?.message}`,
      issuesText(r.error.issues),
    );
  return { ...r.data, ips: r.data.ips?.map(({ version: _v, ...ip }) => ip) };
}

/** Render a 1.x-shaped result for the wire at `version`. */
export function convertResult(result: Result, version: string): Record<string, unknown> {
  if (!parseVersion(version))
    throw new CniError(CniCode.IncompatibleVersion, `invalid CNI version ${JSON.stringify(version)}`);
  const out: Record<string, unknown> = { ...result, cniVersion: version };
  if (!isV1(version)) {
    if (compareVersions(version, '0.3.0') < 0) {
      throw new CniError(CniCode.IncompatibleVersion, `cannot convert a result to version ${version}`);
    }
    if (result.ips) out.ips = result.ips.map((ip) => ({ ...ip, version: ipFamily(ip.address) }));
  }
  for (const k of Object.keys(out)) if (out[k] === undefined) delete out[k];
  return out;
}

function issuesText(issues: { path: (string | number)[]; message: string }[]): string {
  return issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
}
export { issuesText };
