/**
 * The in-memory backend: same semantics as sqlite and etcd (one revision counter, an event log with previous
 * values, watch from a revision, compaction window, list snapshots across pages), nothing survives the
 * process. Used by tests and `--store memory`.
 */
import { checkKey, eventRevision, pageOf } from './keys.js';
import { LogBackend, requireCurrent, type LogBackendOptions } from './log-backend.js';
import {
  AlreadyExistsError,
  type KV,
  type ListOptions,
  type ListResult,
  type StoreBackend,
  type WatchEvent,
} from './types.js';

type LogEvent = Extract<WatchEvent, { type: 'put' } | { type: 'delete' }>;

export type MemoryOptions = LogBackendOptions;

export class MemoryBackend extends LogBackend implements StoreBackend {
  readonly name = 'memory';
  private readonly objects = new Map<string, KV>();
  /** put/delete events in ascending revision order, oldest compacted away */
  private log: LogEvent[] = [];

  async get(key: string): Promise<KV | undefined> {
    this.open();
    checkKey(key);
    return this.objects.get(key);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const { limit, revision, after } = this.listStart(prefix, opts);
    // State at `revision` = current state, except keys written since: for those, the value before their
    // first later write (undefined when that write created the key).
    const older = new Map<string, KV | undefined>();
    for (let i = this.firstAfter(revision); i < this.log.length; i++) {
      const e = this.log[i]!;
      const key = e.type === 'put' ? e.kv.key : e.key;
      if (key.startsWith(prefix) && !older.has(key)) older.set(key, e.prev);
    }
    const items: KV[] = [];
    for (const [k, kv] of this.objects) {
      if (k.startsWith(prefix) && !older.has(k) && (after === undefined || k > after)) items.push(kv);
    }
    for (const [k, kv] of older) if (kv && (after === undefined || k > after)) items.push(kv);
    items.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    return pageOf(prefix, items, revision, limit);
  }

  async create(key: string, value: string): Promise<KV> {
    this.open();
    checkKey(key);
    if (this.objects.has(key)) throw new AlreadyExistsError(key);
    const rev = ++this.rev;
    const kv: KV = { key, value, modRevision: rev, createRevision: rev };
    this.commit(key, kv, { type: 'put', kv });
    return kv;
  }

  async update(key: string, value: string, expectedRevision?: number): Promise<KV> {
    this.open();
    checkKey(key);
    const prev = requireCurrent(key, this.objects.get(key), expectedRevision);
    const rev = ++this.rev;
    const kv: KV = { key, value, modRevision: rev, createRevision: prev.createRevision };
    this.commit(key, kv, { type: 'put', kv, prev });
    return kv;
  }

  async delete(key: string, expectedRevision?: number): Promise<{ prev: KV; revision: number }> {
    this.open();
    checkKey(key);
    const prev = requireCurrent(key, this.objects.get(key), expectedRevision);
    const revision = ++this.rev;
    this.commit(key, undefined, { type: 'delete', key, prev, revision });
    return { prev, revision };
  }

  private commit(key: string, kv: KV | undefined, e: LogEvent): void {
    if (kv) this.objects.set(key, kv);
    else this.objects.delete(key);
    this.log.push(e);
    if (this.compactionDue()) this.compactTo(this.rev - this.window);
    this.hub.publish(e);
  }

  protected compactTo(revision: number): void {
    if (revision <= this.compacted) return;
    this.log = this.log.slice(this.firstAfter(revision));
    this.compacted = revision;
  }

  /** index of the first logged event with revision > rev */
  private firstAfter(rev: number): number {
    let lo = 0;
    let hi = this.log.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (eventRevision(this.log[mid]!) <= rev) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  readEvents(prefix: string, afterRev: number, uptoRev: number, limit: number): WatchEvent[] {
    const out: WatchEvent[] = [];
    for (let i = this.firstAfter(afterRev); i < this.log.length && out.length < limit; i++) {
      const e = this.log[i]!;
      if (eventRevision(e) > uptoRev) break;
      if ((e.type === 'put' ? e.kv.key : e.key).startsWith(prefix)) out.push(e);
    }
    return out;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.closeAll('store closed');
  }
}
