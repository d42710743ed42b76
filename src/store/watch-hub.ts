/**
 * In-process watch fan-out for backends whose event log lives in this process (memory, sqlite).
 *
 * Each watcher first catches up by reading the backend's event log in small batches (so a watch from an old
 * revision never loads the whole history at once), then turns live: every commit is pushed to it, sharing one
 * event object across watchers. A live watcher's buffer is bounded (BufferedWatch): a consumer that falls that
 * far behind is closed rather than allowed to grow memory; it re-watches from the last revision it saw and
 * catches up from the log again.
 */
import { checkRevision, eventRevision } from './keys.js';
import { CompactedError, type Watch, type WatchEvent } from './types.js';
import { BufferedWatch } from './watch-queue.js';

export interface EventLog {
  /** events for keys under `prefix` with afterRev < revision <= uptoRev, ascending, at most `limit` */
  readEvents(prefix: string, afterRev: number, uptoRev: number, limit: number): WatchEvent[];
  currentRevisionSync(): number;
  /** events at or below this revision are gone */
  compactedRevisionSync(): number;
}

export interface HubOptions {
  maxBuffered?: number;
  /** events read from the log per catch-up step */
  batch?: number;
}

class HubWatch extends BufferedWatch {
  /** every event for this prefix up to `cursor` has been queued */
  private cursor: number;
  live = false;
  private progressWanted = false;

  constructor(
    private readonly hub: WatchHub,
    private readonly prefix: string,
    fromRevision: number,
  ) {
    super(hub.maxBuffered);
    this.cursor = fromRevision;
  }

  /** One batch from the log; turns live once it has read up to the store's current revision. */
  protected override pull(): boolean {
    if (this.live) return false;
    const log = this.hub.log;
    const compacted = log.compactedRevisionSync();
    if (this.cursor < compacted) throw new CompactedError(this.cursor, compacted);
    const upto = log.currentRevisionSync();
    const batch = this.hub.batch;
    const events = upto > this.cursor ? log.readEvents(this.prefix, this.cursor, upto, batch) : [];
    for (const e of events) this.append(e);
    if (events.length < batch) {
      this.cursor = Math.max(this.cursor, upto);
      this.live = true;
      if (this.progressWanted) this.pushProgress();
    } else {
      this.cursor = eventRevision(events[events.length - 1]!);
    }
    return true;
  }

  /** A committed event (live watchers only). */
  deliver(e: WatchEvent, rev: number): void {
    if (rev <= this.cursor) return;
    this.cursor = rev;
    const key = e.type === 'put' ? e.kv.key : e.type === 'delete' ? e.key : undefined;
    if (key !== undefined && key.startsWith(this.prefix)) this.enqueue(e);
  }

  private pushProgress(): void {
    this.progressWanted = false;
    this.enqueue({ type: 'progress', revision: this.cursor });
  }

  requestProgress(): void {
    if (this.closed) return;
    if (this.live) this.pushProgress();
    else this.progressWanted = true;
  }

  protected override onClose(): void {
    this.hub.remove(this);
  }
}

export class WatchHub {
  private readonly watchers = new Set<HubWatch>();
  readonly maxBuffered: number;
  readonly batch: number;

  constructor(
    readonly log: EventLog,
    opts: HubOptions = {},
  ) {
    this.maxBuffered = opts.maxBuffered ?? 1000;
    this.batch = opts.batch ?? 256;
  }

  /** Events after `from` (0 = the whole history). Throws CompactedError at once when the history is gone. */
  watch(prefix: string, from: number): Watch {
    checkRevision('watch', from);
    const compacted = this.log.compactedRevisionSync();
    if (from < compacted) throw new CompactedError(from, compacted);
    const w = new HubWatch(this, prefix, from);
    this.watchers.add(w);
    return w;
  }

  /** Fan one committed event out to the live watchers (catching-up ones read it from the log). */
  publish(e: WatchEvent): void {
    const rev = eventRevision(e);
    for (const w of this.watchers) if (w.live) w.deliver(e, rev);
  }

  remove(w: HubWatch): void {
    this.watchers.delete(w);
  }

  get size(): number {
    return this.watchers.size;
  }

  /** Close every watcher (backend shutdown): their streams end. */
  closeAll(reason: string): void {
    for (const w of [...this.watchers]) w.close(reason);
  }
}
