/**
 * Strategic merge patch (application/strategic-merge-patch+json), the patch `kubectl apply` sends. Maps merge
 * key by key; lists whose schema says `patchStrategy: merge` merge their items by the list's merge key
 * (containers by name, ports by port, conditions by type); other lists are replaced. Directives:
 * `$patch: replace|delete|merge`, `$retainKeys`, `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>`.
 * Pure: the schema knowledge comes in through PatchMeta.
 */
import { isPlainObject } from './merge.js';

export interface PatchMeta {
  /** schema of a map's field (or of a map's values, for string maps) */
  field(name: string): PatchMeta | undefined;
  /** schema of a list's items */
  items(): PatchMeta | undefined;
  /** for lists: the merge key, when the list merges by key */
  readonly mergeKey?: string;
  /** for lists/maps: "merge", "retainKeys", "merge,retainKeys" or undefined (replace) */
  readonly strategy?: string;
}

export class StrategicPatchError extends Error {}

type Obj = Record<string, unknown>;

const DIRECTIVE = '$patch';
const RETAIN = '$retainKeys';
const ORDER = '$setElementOrder/';
const DELETE_PRIMITIVE = '$deleteFromPrimitiveList/';

export function strategicMergePatch(original: unknown, patch: unknown, meta: PatchMeta | undefined): unknown {
  if (!isPlainObject(patch)) throw new StrategicPatchError('strategic merge patch must be a JSON object');
  const base = isPlainObject(original) ? original : {};
  const r = mergeMap(structuredClone(base), patch, meta);
  return r === DELETED ? {} : r;
}

const DELETED = Symbol('deleted');

function mergeMap(original: Obj, patch: Obj, meta: PatchMeta | undefined): Obj | typeof DELETED {
  const directive = patch[DIRECTIVE];
  if (directive !== undefined) {
    if (directive === 'delete') return DELETED;
    if (directive === 'replace') return stripDirectives(withoutKey(patch, DIRECTIVE), meta) as Obj;
    if (directive !== 'merge')
      throw new StrategicPatchError(
        `unknown patch type: ${JSON.stringify(directive)} in map: ${JSON.stringify(patch)}`,
      );
  }
  const retain = patch[RETAIN];
  if (retain !== undefined) {
    if (!Array.isArray(retain)) throw new StrategicPatchError('$retainKeys must be a list');
    for (const k of Object.keys(original)) if (!retain.includes(k)) delete original[k];
  }
  for (const [k, pv] of Object.entries(patch)) {
    if (k === DIRECTIVE || k === RETAIN) continue;
    if (k.startsWith(ORDER)) continue;
    if (k.startsWith(DELETE_PRIMITIVE)) {
      const field = k.slice(DELETE_PRIMITIVE.length);
      if (!Array.isArray(pv)) throw new StrategicPatchError(`${k} must be a list`);
      const cur = original[field];
      if (Array.isArray(cur)) original[field] = cur.filter((x) => !pv.some((d) => deepEqual(d, x)));
      continue;
    }
    const fm = meta?.field(k);
    if (pv === null) {
      delete original[k];
      continue;
    }
    const ov = original[k];
    if (isPlainObject(pv)) {
      const merged = mergeMap(isPlainObject(ov) ? ov : {}, pv, fm);
      if (merged === DELETED) delete original[k];
      else original[k] = merged;
      continue;
    }
    if (Array.isArray(pv)) {
      original[k] = mergeList(Array.isArray(ov) ? ov : [], pv, fm, patch[`${ORDER}${k}`]);
      continue;
    }
    original[k] = pv;
  }
  // A $setElementOrder for a list the patch does not otherwise touch still reorders it.
  for (const [k, order] of Object.entries(patch)) {
    if (!k.startsWith(ORDER)) continue;
    const field = k.slice(ORDER.length);
    if (Object.hasOwn(patch, field)) continue;
    const cur = original[field];
    if (Array.isArray(cur) && Array.isArray(order))
      original[field] = applyOrder(cur, order, meta?.field(field)?.mergeKey);
  }
  return original;
}

function mergeList(original: unknown[], patch: unknown[], meta: PatchMeta | undefined, order: unknown): unknown[] {
  const strategy = meta?.strategy ?? '';
  const merging = strategy.split(',').includes('merge');
  const itemMeta = meta?.items();
  // `{"$patch": "replace"}` as an item replaces the whole list with the remaining items.
  const replaceAll = patch.some((p) => isPlainObject(p) && p[DIRECTIVE] === 'replace' && Object.keys(p).length === 1);
  if (!merging || replaceAll) {
    return patch
      .filter((p) => !(isPlainObject(p) && p[DIRECTIVE] === 'replace' && Object.keys(p).length === 1))
      .map((p) => stripDirectives(p, itemMeta));
  }
  let result: unknown[];
  const key = meta?.mergeKey;
  if (patch.every((p) => !isPlainObject(p))) {
    // Primitive list with merge strategy: union, keeping the original order first.
    result = [...original];
    for (const p of patch) if (!result.some((o) => deepEqual(o, p))) result.push(p);
  } else {
    if (!key) throw new StrategicPatchError('list of maps needs a merge key to be merged');
    result = [...original];
    for (const p of patch) {
      if (!isPlainObject(p)) throw new StrategicPatchError(`list item ${JSON.stringify(p)} is not a map`);
      const kv = p[key];
      const directive = p[DIRECTIVE];
      if (kv === undefined)
        throw new StrategicPatchError(`map: ${JSON.stringify(p)} does not contain declared merge key: ${key}`);
      const idx = result.findIndex((o) => isPlainObject(o) && deepEqual(o[key], kv));
      if (directive === 'delete') {
        if (idx >= 0) result.splice(idx, 1);
        continue;
      }
      if (idx >= 0) {
        const merged = mergeMap(structuredClone(result[idx] as Obj), p, itemMeta);
        if (merged === DELETED) result.splice(idx, 1);
        else result[idx] = merged;
      } else {
        const fresh = mergeMap({}, p, itemMeta);
        if (fresh !== DELETED) result.push(fresh);
      }
    }
  }
  if (Array.isArray(order)) result = applyOrder(result, order, key);
  return result;
}

/** Items named in `order` come first in that order; the others keep their relative order after them. */
function applyOrder(list: unknown[], order: unknown[], key: string | undefined): unknown[] {
  const id = (x: unknown) => (key && isPlainObject(x) ? x[key] : x);
  const ordered: unknown[] = [];
  const used = new Set<number>();
  for (const o of order) {
    const want = key && isPlainObject(o) ? o[key] : o;
    const idx = list.findIndex((x, i) => !used.has(i) && deepEqual(id(x), want));
    if (idx >= 0) {
      used.add(idx);
      ordered.push(list[idx]);
    }
  }
  return [...ordered, ...list.filter((_, i) => !used.has(i))];
}

function stripDirectives(v: unknown, meta: PatchMeta | undefined): unknown {
  if (Array.isArray(v)) return v.map((x) => stripDirectives(x, meta?.items()));
  if (!isPlainObject(v)) return v;
  const r = mergeMap({}, v, meta);
  return r === DELETED ? {} : r;
}

function withoutKey(o: Obj, k: string): Obj {
  const { [k]: _drop, ...rest } = o;
  return rest;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ka = Object.keys(a as Obj);
  const kb = Object.keys(b as Obj);
  return (
    ka.length === kb.length && ka.every((k) => Object.hasOwn(b as Obj, k) && deepEqual((a as Obj)[k], (b as Obj)[k]))
  );
}
