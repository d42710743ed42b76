/**
 * client-go's event broadcaster and recorder (tools/record): `recorder.event(obj, type, reason, message)`
 * returns at once and never throws; events queue (at most 1000, newer ones dropped when full, as client-go's
 * DropIfChannelFull), go through the correlator (aggregation, dedup, spam filter) and are written one at a
 * time: a patch for a repeat (count+1), a create otherwise or when the patched event is gone. Transport
 * errors are retried up to 12 times, 10 s apart (the first wait randomised); an answer from the server
 * (rejected, already exists, forbidden) is final, as upstream.
 */
import type { Logger } from '../util/log.js';
import { EventCorrelator, eventName, wireTime, type CorrelatorOptions } from './correlator.js';
import {
  SinkError,
  type CoreEvent,
  type EventSink,
  type EventSource,
  type EventType,
  type ObjectReference,
  type Referable,
} from './types.js';

export interface BroadcasterOptions extends CorrelatorOptions {
  maxQueued?: number;
  maxTries?: number;
  retryDelayMs?: number;
}

export interface EventRecorder {
  /** record an event about `obj` (an object with metadata, or a reference with fieldPath) */
  event(obj: Referable | ObjectReference, type: EventType, reason: string, message: string): void;
}

/** reference.GetReference for an object whose kind the caller knows (informer items carry no kind). */
export function refTo(kind: string, apiVersion: string, obj: Referable, fieldPath?: string): ObjectReference {
  return { ...referenceOf({ ...obj, kind, apiVersion }), ...(fieldPath ? { fieldPath } : {}) };
}

/** reference.GetReference: the subject of an event. */
function referenceOf(obj: Referable | ObjectReference): ObjectReference {
  if (!('metadata' in obj)) return obj as ObjectReference;
  const o = obj as Referable;
  const m = o.metadata ?? {};
  const ref: ObjectReference = {
    kind: o.kind,
    namespace: m.namespace,
    name: m.name,
    uid: m.uid,
    apiVersion: o.apiVersion,
  };
  if (m.resourceVersion) ref.resourceVersion = m.resourceVersion;
  return ref;
}

export class EventBroadcaster {
  private readonly queue: CoreEvent[] = [];
  private readonly correlator: EventCorrelator;
  private readonly maxQueued: number;
  private readonly maxTries: number;
  private readonly retryDelayMs: number;
  private readonly now: () => number;
  private worker?: Promise<void>;
  private wake?: () => void;
  private stopped = false;
  private dropped = 0;

  constructor(
    private readonly sink: EventSink,
    private readonly log: Logger,
    o: BroadcasterOptions = {},
  ) {
    this.correlator = new EventCorrelator(o);
    this.maxQueued = o.maxQueued ?? 1000;
    this.maxTries = o.maxTries ?? 12;
    this.retryDelayMs = o.retryDelayMs ?? 10_000;
    this.now = o.now ?? Date.now;
  }

  newRecorder(source: EventSource): EventRecorder {
    return {
      event: (obj, type, reason, message) => {
        try {
          this.enqueue(this.makeEvent(source, referenceOf(obj), type, reason, message));
        } catch (e) {
          this.log.warn({ err: e, reason }, 'could not record event');
        }
      },
    };
  }

  private makeEvent(
    source: EventSource,
    ref: ObjectReference,
    type: EventType,
    reason: string,
    message: string,
  ): CoreEvent {
    const now = this.now();
    const t = wireTime(now);
    return {
      metadata: { name: eventName(ref.name ?? '', now), namespace: ref.namespace || 'default' },
      involvedObject: ref,
      reason,
      message,
      source,
      firstTimestamp: t,
      lastTimestamp: t,
      count: 1,
      type,
      reportingComponent: source.component,
      reportingInstance: source.host,
    };
  }

  private enqueue(e: CoreEvent): void {
    if (this.stopped) return;
    if (e.type !== 'Normal' && e.type !== 'Warning') {
      this.log.error({ type: e.type, reason: e.reason }, `unsupported event type: '${String(e.type)}'`);
      return;
    }
    if (this.queue.length >= this.maxQueued) {
      if (this.dropped++ % 100 === 0) this.log.warn({ dropped: this.dropped }, 'event queue full: event dropped');
      return;
    }
    this.queue.push(e);
    this.wake?.();
    this.worker ??= this.run();
  }

  private async run(): Promise<void> {
    await null; // the caller's turn ends before anything is written
    while (!this.stopped) {
      const next = this.queue.shift();
      if (!next) {
        await new Promise<void>((r) => (this.wake = r));
        this.wake = undefined;
        continue;
      }
      try {
        await this.recordToSink(next);
      } catch (e) {
        this.log.warn({ err: e, reason: next.reason }, 'event not recorded');
      }
    }
  }

  private async recordToSink(input: CoreEvent): Promise<void> {
    const result = this.correlator.correlate(input);
    if (result.skip) return;
    for (let tries = 1; !this.stopped; tries++) {
      if (await this.write(result.event, result.patch)) return;
      if (tries >= this.maxTries) {
        this.log.error({ reason: result.event.reason, tries }, 'unable to write event: retries exhausted, dropped');
        return;
      }
      // The first wait is randomised so many components losing the API server do not retry in step.
      const delay = tries === 1 ? Math.random() * this.retryDelayMs : this.retryDelayMs;
      await this.sleep(delay);
    }
  }

  /** true when done (written, or rejected for good); false to retry later. */
  private async write(event: CoreEvent, patch: Record<string, unknown> | undefined): Promise<boolean> {
    try {
      let written: CoreEvent | undefined;
      if (patch) {
        try {
          written = await this.sink.patch(event, patch);
        } catch (e) {
          if (!(e instanceof SinkError && e.status === 404)) throw e;
        }
      }
      if (!written) {
        const { resourceVersion: _rv, ...metadata } = event.metadata;
        written = await this.sink.create({ ...event, metadata });
      }
      this.correlator.updateState(written);
      return true;
    } catch (e) {
      if (e instanceof SinkError && e.status !== undefined) {
        if (e.status !== 409)
          this.log.warn({ err: e.message, reason: event.reason }, 'server rejected event (will not retry)');
        return true;
      }
      this.log.warn(
        { err: e instanceof Error ? e.message : String(e), reason: event.reason },
        'unable to write event (may retry)',
      );
      return false;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((r) => {
      const t = setTimeout(r, ms);
      t.unref();
      this.wakeSleep = () => {
        clearTimeout(t);
        r();
      };
    });
  }
  private wakeSleep?: () => void;

  /** Events still waiting to be written (tests and shutdown). */
  get pending(): number {
    return this.queue.length;
  }

  /** Wait (bounded) until the queue is written, then stop. */
  async shutdown(timeoutMs = 2000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.stopped = true;
    this.wake?.();
    this.wakeSleep?.();
    await this.worker;
  }
}
