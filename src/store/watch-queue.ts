/**
 * The consumer side every backend's watch shares: a bounded queue behind an async iterator. A producer
 * enqueues events; when more than `maxBuffered` wait unread, the watch is closed (the stream ends with
 * `closeReason`) instead of growing memory for a consumer that does not keep up.
 */
import type { Watch, WatchEvent } from './types.js';

type Waiter = { resolve: (r: IteratorResult<WatchEvent>) => void; reject: (e: unknown) => void };

export abstract class BufferedWatch implements Watch, AsyncIterator<WatchEvent> {
  private queue: WatchEvent[] = [];
  private head = 0;
  private waiter: Waiter | undefined;
  private failure: Error | undefined;
  protected closed = false;
  closeReason?: string;

  constructor(protected readonly maxBuffered: number) {}

  abstract requestProgress(): void;

  /**
   * Called when the queue is empty and the watch is open: a subclass may enqueue more (e.g. the next batch
   * of history) and return true, or return false to wait for the producer. Throwing fails the watch.
   */
  protected pull(): boolean {
    return false;
  }

  /** Called once when the watch ends for any reason (release the producer side). */
  protected onClose(): void {}

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    return this;
  }

  protected get buffered(): number {
    return this.queue.length - this.head;
  }

  /** Append without the overflow check (bounded batches a subclass pulls itself). */
  protected append(e: WatchEvent): void {
    this.queue.push(e);
  }

  private take(): WatchEvent | undefined {
    if (this.head >= this.queue.length) return undefined;
    const e = this.queue[this.head++]!;
    // Drop the consumed front now and then instead of shift()ing (O(n) per event).
    if (this.head > 512 && this.head * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.head);
      this.head = 0;
    }
    return e;
  }

  async next(): Promise<IteratorResult<WatchEvent>> {
    for (;;) {
      const e = this.take();
      if (e) return { value: e, done: false };
      if (this.failure) {
        const f = this.failure;
        this.failure = undefined;
        this.finish();
        throw f;
      }
      if (this.closed) return { value: undefined, done: true };
      let more: boolean;
      try {
        more = this.pull();
      } catch (err) {
        this.finish();
        throw err;
      }
      if (more) continue;
      return new Promise((resolve, reject) => {
        this.waiter = { resolve, reject };
      });
    }
  }

  async return(): Promise<IteratorResult<WatchEvent>> {
    this.close();
    return { value: undefined, done: true };
  }

  /** Deliver one event; closes a watch whose consumer has `maxBuffered` events unread. */
  protected enqueue(e: WatchEvent): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: e, done: false });
      return;
    }
    if (this.buffered >= this.maxBuffered) {
      this.close(`slow watcher closed: ${this.buffered} events buffered`);
      return;
    }
    this.queue.push(e);
  }

  /** End the watch with an error, raised to the consumer after the events already queued. */
  fail(err: Error): void {
    if (this.closed || this.failure) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      this.finish();
      w.reject(err);
      return;
    }
    this.failure = err;
    this.onClose();
  }

  close(reason?: string): void {
    if (this.closed) return;
    if (reason) {
      this.closeReason = reason;
      // A closed slow watcher's backlog goes with it: the client re-watches from its last seen revision.
      this.queue = [];
      this.head = 0;
    }
    this.finish();
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    this.onClose();
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve({ value: undefined, done: true });
    }
  }
}
