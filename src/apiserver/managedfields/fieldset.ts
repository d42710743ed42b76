/**
 * Sets of field paths, as structured-merge-diff's fieldpath.Set, with the FieldsV1 encoding kube-apiserver
 * stores in metadata.managedFields. A path element is kept in its FieldsV1 spelling:
 *   `f:name`              a field of a struct or a key of a map,
 *   `k:{"name":"web"}`    an item of an associative list, by its key fields (sorted, JSON values),
 *   `v:"value"`           an item of a set list, by its JSON value,
 *   `i:0`                 an item of a list by index.
 * A node may be a member itself and have children; FieldsV1 writes that as `".": {}` among the children.
 */

export type PathElement = string;
export type Path = PathElement[];

export class FieldSet {
  readonly members = new Set<PathElement>();
  readonly children = new Map<PathElement, FieldSet>();

  static of(paths: Iterable<Path>): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  insert(p: Path): void {
    if (!p.length) return;
    const parent = p.slice(0, -1).reduce<FieldSet>((node, pe) => node.child(pe), this);
    parent.members.add(p[p.length - 1]!);
  }

  private child(pe: PathElement): FieldSet {
    let c = this.children.get(pe);
    if (!c) {
      c = new FieldSet();
      this.children.set(pe, c);
    }
    return c;
  }

  has(p: Path): boolean {
    if (!p.length) return false;
    return this.at(p.slice(0, -1))?.members.has(p[p.length - 1]!) ?? false;
  }

  /** The subtree under `p` (members and children), if any. */
  at(p: Path): FieldSet | undefined {
    return p.reduce<FieldSet | undefined>((node, pe) => node?.children.get(pe), this);
  }

  /** True when `p` is a member or has a member below it. */
  touches(p: Path): boolean {
    if (this.has(p)) return true;
    const sub = this.at(p);
    return sub !== undefined && !sub.empty();
  }

  empty(): boolean {
    if (this.members.size) return false;
    for (const c of this.children.values()) if (!c.empty()) return false;
    return true;
  }

  /** Every member path, depth first. */
  *paths(prefix: Path = []): Generator<Path> {
    for (const m of sorted(this.members)) yield [...prefix, m];
    for (const [pe, c] of sortedEntries(this.children)) yield* c.paths([...prefix, pe]);
  }

  union(o: FieldSet): FieldSet {
    return FieldSet.of([...this.paths(), ...o.paths()]);
  }

  difference(o: FieldSet): FieldSet {
    return FieldSet.of([...this.paths()].filter((p) => !o.has(p)));
  }

  intersection(o: FieldSet): FieldSet {
    return FieldSet.of([...this.paths()].filter((p) => o.has(p)));
  }

  /** Drop every member at or below one of the prefixes (metadata.managedFields, status on the main resource...). */
  withoutPrefixes(prefixes: Path[]): FieldSet {
    const under = (p: Path) => prefixes.some((x) => x.length <= p.length && x.every((pe, i) => p[i] === pe));
    return FieldSet.of([...this.paths()].filter((p) => !under(p)));
  }

  /** Only the members at or below one of the prefixes. */
  onlyPrefixes(prefixes: Path[]): FieldSet {
    const under = (p: Path) => prefixes.some((x) => x.length <= p.length && x.every((pe, i) => p[i] === pe));
    return FieldSet.of([...this.paths()].filter(under));
  }

  /** The FieldsV1 JSON object. */
  toFieldsV1(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const keys = new Set([...this.members, ...this.children.keys()]);
    for (const pe of sorted(keys)) {
      const c = this.children.get(pe);
      const sub = c && !c.empty() ? c.toFieldsV1() : undefined;
      if (sub) out[pe] = this.members.has(pe) ? { '.': {}, ...sub } : sub;
      else if (this.members.has(pe)) out[pe] = {};
    }
    return out;
  }

  static fromFieldsV1(v: unknown): FieldSet {
    const s = new FieldSet();
    const walk = (node: unknown, prefix: Path) => {
      if (typeof node !== 'object' || node === null || Array.isArray(node)) return;
      for (const [k, child] of Object.entries(node as Record<string, unknown>)) {
        if (k === '.') {
          s.insert(prefix);
          continue;
        }
        const isLeaf = typeof child === 'object' && child !== null && !Object.keys(child).length;
        if (isLeaf) s.insert([...prefix, k]);
        else walk(child, [...prefix, k]);
      }
    };
    walk(v, []);
    return s;
  }
}

// structured-merge-diff orders path elements by kind (field names, keys, values, indexes), then by text.
const RANK: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };
function comparePe(a: string, b: string): number {
  const ra = RANK[a[0]!] ?? 4;
  const rb = RANK[b[0]!] ?? 4;
  if (ra !== rb) return ra - rb;
  if (a[0] === 'i' && b[0] === 'i') return Number(a.slice(2)) - Number(b.slice(2));
  return a < b ? -1 : a > b ? 1 : 0;
}
const sorted = (s: Iterable<string>) => [...s].sort(comparePe);
const sortedEntries = <T>(m: Map<string, T>) => [...m.entries()].sort((a, b) => comparePe(a[0], b[0]));

/** fieldpath.Path.String(): `.spec.containers[name="web"].image`, `[="x"]` for set items, `[0]` for indexes. */
export function pathString(p: Path): string {
  return p
    .map((pe) => {
      const body = pe.slice(2);
      switch (pe[0]) {
        case 'f':
          return `.${body}`;
        case 'k': {
          const key = JSON.parse(body) as Record<string, unknown>;
          return `[${Object.entries(key)
            .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
            .join(',')}]`;
        }
        case 'v':
          return `[=${body}]`;
        default:
          return `[${body}]`;
      }
    })
    .join('');
}

/** JSON with object keys sorted, as structured-merge-diff writes key and set values. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (typeof v === 'object' && v !== null)
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}
