/**
 * The in-memory backend: same semantics as sqlite and etcd (one revision counter, an event log with previous
 * values, watch from a revision, compaction window, list snapshots across pages), nothing survives the
 * process. Used by tests and `--store memory`.
 */
import { checkKey, checkLimit, checkPrefix, decodeContinue, encodeContinue, eventRevision } from './keys.js';
import { WatchHub, type EventLog } from './watch-hub.js';
import {
  AlreadyExistsError,
  CompactedError,
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  StoreError,
  type KV,
  type ListOptions,
  type ListResult,
  type StoreBackend,
  type Watch,
  type WatchEvent,
} from './types.js';

type LogEvent = Extract<WatchEvent, { type: 'put' } | { type: 'delete' }>;

export interface MemoryOptions {
  compactionWindow?: number;
  maxWatchBuffer?: number;
}

export class MemoryBackend implements StoreBackend, EventLog {
  readonly name = 'memory';
  private readonly objects = new Map<string, KV>();
  /** put/delete events in ascending revision order, oldest compacted away */
  private log: LogEvent[] = [];
  private rev = 0;
  private compacted = 0;
  private closed = false;
  private readonly window: number;
  private readonly hub: WatchHub;

  constructor(opts: MemoryOptions = {}) {
    this.window = opts.compactionWindow ?? 10_000;
    if (!Number.isInteger(this.window) || this.window < 1) throw new InvalidArgumentError('compactionWindow must be >= 1');
    this.hub = new WatchHub(this, { maxBuffered: opts.maxWatchBuffer });
  }

  private open(): void {
    if (this.closed) throw new StoreError('store is closed');
  }

  async get(key: string): Promise<KV | undefined> {
    this.open();
    checkKey(key);
    return this.objects.get(key);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.open();
    checkPrefix(prefix);
    const limit = checkLimit(opts.limit);
    let revision = this.rev;
    let after: string | undefined;
    if (opts.continue) {
      const tok = decodeContinue(prefix, opts.continue);
      if (tok.revision > this.rev) throw new InvalidArgumentError('continue token is from the future');
      if (tok.revision < this.compacted) throw new CompactedError(tok.revision, this.compacted);
      revision = tok.revision;
      after = tok.key;
    }
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
    if (limit !== undefined && items.length > limit) {
      const page = items.slice(0, limit);
      return { items: page, revision, continue: encodeContinue(prefix, { revision, key: page[page.length - 1]!.key }) };
    }
    return { items, revision };
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
    const prev = this.objects.get(key);
    if (!prev) throw new NotFoundError(key);
    if (expectedRevision !== undefined && expectedRevision !== prev.modRevision) {
      throw new ConflictError(key, expectedRevision, prev.modRevision);
    }
    const rev = ++this.rev;
    const kv: KV = { key, value, modRevision: rev, createRevision: prev.createRevision };
    this.commit(key, kv, { type: 'put', kv, prev });
    return kv;
  }

  async delete(key: string, expectedRevision?: number): Promise<{ prev: KV; revision: number }> {
    this.open();
    checkKey(key);
    const prev = this.objects.get(key);
    if (!prev) throw new NotFoundError(key);
    if (expectedRevision !== undefined && expectedRevision !== prev.modRevision) {
      throw new ConflictError(key, expectedRevision, prev.modRevision);
    }
    const revision = ++this.rev;
    this.commit(key, undefined, { type: 'delete', key, prev, revision });
    return { prev, revision };
  }

  private commit(key: string, kv: KV | undefined, e: LogEvent): void {
    if (kv) this.objects.set(key, kv);
    else this.objects.delete(key);
    this.log.push(e);
    // Compact in steps of a tenth of the window so the splice cost is amortised.
    if (this.rev - this.compacted > this.window + Math.ceil(this.window / 10)) this.compactTo(this.rev - this.window);
    this.hub.publish(e);
  }

  watch(prefix: string, fromRevision: number): Watch {
    this.open();
    checkPrefix(prefix);
    return this.hub.watch(prefix, fromRevision);
  }

  async currentRevision(): Promise<number> {
    this.open();
    return this.rev;
  }

  async compact(revision: number): Promise<void> {
    this.open();
    if (!Number.isInteger(revision) || revision < 0) throw new InvalidArgumentError(`invalid compaction revision ${revision}`);
    if (revision > this.rev) throw new InvalidArgumentError(`cannot compact to ${revision}: current revision is ${this.rev}`);
    this.compactTo(revision);
  }

  private compactTo(revision: number): void {
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

  currentRevisionSync(): number {
    return this.rev;
  }

  compactedRevisionSync(): number {
    return this.compacted;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.closeAll('store closed');
  }
}
