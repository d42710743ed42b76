import { elemText, type Elem } from '../nftvocab.js';

interface Owner {
  /** service key */
  s: string;
  e: Elem;
  /** the element as nft text ("key : value"), built once when the owner is added */
  t: string;
}

/**
 * In-memory mirror of the elements this proxy put in its maps. Services may share an element (two
 * services using one endpoint share its hairpin entry), so each (map, key) remembers which services want
 * it with what value; the kernel gets the value of the first owner in key order, deterministically.
 * Shaped for 10k+ services: one small record per element, almost always a single owner (no per-element
 * Map), and updated incrementally — a service whose element list is the same array as last time costs
 * nothing — because allocation and GC dominated the full sync when it was rebuilt every time.
 */
export class ElementMirror {
  /** service → its element list (by identity, to skip unchanged services) and their ids */
  private readonly byService = new Map<string, { elems: readonly Elem[]; ids: string[] }>();
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

  private addOwner(id: string, service: string, e: Elem): void {
    const rec: Owner = { s: service, e, t: elemText(e) };
    const o = this.owners.get(id);
    if (!o) this.owners.set(id, rec);
    else if (Array.isArray(o)) o.push(rec);
    else this.owners.set(id, [o, rec]);
  }

  /** Replace one service's elements (undefined: the service is gone); returns the ids whose kernel value
   * may have to change. Passing the very array the service already has is a no-op. */
  setService(service: string, elems: readonly Elem[] | undefined): Set<string> {
    const touched = new Set<string>();
    const prev = this.byService.get(service);
    if (prev && prev.elems === elems) return touched;
    for (const id of prev?.ids ?? []) {
      touched.add(id);
      this.dropOwner(id, service);
    }
    if (elems && elems.length) {
      const ids: string[] = [];
      const mine = new Set<string>();
      for (const e of elems) {
        const id = `${e.map}\0${e.key}`;
        if (mine.has(id)) continue; // a service listing one element twice owns it once
        mine.add(id);
        ids.push(id);
        touched.add(id);
        this.addOwner(id, service, e);
      }
      this.byService.set(service, { elems, ids });
    } else {
      this.byService.delete(service);
    }
    return touched;
  }

  /** Services that currently own elements. */
  services(): IterableIterator<string> {
    return this.byService.keys();
  }

  private winner(o: Owner | Owner[]): Owner {
    if (!Array.isArray(o)) return o;
    let best = o[0] as Owner;
    for (const x of o) if (x.s < best.s) best = x;
    return best;
  }

  /** The value the kernel should hold for an id, or undefined if no service wants it. */
  wanted(id: string): string | undefined {
    const o = this.owners.get(id);
    return o ? this.winner(o).e.value : undefined;
  }

  /** Every wanted element as nft text, grouped by map (for a full sync). */
  wantedTextByMap(): Map<string, string[]> {
    const byMap = new Map<string, string[]>();
    for (const o of this.owners.values()) {
      const w = this.winner(o);
      const l = byMap.get(w.e.map);
      if (l) l.push(w.t);
      else byMap.set(w.e.map, [w.t]);
    }
    return byMap;
  }

  /** The kernel now holds what is wanted for these ids. */
  kernelIsWantedFor(ids: Iterable<string>): void {
    for (const id of ids) {
      const v = this.wanted(id);
      if (v === undefined) this.kernel.delete(id);
      else this.kernel.set(id, v);
    }
  }

  /** After a full sync the kernel holds exactly what is wanted. */
  kernelIsWanted(): void {
    const k = new Map<string, string>();
    for (const [id, o] of this.owners) k.set(id, this.winner(o).e.value);
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
