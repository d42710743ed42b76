/**
 * client-go's EventCorrelator (tools/record/events_cache.go), pure apart from the clock it is given:
 *  - aggregation: more than `maxEvents` (10) distinct messages for one object and reason within
 *    `aggregateIntervalMs` (10 min) fold into one event "(combined from similar events): <message>";
 *  - deduplication: an event seen before (same source, object, type, reason, message) becomes a patch of the
 *    stored one (count+1, lastTimestamp, message) instead of a new object;
 *  - spam filter: a token bucket per source and object (burst 25, one more token every 5 min) drops the rest.
 */
import { Lru } from './lru.js';
import type { CoreEvent } from './types.js';

export interface CorrelatorOptions {
  now?: () => number;
  maxEvents?: number;
  aggregateIntervalMs?: number;
  spamBurst?: number;
  spamQps?: number;
  cacheSize?: number;
}

export interface Correlation {
  event: CoreEvent;
  /** strategic merge patch for an existing event (dedup); undefined means create */
  patch?: Record<string, unknown>;
  /** dropped by the spam filter */
  skip: boolean;
}

const SEP = '\u0000';

/** The RFC 3339 second-precision form metav1.Time has on the wire. */
export const wireTime = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** getEventKey: everything that makes two events "the same event". */
function eventKey(e: CoreEvent): string {
  const r = e.involvedObject;
  return [
    e.source.component,
    e.source.host,
    r.kind,
    r.namespace,
    r.name,
    r.fieldPath,
    r.uid,
    r.apiVersion,
    e.type,
    e.reason,
    e.message,
  ].join(SEP);
}

/** EventAggregatorByReasonFunc: events alike but for their message. */
function aggregateKeys(e: CoreEvent): { aggregate: string; local: string } {
  const r = e.involvedObject;
  const aggregate = [
    e.source.component,
    e.source.host,
    r.kind,
    r.namespace,
    r.name,
    r.uid,
    r.apiVersion,
    e.type,
    e.reason,
    e.reportingComponent,
    e.reportingInstance,
  ].join(SEP);
  return { aggregate, local: e.message };
}

/** getSpamKey: one bucket per source and object. */
function spamKey(e: CoreEvent): string {
  const r = e.involvedObject;
  return [e.source.component, e.source.host, r.kind, r.namespace, r.name, r.uid, r.apiVersion, e.type].join(SEP);
}

class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly qps: number,
    private readonly burst: number,
    now: number,
  ) {
    this.tokens = burst;
    this.last = now;
  }

  tryAccept(now: number): boolean {
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.qps);
    this.last = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

interface AggregateRecord {
  localKeys: Set<string>;
  last: number;
}

interface EventLog {
  count: number;
  firstTimestamp: string;
  name: string;
  resourceVersion?: string;
}

/** A unique event name as client-go makes it: "<object name>.<unix nanoseconds in hex>". */
export function eventName(objectName: string, ms: number): string {
  const nanos = BigInt(ms) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n);
  return `${objectName}.${nanos.toString(16)}`;
}

export class EventCorrelator {
  private readonly now: () => number;
  private readonly maxEvents: number;
  private readonly aggregateIntervalMs: number;
  private readonly spamBurst: number;
  private readonly spamQps: number;
  private readonly aggregates: Lru<AggregateRecord>;
  private readonly logs: Lru<EventLog>;
  private readonly buckets: Lru<TokenBucket>;

  constructor(o: CorrelatorOptions = {}) {
    this.now = o.now ?? Date.now;
    this.maxEvents = o.maxEvents ?? 10;
    this.aggregateIntervalMs = o.aggregateIntervalMs ?? 600_000;
    this.spamBurst = o.spamBurst ?? 25;
    this.spamQps = o.spamQps ?? 1 / 300;
    const size = o.cacheSize ?? 4096;
    this.aggregates = new Lru(size);
    this.logs = new Lru(size);
    this.buckets = new Lru(size);
  }

  correlate(input: CoreEvent): Correlation {
    const { event: aggregated, key } = this.aggregate(input);
    const { event, patch } = this.observe(aggregated, key);
    return { event, patch, skip: !this.accept(event) };
  }

  /** After a successful write: remember the server's name and resourceVersion for the next patch. */
  updateState(written: CoreEvent): void {
    this.logs.set(eventKey(written), {
      count: written.count,
      firstTimestamp: written.firstTimestamp,
      name: written.metadata.name,
      resourceVersion: written.metadata.resourceVersion,
    });
  }

  private aggregate(e: CoreEvent): { event: CoreEvent; key: string } {
    const now = this.now();
    const { aggregate, local } = aggregateKeys(e);
    let rec = this.aggregates.get(aggregate);
    if (!rec || now - rec.last > this.aggregateIntervalMs) rec = { localKeys: new Set(), last: now };
    rec.localKeys.add(local);
    rec.last = now;
    this.aggregates.set(aggregate, rec);
    if (rec.localKeys.size < this.maxEvents) return { event: e, key: eventKey(e) };
    // Keep the set below the threshold, so the next distinct message aggregates too (PopAny upstream).
    rec.localKeys.delete(rec.localKeys.values().next().value!);
    const t = wireTime(now);
    return {
      event: {
        metadata: { name: eventName(e.involvedObject.name ?? '', now), namespace: e.metadata.namespace },
        involvedObject: e.involvedObject,
        reason: e.reason,
        message: `(combined from similar events): ${e.message}`,
        source: e.source,
        firstTimestamp: t,
        lastTimestamp: t,
        count: 1,
        type: e.type,
        reportingComponent: e.reportingComponent,
        reportingInstance: e.reportingInstance,
      },
      key: aggregate,
    };
  }

  private observe(e: CoreEvent, key: string): { event: CoreEvent; patch?: Record<string, unknown> } {
    const last = this.logs.get(key);
    const event: CoreEvent = { ...e, metadata: { ...e.metadata } };
    let patch: Record<string, unknown> | undefined;
    if (last) {
      event.count = last.count + 1;
      event.firstTimestamp = last.firstTimestamp;
      event.metadata.name = last.name;
      event.metadata.resourceVersion = last.resourceVersion;
      patch = { count: event.count, lastTimestamp: event.lastTimestamp, message: event.message };
    }
    this.logs.set(key, {
      count: event.count,
      firstTimestamp: event.firstTimestamp,
      name: event.metadata.name,
      resourceVersion: event.metadata.resourceVersion,
    });
    return { event, patch };
  }

  private accept(e: CoreEvent): boolean {
    const now = this.now();
    const key = spamKey(e);
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.spamQps, this.spamBurst, now);
      this.buckets.set(key, bucket);
    }
    return bucket.tryAccept(now);
  }
}
