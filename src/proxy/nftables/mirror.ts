import type { Elem } from './layout.js';

/**
 * In-memory mirror of the elements this proxy put in its maps. Services may share an element (two
 * services using one endpoint share its hairpin entry), so each (map, key) remembers which services want
 * it with what value; the kernel gets the value of the first owner in key order, deterministically.
 */
export class ElementMirror {
  /** service → its elements as "map\0key" → value */
  private readonly byService = new Map<string, Map<string, string>>();
  /** "map\0key" → service → value */
  private readonly owners = new Map<string, Map<string, string>>();
  /** what the kernel holds: "map\0key" → value */
  readonly kernel = new Map<string, string>();

  static id(map: string, key: string): string {
    return `${map}\0${key}`;
  }

  /** Replace one service's elements; returns the ids whose kernel value may have to change. */
  setService(service: string, elems: readonly Elem[] | undefined): Set<string> {
    const touched = new Set<string>();
    const old = this.byService.get(service);
    if (old) {
      for (const id of old.keys()) {
        touched.add(id);
        const o = this.owners.get(id);
        o?.delete(service);
        if (o && o.size === 0) this.owners.delete(id);
      }
    }
    if (elems && elems.length) {
      const mine = new Map<string, string>();
      for (const e of elems) {
        const id = ElementMirror.id(e.map, e.key);
        mine.set(id, e.value);
        touched.add(id);
        let o = this.owners.get(id);
        if (!o) this.owners.set(id, (o = new Map()));
        o.set(service, e.value);
      }
      this.byService.set(service, mine);
    } else {
      this.byService.delete(service);
    }
    return touched;
  }

  /** The value the kernel should hold for an id, or undefined if no service wants it. */
  wanted(id: string): string | undefined {
    const o = this.owners.get(id);
    if (!o || o.size === 0) return undefined;
    let best: string | undefined;
    for (const s of o.keys()) if (best === undefined || s < best) best = s;
    return o.get(best as string);
  }

  /** Every id any service wants. */
  wantedIds(): IterableIterator<string> {
    return this.owners.keys();
  }

  services(): IterableIterator<string> {
    return this.byService.keys();
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
