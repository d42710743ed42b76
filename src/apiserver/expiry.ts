/**
 * Expiry of the kinds that expire (Events): kube-apiserver writes them with an etcd lease of --event-ttl,
 * renewed by every write; here each stored value carries its due time (storage.ts) and this sweeper deletes
 * what is due, at the revision it read, so a write racing the sweep keeps the object. Watchers see DELETED,
 * as they do when an etcd lease runs out.
 */
import type { Logger } from '../util/log.js';
import { ConflictError, NotFoundError } from '../store/types.js';
import { resources } from './resources/index.js';
import { expiresAt, resourcePrefix, type ObjectStore } from './storage.js';

export class ExpirySweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly store: ObjectStore,
    private readonly log: Logger,
    /** how often to sweep: a tenth of the TTL, between 1 s and 60 s */
    private readonly periodMs = Math.min(60_000, Math.max(1000, Math.floor(store.ttlMs / 10))),
  ) {}

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.sweep()
        .then(() => undefined)
        .catch((e: unknown) => this.log.warn({ err: e }, 'expiry sweep failed'))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, this.periodMs);
        });
    };
    this.timer = setTimeout(tick, this.periodMs);
  }

  /** One pass over every expiring key space; returns how many objects it removed. */
  async sweep(now = Date.now()): Promise<number> {
    const prefixes = new Set(resources.filter((r) => r.expires).map((r) => resourcePrefix(r)));
    let removed = 0;
    for (const prefix of prefixes) {
      let cont: string | undefined;
      for (let page = 0; page < 10_000 && !this.stopped; page++) {
        const r = await this.store.backend.list(prefix, { limit: 500, continue: cont });
        for (const kv of r.items) {
          const due = expiresAt(kv);
          if (due === undefined || due > now) continue;
          try {
            await this.store.backend.delete(kv.key, kv.modRevision);
            removed++;
          } catch (e) {
            if (!(e instanceof ConflictError || e instanceof NotFoundError)) throw e;
          }
        }
        cont = r.continue;
        if (!cont) break;
      }
    }
    if (removed) this.log.debug({ removed }, 'expired objects removed');
    return removed;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
