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

export interface Watch extends AsyncIterable<WatchEvent> {
  close(): void;
}

export interface StoreBackend {
  readonly name: string;
  get(key: string): Promise<KV | undefined>;
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** throws AlreadyExistsError */
  create(key: string, value: string): Promise<KV>;
  /** throws NotFoundError, ConflictError when expectedRevision (modRevision) differs */
  update(key: string, value: string, expectedRevision?: number): Promise<KV>;
  /** throws NotFoundError, ConflictError; returns the deleted KV; the delete's own revision is in .modRevision of the returned `deletedAt` */
  delete(key: string, expectedRevision?: number): Promise<{ prev: KV; revision: number }>;
  /** events with revision > fromRevision for keys under prefix; throws CompactedError (→ 410) when too old */
  watch(prefix: string, fromRevision: number): Watch;
  currentRevision(): Promise<number>;
  close(): Promise<void>;
}

export class StoreError extends Error {}
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
