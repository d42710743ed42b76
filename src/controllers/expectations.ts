/**
 * Names of objects a controller has just created or deleted but whose events its informer has not
 * delivered yet (client-go's "expectations"). Without them a second reconcile in that window would see
 * the old state and create or delete again. Entries expire so a lost event cannot wedge a key forever.
 */
export class Expectations {
  private readonly creates = new Map<string, Map<string, number>>();
  private readonly deletes = new Map<string, Map<string, number>>();

  constructor(private readonly ttlMs = 30_000) {}

  expectCreate(key: string, name: string): void {
    this.bucket(this.creates, key).set(name, Date.now() + this.ttlMs);
  }

  expectDelete(key: string, name: string): void {
    this.bucket(this.deletes, key).set(name, Date.now() + this.ttlMs);
  }

  observedCreate(key: string, name: string): void {
    this.creates.get(key)?.delete(name);
  }

  observedDelete(key: string, name: string): void {
    this.deletes.get(key)?.delete(name);
  }

  /** Creations not yet seen in the cache (`seen` says whether the cache has the name). */
  pendingCreates(key: string, seen: (name: string) => boolean): string[] {
    return this.pending(this.creates, key, (n) => !seen(n));
  }

  /** Deletions the cache still shows as live. */
  pendingDeletes(key: string, stillLive: (name: string) => boolean): string[] {
    return this.pending(this.deletes, key, stillLive);
  }

  forget(key: string): void {
    this.creates.delete(key);
    this.deletes.delete(key);
  }

  private bucket(m: Map<string, Map<string, number>>, key: string): Map<string, number> {
    let b = m.get(key);
    if (!b) m.set(key, (b = new Map()));
    return b;
  }

  private pending(m: Map<string, Map<string, number>>, key: string, stillPending: (name: string) => boolean): string[] {
    const b = m.get(key);
    if (!b) return [];
    const now = Date.now();
    const out: string[] = [];
    for (const [name, expiry] of [...b]) {
      if (expiry < now || !stillPending(name)) b.delete(name);
      else out.push(name);
    }
    if (b.size === 0) m.delete(key);
    return out;
  }
}
