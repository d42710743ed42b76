/** CNI spec versions: which ones skiff speaks and how to compare them. */
export const SUPPORTED_VERSIONS = ['0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type SupportedVersion = (typeof SUPPORTED_VERSIONS)[number];
/** The version our own VERSION output and runtime speak by default. */
export const CURRENT_VERSION: SupportedVersion = '1.1.0';

export function parseVersion(v: string): [number, number, number] | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** a <=> b as -1/0/1; throws on a malformed version. */
export function compareVersions(a: string, b: string): number {
  const pa = parseVersion(a);
  const pb = parseVersion(b);
  if (!pa || !pb) throw new Error(`invalid CNI version ${pa ? b : a}`);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] as number) - (pb[i] as number);
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

export function versionAtLeast(v: string, min: string): boolean {
  return compareVersions(v, min) >= 0;
}

export function isSupportedVersion(v: string, supported: readonly string[] = SUPPORTED_VERSIONS): boolean {
  return supported.includes(v);
}
