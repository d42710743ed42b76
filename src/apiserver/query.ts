/**
 * Query parameters decoded as kube-apiserver's parameter codec decodes them into ListOptions, GetOptions,
 * CreateOptions, PatchOptions and DeleteOptions (apimachinery's runtime/conversion.go):
 * - a boolean is false only when absent, `0`, or `false` in any case; every other value (`true`, `True`,
 *   `TRUE`, `1`, `t`, `yes`, even an empty value) is true — so `watch=True` from the Python client works;
 * - an integer is strconv.ParseInt(s, 10, 64): an optional sign and decimal digits, nothing else; anything
 *   else is a 400;
 * - a repeated parameter uses its first value; unknown parameters are ignored.
 */
import { badRequest } from './errors.js';

export type RawQuery = Record<string, string | string[] | undefined>;

export interface RequestOptions {
  watch: boolean;
  allowWatchBookmarks: boolean;
  sendInitialEvents: boolean;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  timeoutSeconds?: number;
  limit?: number;
  continue?: string;
  labelSelector?: string;
  fieldSelector?: string;
  dryRun: boolean;
  fieldManager?: string;
  fieldValidation?: string;
  force: boolean;
  gracePeriodSeconds?: number;
  propagationPolicy?: string;
  orphanDependents?: boolean;
  includeObject?: string;
}

function first(q: RawQuery, key: string): string | undefined {
  const v = q[key];
  return Array.isArray(v) ? v[0] : v;
}

/** Convert_Slice_string_To_bool. */
export function parseQueryBool(v: string | undefined): boolean {
  if (v === undefined) return false;
  return !(v === '0' || v.toLowerCase() === 'false');
}

const INT64 = /^[+-]?\d+$/;
const INT64_MAX = 2n ** 63n - 1n;

/** Convert_Slice_string_To_int64 (strconv.ParseInt base 10, 64 bits). */
export function parseQueryInt(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  if (!INT64.test(v)) throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  const n = BigInt(v);
  if (n > INT64_MAX || n < -INT64_MAX - 1n)
    throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: value out of range`);
  return Number(n);
}

/** dryRun is a list whose only valid value is All (apimachinery's validation.ValidateDryRun). */
function parseDryRun(q: RawQuery): boolean {
  const raw = q.dryRun;
  const values = raw === undefined ? [] : Array.isArray(raw) ? raw : [raw];
  for (const v of values)
    if (v !== 'All') throw badRequest(`Invalid value: ${JSON.stringify(values)}: supported values: "All"`);
  return values.length > 0;
}

export function parseRequestOptions(q: RawQuery): RequestOptions {
  const str = (k: string) => first(q, k);
  const timeoutSeconds = parseQueryInt('timeoutSeconds', str('timeoutSeconds'));
  const limit = parseQueryInt('limit', str('limit'));
  if (limit !== undefined && limit < 0) throw badRequest(`limit: Invalid value: ${limit}: must be non-negative`);
  if (timeoutSeconds !== undefined && timeoutSeconds < 0)
    throw badRequest(`timeoutSeconds: Invalid value: ${timeoutSeconds}: must be non-negative`);
  const orphan = str('orphanDependents');
  return {
    watch: parseQueryBool(str('watch')),
    allowWatchBookmarks: parseQueryBool(str('allowWatchBookmarks')),
    sendInitialEvents: parseQueryBool(str('sendInitialEvents')),
    resourceVersion: str('resourceVersion') || undefined,
    resourceVersionMatch: str('resourceVersionMatch') || undefined,
    timeoutSeconds,
    limit,
    continue: str('continue') || undefined,
    labelSelector: str('labelSelector') || undefined,
    fieldSelector: str('fieldSelector') || undefined,
    dryRun: parseDryRun(q),
    fieldManager: str('fieldManager') || undefined,
    fieldValidation: str('fieldValidation') || undefined,
    force: parseQueryBool(str('force')),
    gracePeriodSeconds: parseQueryInt('gracePeriodSeconds', str('gracePeriodSeconds')),
    propagationPolicy: str('propagationPolicy') || undefined,
    orphanDependents: orphan === undefined ? undefined : parseQueryBool(orphan),
    includeObject: str('includeObject') || undefined,
  };
}

/** A resourceVersion the client sends must be a store revision (kube-apiserver: 400, not 200 or 409). */
export function checkResourceVersion(rv: string | undefined, field = 'resourceVersion'): void {
  if (rv === undefined || rv === '') return;
  if (!/^\d+$/.test(rv) || rv.length > 19)
    throw badRequest(`${field}: Invalid value: ${JSON.stringify(rv)}: must be a non-negative integer`);
}
