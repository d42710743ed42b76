/**
 * metadata.managedFields as kube-apiserver keeps them (k8s.io/apimachinery managedfields + structured-merge-diff's
 * merge.Updater): every write records which manager owns which fields.
 *  - Update (create, update, patch): the fields the write added or changed move to the writer; removed fields
 *    leave every manager.
 *  - Apply (application/apply-patch+yaml): the applied configuration is laid over the live object; the applier
 *    owns exactly the fields it applied; a field it applied before, applies no more and no one else owns is
 *    removed; changing a field another manager owns is a conflict unless forced, which takes it over.
 * Managers are told apart by name, operation, subresource and (for Update) apiVersion, as kube's manager
 * identifier; apiVersion, kind and server-owned metadata are never owned (kube's stripMeta).
 */
import type { Schema } from '../../api/schema.js';
import { ApiError } from '../errors.js';
import { FieldSet, pathString, type Path } from './fieldset.js';
import { compare, merge, nodes, removePath, toFieldSet, type Comparison } from './typed.js';

type Obj = Record<string, unknown>;

type Operation = 'Apply' | 'Update';

export interface Manager {
  manager: string;
  operation: Operation;
  apiVersion: string;
  time?: string;
  subresource?: string;
  set: FieldSet;
}

/** Who is writing: the request's fieldManager (or user agent), the version and subresource it writes through. */
export interface Writer {
  manager: string;
  apiVersion: string;
  subresource?: string;
}

const IGNORED: Path[] = [
  ['f:apiVersion'],
  ['f:kind'],
  ...[
    'name',
    'namespace',
    'creationTimestamp',
    'selfLink',
    'uid',
    'generation',
    'managedFields',
    'resourceVersion',
  ].map((f) => ['f:metadata', `f:${f}`]),
];

/**
 * Fields a write through this endpoint never sets (kube's ResetFieldsStrategy): status on the main resource of
 * a kind with a status subresource; everything but status through /status.
 */
export interface Scope {
  schema: Schema;
  /** the main resource of a kind with a status subresource */
  resetStatus: boolean;
  /** a write through /status */
  statusOnly: boolean;
}

function scoped(set: FieldSet, scope: Scope): FieldSet {
  let s = set.withoutPrefixes(IGNORED);
  if (scope.statusOnly) s = s.onlyPrefixes([['f:status']]);
  else if (scope.resetStatus) s = s.withoutPrefixes([['f:status']]);
  return s;
}

const identity = (m: { manager: string; operation: Operation; apiVersion: string; subresource?: string }) =>
  JSON.stringify([m.manager, m.operation, m.operation === 'Apply' ? '' : m.apiVersion, m.subresource ?? '']);

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The stored entries as managers. `undefined` when the object has none; `'reset'` for kube's "strip them"
 * request (a list holding one empty entry); entries that are not well formed are dropped.
 */
export function decodeManagedFields(v: unknown): Manager[] | 'reset' | undefined {
  if (!Array.isArray(v) || !v.length) return undefined;
  if (v.length === 1 && isObj(v[0]) && !Object.keys(v[0]).length) return 'reset';
  const out: Manager[] = [];
  for (const e of v) {
    if (!isObj(e) || typeof e.manager !== 'string') continue;
    if (e.operation !== 'Apply' && e.operation !== 'Update') continue;
    if (e.fieldsType !== undefined && e.fieldsType !== 'FieldsV1') continue;
    out.push({
      manager: e.manager,
      operation: e.operation,
      apiVersion: typeof e.apiVersion === 'string' ? e.apiVersion : '',
      time: typeof e.time === 'string' ? e.time : undefined,
      subresource: typeof e.subresource === 'string' && e.subresource ? e.subresource : undefined,
      set: FieldSet.fromFieldsV1(e.fieldsV1),
    });
  }
  return out;
}

/** The entries to store, in kube's order: operation, time, manager, apiVersion, subresource. */
export function encodeManagedFields(managers: Manager[]): Obj[] {
  const sorted = managers
    .filter((m) => !m.set.empty())
    .sort(
      (a, b) =>
        cmp(a.operation, b.operation) ||
        cmp(a.time ?? '', b.time ?? '') ||
        cmp(a.manager, b.manager) ||
        cmp(a.apiVersion, b.apiVersion) ||
        cmp(a.subresource ?? '', b.subresource ?? ''),
    );
  return sorted.map((m) => ({
    manager: m.manager,
    operation: m.operation,
    apiVersion: m.apiVersion,
    ...(m.time ? { time: m.time } : {}),
    fieldsType: 'FieldsV1',
    fieldsV1: m.set.toFieldsV1(),
    ...(m.subresource ? { subresource: m.subresource } : {}),
  }));
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const withoutManagedFields = (o: unknown): Obj => {
  if (!isObj(o)) return {};
  const meta = isObj(o.metadata) ? { ...o.metadata } : undefined;
  if (meta) delete meta.managedFields;
  return meta ? { ...o, metadata: meta } : { ...o };
};

function scopedCompare(live: unknown, next: unknown, scope: Scope): Comparison {
  const c = compare(withoutManagedFields(live), withoutManagedFields(next), scope.schema);
  return { added: scoped(c.added, scope), modified: scoped(c.modified, scope), removed: scoped(c.removed, scope) };
}

const changed = (c: Comparison) => !c.added.empty() || !c.modified.empty() || !c.removed.empty();

/** The managers after an Update-operation write from `live` (undefined on create) to `next`. */
export function recordUpdate(
  scope: Scope,
  live: unknown,
  next: unknown,
  base: Manager[],
  who: Writer,
  now: string,
): Manager[] {
  const c = scopedCompare(live, next, scope);
  const me: Manager = { ...who, operation: 'Update', set: new FieldSet() };
  const id = identity(me);
  const taken = c.modified.union(c.added);
  const out: Manager[] = [];
  let prev: Manager | undefined;
  for (const m of base) {
    if (identity(m) === id) prev = m;
    else out.push({ ...m, set: m.set.difference(taken).difference(c.removed) });
  }
  me.set = (prev?.set ?? new FieldSet()).union(taken).difference(c.removed);
  me.time = changed(c) || !prev ? now : prev.time;
  out.push(me);
  return out.filter((m) => !m.set.empty());
}

interface Conflict {
  manager: Manager;
  path: Path;
}

/** kube's printManager: `"name"`, `with subresource "s"`, `using apps/v1` for Update managers. */
function printManager(m: Manager): string {
  let s = JSON.stringify(m.manager);
  if (m.subresource) s += ` with subresource ${JSON.stringify(m.subresource)}`;
  if (m.operation === 'Update') s += ` using ${m.apiVersion}`;
  return s;
}

/** The 409 kube-apiserver answers an apply that conflicts (apimachinery's NewConflictError). */
function conflictError(conflicts: Conflict[]): ApiError {
  const causes = conflicts.map((c) => ({
    reason: 'FieldManagerConflict',
    message: `conflict with ${printManager(c.manager)}`,
    field: pathString(c.path),
  }));
  let message: string;
  if (conflicts.length === 1) {
    const c = conflicts[0]!;
    message = `Apply failed with 1 conflict: conflict with ${printManager(c.manager)}: ${pathString(c.path)}`;
  } else {
    const byManager = new Map<string, Conflict[]>();
    for (const c of conflicts) {
      const k = printManager(c.manager);
      byManager.set(k, [...(byManager.get(k) ?? []), c]);
    }
    const lines: string[] = [];
    for (const k of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${k}:`);
      for (const c of byManager.get(k)!) lines.push(`- ${pathString(c.path)}`);
    }
    message = `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
  }
  return new ApiError(409, 'Conflict', message, { causes });
}

/**
 * Remove what the applier owned last time and applies no more, unless another manager (or the new
 * configuration) still owns it or something below it.
 */
function prune(merged: unknown, scope: Scope, applied: FieldSet, last: FieldSet | undefined, others: Manager[]) {
  if (!last) return merged;
  let out = merged;
  const candidates = [...nodes(last)].sort((a, b) => a.length - b.length);
  for (const p of candidates) {
    if (applied.touches(p)) continue;
    if (others.some((m) => m.set.touches(p))) continue;
    out = removePath(out, p, scope.schema);
  }
  return out;
}

/** An Apply: the merged, pruned object and the managers after it, or the conflicts (409) when not forced. */
export function recordApply(
  scope: Scope,
  live: unknown,
  config: Obj,
  base: Manager[] | undefined,
  who: Writer,
  force: boolean,
  now: string,
): { object: Obj; managers: Manager[] } {
  const liveObj = live === undefined ? undefined : withoutManagedFields(live);
  let managers = base ?? [];
  // An object that no one has managed yet: its fields belong to "before-first-apply" (kube's
  // skipNonApplied manager), so an apply that changes them is a conflict like any other.
  if (liveObj && !base) managers = recordUpdate(scope, {}, liveObj, [], { ...who, manager: 'before-first-apply' }, now);
  const me: Manager = { ...who, operation: 'Apply', set: scoped(toFieldSet(config, scope.schema), scope) };
  const id = identity(me);
  const prev = managers.find((m) => identity(m) === id);
  const others = managers.filter((m) => identity(m) !== id);
  const merged = merge(liveObj ?? {}, config, scope.schema);
  const object = prune(merged, scope, me.set, prev?.set, others) as Obj;
  const c = scopedCompare(liveObj ?? {}, object, scope);
  const taken = c.modified.union(c.added);
  const conflicts: Conflict[] = [];
  for (const m of others) for (const path of m.set.intersection(taken).paths()) conflicts.push({ manager: m, path });
  if (conflicts.length && !force) throw conflictError(conflicts);
  const out = others.map((m) => ({ ...m, set: m.set.difference(taken).difference(c.removed) }));
  const sameSet = prev && prev.set.difference(me.set).empty() && me.set.difference(prev.set).empty();
  me.time = changed(c) || !sameSet ? now : prev.time;
  out.push(me);
  return { object, managers: out.filter((m) => !m.set.empty()) };
}
