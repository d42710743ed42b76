/**
 * What the backends whose event log lives in this process (memory, sqlite) share: the revision counter and
 * compaction point, the compaction window, watch fan-out through a WatchHub, where a list page starts, and
 * the checks a write makes against the key's current value. Each backend keeps only its storage: how it
 * reads and writes objects and events, and how it drops old history (compactTo).
 */
import { checkLimit, checkPrefix, checkRevision, decodeContinue } from './keys.js';
import { WatchHub, type EventLog } from './watch-hub.js';
import {
  CompactedError,
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  StoreError,
  type KV,
  type ListOptions,
  type Watch,
  type WatchEvent,
} from './types.js';

export interface LogBackendOptions {
  /** history kept for watch/list-continue, in revisions (default 10000) */
  compactionWindow?: number;
  /** events buffered per watcher before a slow watcher is closed (default 1000) */
  maxWatchBuffer?: number;
}

/** Where a list page is read: at `revision`, keys after `after` (undefined: from the first key). */
export interface ListStart {
  limit: number | undefined;
  revision: number;
  after: string | undefined;
}

/**
 * The value a conditional write (update, delete) replaces: throws NotFoundError when the key is absent and
 * ConflictError when `expectedRevision` is given and is not its modRevision.
 */
export function requireCurrent(key: string, prev: KV | undefined, expectedRevision: number | undefined): KV {
  if (!prev) throw new NotFoundError(key);
  if (expectedRevision !== undefined && expectedRevision !== prev.modRevision) {
    throw new ConflictError(key, expectedRevision, prev.modRevision);
  }
  return prev;
}

export abstract class LogBackend implements EventLog {
  abstract readonly name: string;
  /** the revision of the last committed write */
  protected rev = 0;
  /** events at or below this revision are gone */
  protected compacted = 0;
  protected closed = false;
  protected readonly window: number;
  protected readonly hub: WatchHub;

  constructor(opts: LogBackendOptions = {}) {
    this.window = opts.compactionWindow ?? 10_000;
    if (!Number.isInteger(this.window) || this.window < 1)
      throw new InvalidArgumentError('compactionWindow must be >= 1');
    this.hub = new WatchHub(this, { maxBuffered: opts.maxWatchBuffer });
  }

  /** events for keys under `prefix` with afterRev < revision <= uptoRev, ascending, at most `limit` */
  abstract readEvents(prefix: string, afterRev: number, uptoRev: number, limit: number): WatchEvent[];

  /** Drop the stored history up to and including `revision` (a no-op at or below the compaction point). */
  protected abstract compactTo(revision: number): void;

  protected open(): void {
    if (this.closed) throw new StoreError('store is closed');
  }

  /**
   * Validates a list call and resolves its continue token: a page is read at the revision of the list's first
   * page, so a token from the future is forged and one older than the compaction point cannot be served.
   */
  protected listStart(prefix: string, opts: ListOptions): ListStart {
    this.open();
    checkPrefix(prefix);
    const limit = checkLimit(opts.limit);
    if (!opts.continue) return { limit, revision: this.rev, after: undefined };
    const tok = decodeContinue(prefix, opts.continue);
    if (tok.revision > this.rev) throw new InvalidArgumentError('continue token is from the future');
    if (tok.revision < this.compacted) throw new CompactedError(tok.revision, this.compacted);
    return { limit, revision: tok.revision, after: tok.key };
  }

  /**
   * True when the history has grown past the window. Compaction then trims back to exactly the window, so it
   * runs once per tenth of a window of writes and its cost is amortised.
   */
  protected compactionDue(): boolean {
    return this.rev - this.compacted > this.window + Math.ceil(this.window / 10);
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
    checkRevision('compaction', revision);
    if (revision > this.rev)
      throw new InvalidArgumentError(`cannot compact to ${revision}: current revision is ${this.rev}`);
    this.compactTo(revision);
  }

  currentRevisionSync(): number {
    return this.rev;
  }

  compactedRevisionSync(): number {
    return this.compacted;
  }
}
