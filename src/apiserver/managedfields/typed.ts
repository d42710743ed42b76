/**
 * Schema-aware walks over objects, after structured-merge-diff's typed package, with the schema table of
 * src/api/schema.ts as the type source: structs (object types), maps, lists that are atomic, associative
 * (x-kubernetes-list-type: map, keyed by x-kubernetes-list-map-keys) or sets, and scalars. What the schema does
 * not describe (free-form objects) is deduced from the value as structured-merge-diff does: objects are
 * granular maps, lists are atomic.
 */
import { getType, type ObjectType, type Schema } from '../../api/schema.js';
import { canonicalJson, FieldSet, type Path, type PathElement } from './fieldset.js';

type Json = unknown;
type Obj = Record<string, Json>;

type Atom =
  | { t: 'scalar' }
  | { t: 'struct'; type: ObjectType; atomic: boolean }
  | { t: 'map'; values?: Schema; atomic?: boolean }
  | { t: 'list'; rel: 'atomic' | 'map' | 'set'; keys: string[]; items?: Schema };

const isObj = (v: Json): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The root type of a kind. */
export const typeRef = (name: string): Schema => ({ t: 'ref', ref: name });

function atomOf(s: Schema | undefined, v: Json): Atom {
  if (!s || s.t === 'any') {
    if (isObj(v)) return { t: 'map' };
    if (Array.isArray(v)) return { t: 'list', rel: 'atomic', keys: [] };
    return { t: 'scalar' };
  }
  switch (s.t) {
    case 'ref': {
      const type = getType(s.ref);
      return { t: 'struct', type, atomic: type.mapType === 'atomic' };
    }
    case 'map':
      return { t: 'map', values: s.values, atomic: s.mapType === 'atomic' };
    case 'array':
      return { t: 'list', rel: s.listType ?? 'atomic', keys: s.listMapKeys ?? [], items: s.items };
    default:
      return { t: 'scalar' };
  }
}

function fieldSchema(a: Atom, key: string): Schema | undefined {
  if (a.t === 'struct') return a.type.props[key];
  if (a.t === 'map') return a.values;
  return undefined;
}

/** The path element of a list item: its key fields, its value, or its index. */
function itemElement(a: Atom & { t: 'list' }, item: Json, i: number): PathElement {
  if (a.rel === 'map' && isObj(item)) {
    // A key field left out takes its schema default (structured-merge-diff fills defaulted keys, so an applied
    // port without protocol is the live port with protocol TCP).
    const props = a.items?.t === 'ref' ? getType(a.items.ref).props : {};
    const key: Obj = {};
    for (const k of [...a.keys].sort()) {
      const d = props[k];
      const v = item[k] ?? (d?.t === 'string' ? d.default : undefined);
      if (v !== undefined) key[k] = v;
    }
    return `k:${canonicalJson(key)}`;
  }
  if (a.rel === 'set') return `v:${canonicalJson(item)}`;
  return `i:${i}`;
}

const isLeaf = (a: Atom) =>
  a.t === 'scalar' || (a.t === 'list' && a.rel === 'atomic') || ((a.t === 'struct' || a.t === 'map') && !!a.atomic);

const emptyCollection = (v: Json) =>
  v === undefined || v === null || (Array.isArray(v) && !v.length) || (isObj(v) && !Object.keys(v).length);

/** structured-merge-diff's ToFieldSet: every leaf, list item, and map entry (or empty struct field) present. */
export function toFieldSet(v: Json, s: Schema): FieldSet {
  const set = new FieldSet();
  const walk = (val: Json, sch: Schema | undefined, path: Path) => {
    const a = atomOf(sch, val);
    if (isLeaf(a) || val === null || (a.t !== 'scalar' && typeof val !== 'object')) return set.insert(path);
    if (a.t === 'list') {
      if (!Array.isArray(val)) return set.insert(path);
      val.forEach((item, i) => {
        const p = [...path, itemElement(a, item, i)];
        walk(item, a.items, p);
        set.insert(p);
      });
      return;
    }
    if (!isObj(val)) return set.insert(path);
    for (const [k, child] of Object.entries(val)) {
      const p = [...path, `f:${k}`];
      walk(child, fieldSchema(a, k), p);
      const declared = a.t === 'struct' && k in a.type.props;
      if (child === null || (isObj(child) && !Object.keys(child).length) || !declared) set.insert(p);
    }
  };
  walk(v, s, []);
  return set;
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

function listItems(a: Atom & { t: 'list' }, v: Json): Map<PathElement, Json> {
  const m = new Map<PathElement, Json>();
  if (Array.isArray(v)) v.forEach((item, i) => m.set(itemElement(a, item, i), item));
  return m;
}

/** structured-merge-diff's Compare: what is added, modified and removed from `lhs` to `rhs`. */
export function compare(lhs: Json, rhs: Json, s: Schema): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  const leaf = (l: Json, r: Json, path: Path) => {
    if (l === undefined) c.added.insert(path);
    else if (r === undefined) c.removed.insert(path);
    else if (canonicalJson(l) !== canonicalJson(r)) c.modified.insert(path);
  };
  const walk = (l: Json, r: Json, sch: Schema | undefined, path: Path) => {
    const a = atomOf(sch, r !== undefined ? r : l);
    const kindsDiffer =
      l !== undefined && r !== undefined && (Array.isArray(l) !== Array.isArray(r) || isObj(l) !== isObj(r));
    if (isLeaf(a) || kindsDiffer || (emptyCollection(l) && emptyCollection(r))) return leaf(l, r, path);
    if (a.t === 'list') {
      const li = listItems(a, l);
      const ri = listItems(a, r);
      for (const [pe, item] of li) walk(item, ri.get(pe), a.items, [...path, pe]);
      for (const [pe, item] of ri) if (!li.has(pe)) walk(undefined, item, a.items, [...path, pe]);
    } else if (a.t !== 'scalar') {
      const lo = isObj(l) ? l : {};
      const ro = isObj(r) ? r : {};
      for (const k of new Set([...Object.keys(lo), ...Object.keys(ro)]))
        walk(lo[k], ro[k], fieldSchema(a, k), [...path, `f:${k}`]);
    }
    if (l === undefined) c.added.insert(path);
    else if (r === undefined) c.removed.insert(path);
  };
  walk(lhs, rhs, s, []);
  return c;
}

/** structured-merge-diff's Merge (keep the right-hand side): `rhs` laid over `lhs`, lists merged by key. */
export function merge(lhs: Json, rhs: Json, s: Schema | undefined): Json {
  if (rhs === undefined) return lhs;
  if (lhs === undefined) return rhs;
  const a = atomOf(s, rhs);
  const kindsDiffer = Array.isArray(lhs) !== Array.isArray(rhs) || isObj(lhs) !== isObj(rhs);
  if (isLeaf(a) || kindsDiffer || rhs === null || lhs === null) return rhs;
  if (a.t === 'list') {
    const ri = listItems(a, rhs);
    const li = listItems(a, lhs);
    const out: Json[] = [];
    for (const [pe, item] of li) out.push(ri.has(pe) ? merge(item, ri.get(pe), a.items) : item);
    for (const [pe, item] of ri) if (!li.has(pe)) out.push(item);
    return out;
  }
  if (a.t === 'scalar') return rhs;
  const lo = lhs as Obj;
  const ro = rhs as Obj;
  const out: Obj = {};
  for (const k of new Set([...Object.keys(lo), ...Object.keys(ro)])) {
    const v = merge(lo[k], ro[k], fieldSchema(a, k));
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Remove the field or item at `path` (a no-op when it is not there). */
export function removePath(v: Json, path: Path, s: Schema | undefined): Json {
  if (!path.length) return undefined;
  const [pe, ...rest] = path as [PathElement, ...Path];
  const a = atomOf(s, v);
  if (a.t === 'list' && Array.isArray(v)) {
    const out: Json[] = [];
    v.forEach((item, i) => {
      if (itemElement(a, item, i) !== pe) return out.push(item);
      if (!rest.length) return;
      out.push(removePath(item, rest, a.items));
    });
    return out;
  }
  if (isObj(v) && pe.startsWith('f:')) {
    const k = pe.slice(2);
    if (!(k in v)) return v;
    const out: Obj = { ...v };
    if (!rest.length) delete out[k];
    else out[k] = removePath(v[k], rest, fieldSchema(a, k));
    return out;
  }
  return v;
}

/**
 * The nodes of a set that name struct fields or list items, members or not (structured-merge-diff's
 * EnsureNamedFieldsAreMembers): a field an applier set only through its children is still its to prune.
 */
export function* nodes(set: FieldSet, prefix: Path = []): Generator<Path> {
  for (const m of set.members) yield [...prefix, m];
  for (const [pe, c] of set.children) {
    if (!set.members.has(pe)) yield [...prefix, pe];
    yield* nodes(c, [...prefix, pe]);
  }
}
