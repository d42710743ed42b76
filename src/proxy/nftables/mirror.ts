import type { Elem } from './layout.js';

interface Owner {
  s: string;
  v: string;
}

/**
 * In-memory mirror of the elements this proxy put in its maps. Services may share an element (two
 * services using one endpoint share its hairpin entry), so each (map, key) remembers which services want
 * it with what value; the kernel gets the value of the first owner in key order, deterministically.
 * Shaped for 10k+ services: one small record per element, almost always a single owner (no per-element
 * Map), because allocation and GC dominated the first version's full sync.
 */
export class ElementMirror {
  /** service → ids of its elements */
  private readonly byService = new Map<string, string[]>();
  /** "map\0key" → owner(s) */
  private readonly owners = new Map<string, Owner | Owner[]>();
  /** what the kernel holds: "map\0key" → value */
  kernel = new Map<string, string>();

  static id(map: string, key: string): string {
    return `${map}\0${key}`;
  }

  private dropOwner(id: string, service: string): void {
    const o = this.owners.get(id);
    if (!o) return;
    if (!Array.isArray(o)) {
      if (o.s === service) this.owners.delete(id);
      return;
    }
    const rest = o.filter((x) => x.s !== service);
    if (rest.length === 0) this.owners.delete(id);
    else this.owners.set(id, rest.length === 1 ? (rest[0] as Owner) : rest);
  }

  private addOwner(id: string, service: string, value: string): void {
    const o = this.owners.get(id);
    if (!o) this.owners.set(id, { s: service, v: value });
    else if (Array.isArray(o)) o.push({ s: service, v: value });
    else this.owners.set(id, [o, { s: service, v: value }]);
  }

  /** Replace one service's elements; returns the ids whose kernel value may have to change. */
  setService(service: string, elems: readonly Elem[] | undefined): Set<string> {
    const touched = new Set<string>();
    for (const id of this.byService.get(service) ?? []) {
      touched.add(id);
      this.dropOwner(id, service);
    }
    if (elems && elems.length) {
      const ids: string[] = [];
      for (const e of elems) {
        const id = `${e.map}\0${e.key}`;
        if (touched.has(id) && ids.includes(id)) continue;
        ids.push(id);
        touched.add(id);
        this.addOwner(id, service, e.value);
      }
      this.byService.set(service, ids);
    } else {
      this.byService.delete(service);
    }
    return touched;
  }

  /** Bulk load for a full sync: every service's elements at once, no diffing. */
  load(all: Iterable<[string, readonly Elem[]]>): void {
    this.byService.clear();
    this.owners.clear();
    for (const [service, elems] of all) {
      const ids: string[] = [];
      for (const e of elems) {
        const id = `${e.map}\0${e.key}`;
        ids.push(id);
        this.addOwner(id, service, e.value);
      }
      this.byService.set(service, ids);
    }
  }

  /** The value the kernel should hold for an id, or undefined if no service wants it. */
  wanted(id: string): string | undefined {
    const o = this.owners.get(id);
    if (!o) return undefined;
    if (!Array.isArray(o)) return o.v;
    let best = o[0] as Owner;
    for (const x of o) if (x.s < best.s) best = x;
    return best.v;
  }

  /** Every wanted (id, value). */
  *wantedEntries(): IterableIterator<[string, string]> {
    for (const id of this.owners.keys()) yield [id, this.wanted(id) as string];
  }

  /** After a full sync the kernel holds exactly what is wanted. */
  kernelIsWanted(): void {
    const k = new Map<string, string>();
    for (const [id, v] of this.wantedEntries()) k.set(id, v);
    this.kernel = k;
  }

  clear(): void {
    this.byService.clear();
    this.owners.clear();
    this.kernel.clear();
  }
}

export function splitId(id: string): [string, string] {
  const i = id.indexOf('\0');
  return [id.slice(0, i), id.slice(i + 1)];
}
