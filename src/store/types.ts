/**
 * The storage contract every backend (sqlite, etcd, memory) implements. Keys are strings such as
 * "/registry/pods/default/web-1"; values are opaque JSON text. One monotonic revision per backend feeds
 * every object's metadata.resourceVersion and watch positions.
 */
export interface KV {
  key: string;
  value: string;
  /** revision at which this key was last written */
  modRevision: number;
  /** revision at which this key was created (survives updates) */
  createRevision: number;
}

export interface ListOptions {
  /** max items; the page ends with `continue` when more remain */
  limit?: number;
  /** opaque token from a previous page */
  continue?: string;
}

export interface ListResult {
  items: KV[];
  /** revision the list is consistent at */
  revision: number;
  continue?: string;
}

export type WatchEvent =
  | { type: 'put'; kv: KV; prev?: KV }
  | { type: 'delete'; key: string; prev: KV; revision: number }
  /** a progress marker: no event for this prefix up to `revision` */
  | { type: 'progress'; revision: number };

/**
 * One client's watch. Iterate it with `for await`. The stream ends (done) when closed by the caller, when the
 * backend closes, or when the consumer is too slow (its bounded buffer overflowed: `closeReason` says so; the
 * client re-watches from the last revision it saw, as a Kubernetes client does). A too-old start revision
 * raises CompactedError: synchronously from watch() where the backend can tell at once (memory, sqlite), or
 * from the first next() (etcd, or when a compaction happened in between).
 */
export interface Watch extends AsyncIterable<WatchEvent> {
  close(): void;
  /**
   * Ask for a `progress` event: it is queued after every event for this prefix up to its revision
   * (Kubernetes bookmarks build on this).
   */
  requestProgress(): void;
  /** why the stream ended, when it was not the caller's close() */
  readonly closeReason?: string;
}

export interface StoreBackend {
  readonly name: string;
  get(key: string): Promise<KV | undefined>;
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** throws AlreadyExistsError */
  create(key: string, value: string): Promise<KV>;
  /** throws NotFoundError, ConflictError when expectedRevision (modRevision) differs */
  update(key: string, value: string, expectedRevision?: number): Promise<KV>;
  /** throws NotFoundError, ConflictError; returns the deleted KV as `prev` and the delete's own revision */
  delete(key: string, expectedRevision?: number): Promise<{ prev: KV; revision: number }>;
  /**
   * Events with revision > fromRevision for keys under prefix, in revision order. 0 replays the whole
   * (uncompacted) history; to watch "from now", pass currentRevision() or the revision of a list.
   * Throws CompactedError (→ 410) when fromRevision is older than the history kept.
   */
  watch(prefix: string, fromRevision: number): Watch;
  currentRevision(): Promise<number>;
  /**
   * Drop the history below `revision` (backends also do this on their own beyond their window):
   * afterwards a watch or list-continue from a revision < `revision` throws CompactedError. (etcd keeps the
   * event at `revision` itself, so there a watch from revision - 1 still works.)
   */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}

/** How a backend is chosen and where it keeps its state (src/store/index.ts `createBackend`). */
export interface BackendOptions {
  kind: 'sqlite' | 'etcd' | 'memory';
  /** sqlite: the state directory; the database is DIR/state.db */
  dir?: string;
  /** etcd: client URLs, e.g. ["http://127.0.0.1:2379"] */
  etcdEndpoints?: string[];
  /** etcd: every key is stored under this prefix (default "/skiff") */
  prefix?: string;
  /** history kept for watch/list-continue, in revisions (default 10000) */
  compactionWindow?: number;
  /** events buffered per watcher before a slow watcher is closed (default 1000) */
  maxWatchBuffer?: number;
}

export class StoreError extends Error {}
/** A malformed or foreign `continue` token, or a bad key/argument: the caller's mistake (HTTP 400). */
export class InvalidArgumentError extends StoreError {
  constructor(message: string) {
    super(message);
    this.name = 'InvalidArgumentError';
  }
}
export class NotFoundError extends StoreError {
  constructor(readonly key: string) {
    super(`not found: ${key}`);
    this.name = 'NotFoundError';
  }
}
export class AlreadyExistsError extends StoreError {
  constructor(readonly key: string) {
    super(`already exists: ${key}`);
    this.name = 'AlreadyExistsError';
  }
}
export class ConflictError extends StoreError {
  constructor(
    readonly key: string,
    readonly expected: number,
    readonly actual: number,
  ) {
    super(`conflict on ${key}: expected revision ${expected}, have ${actual}`);
    this.name = 'ConflictError';
  }
}
export class CompactedError extends StoreError {
  constructor(
    readonly requested: number,
    readonly oldest: number,
  ) {
    super(`revision ${requested} has been compacted; oldest available is ${oldest}`);
    this.name = 'CompactedError';
  }
}
