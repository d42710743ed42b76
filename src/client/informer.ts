import { Watch, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../util/log.js';
import { describeError, statusCode } from './errors.js';
import { rawGet } from './raw.js';

/** The fields every informer relies on; objects are kept exactly as the server sent them (JSON). */
export interface ObjectLike {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string };
}

export type InformerEvent = 'add' | 'update' | 'delete';
export type InformerHandler<T> = (type: InformerEvent, obj: T, old: T | undefined) => void;

/** "ns/name" for namespaced objects, "name" for cluster-scoped ones (the work-queue key too). */
export function keyOf(obj: ObjectLike): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? '';
  return ns ? `${ns}/${name}` : name;
}

export interface InformerOptions {
  /** Collection path, e.g. `/api/v1/pods` or `/apis/apps/v1/deployments`. */
  path: string;
  log?: Logger;
  /** Server-side watch timeout: the watch is re-opened from the last resourceVersion after this. */
  watchTimeoutSeconds?: number;
}

/**
 * List + watch with a local cache, like client-go's shared informer: `synced` resolves after the first
 * list has been applied, handlers get (type, object, previous object), and the watch is re-established
 * from the last resourceVersion after a close, or from a fresh list (emitting deletes for what vanished)
 * after 410 Gone or an error. Retries back off up to 10 s; stop() ends everything.
 */
export class Informer<T extends ObjectLike> {
  private readonly cache = new Map<string, T>();
  private readonly handlers: InformerHandler<T>[] = [];
  private resourceVersion = '';
  private abort: AbortController | undefined;
  private stopped = false;
  private failures = 0;
  private retryTimer: NodeJS.Timeout | undefined;
  private markSynced!: () => void;
  readonly synced: Promise<void>;
  hasSynced = false;

  constructor(
    private readonly kc: KubeConfig,
    private readonly opts: InformerOptions,
  ) {
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
  }

  on(handler: InformerHandler<T>): void {
    this.handlers.push(handler);
  }

  start(): void {
    this.stopped = false;
    void this.relist();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.abort?.abort();
    this.abort = undefined;
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  list(namespace?: string): T[] {
    const all = [...this.cache.values()];
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  private emit(type: InformerEvent, obj: T, old: T | undefined): void {
    for (const h of this.handlers) {
      try {
        h(type, obj, old);
      } catch (err) {
        this.opts.log?.error({ err: describeError(err), path: this.opts.path }, 'informer handler failed');
      }
    }
  }

  private scheduleRetry(fn: () => Promise<void>): void {
    if (this.stopped) return;
    this.failures++;
    const delay = Math.min(10_000, 100 * 2 ** Math.min(this.failures, 7));
    this.retryTimer = setTimeout(() => void fn(), delay);
  }

  private async relist(): Promise<void> {
    if (this.stopped) return;
    let list: { items?: T[]; metadata?: { resourceVersion?: string } };
    try {
      list = await rawGet(this.kc, this.opts.path);
    } catch (err) {
      this.opts.log?.warn({ err: describeError(err), path: this.opts.path }, 'list failed, retrying');
      this.scheduleRetry(() => this.relist());
      return;
    }
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const item of list.items ?? []) {
      const key = keyOf(item);
      seen.add(key);
      const old = this.cache.get(key);
      this.cache.set(key, item);
      if (!old) this.emit('add', item, undefined);
      else if (old.metadata?.resourceVersion !== item.metadata?.resourceVersion) this.emit('update', item, old);
    }
    for (const [key, old] of [...this.cache]) {
      if (!seen.has(key)) {
        this.cache.delete(key);
        this.emit('delete', old, old);
      }
    }
    this.resourceVersion = list.metadata?.resourceVersion ?? '';
    if (!this.hasSynced) {
      this.hasSynced = true;
      this.markSynced();
    }
    await this.watch();
  }

  private async watch(): Promise<void> {
    if (this.stopped) return;
    const watcher = new Watch(this.kc);
    const startedAt = Date.now();
    let gone = false;
    const onEvent = (type: string, obj: T & { code?: number }): void => {
      if (type === 'ERROR') {
        if (obj.code === 410) gone = true;
        return;
      }
      this.failures = 0;
      const rv = obj.metadata?.resourceVersion;
      if (rv) this.resourceVersion = rv;
      if (type === 'BOOKMARK') return;
      const key = keyOf(obj);
      const old = this.cache.get(key);
      if (type === 'DELETED') {
        this.cache.delete(key);
        this.emit('delete', obj, old);
      } else if (type === 'ADDED' || type === 'MODIFIED') {
        this.cache.set(key, obj);
        this.emit(old ? 'update' : 'add', obj, old);
      }
    };
    const onDone = (err: unknown): void => {
      this.abort = undefined;
      if (this.stopped) return;
      if (gone || statusCode(err) === 410) {
        this.resourceVersion = '';
        void this.relist();
      } else if (err) {
        this.opts.log?.debug({ err: describeError(err), path: this.opts.path }, 'watch ended, relisting');
        this.scheduleRetry(() => this.relist());
      } else if (Date.now() - startedAt < 1000) {
        // Closed at once: do not spin; back off like an error but keep the resourceVersion.
        this.scheduleRetry(() => this.watch());
      } else {
        // A normal close (server timeout): resume from where we were.
        void this.watch();
      }
    };
    try {
      this.abort = await watcher.watch(
        this.opts.path,
        {
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          timeoutSeconds: this.opts.watchTimeoutSeconds ?? 300,
        },
        onEvent,
        onDone,
      );
      if (this.stopped) this.abort.abort();
    } catch (err) {
      onDone(err);
    }
  }
}
