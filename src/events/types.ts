/** The core/v1 Event shape the recorder writes, and the two ends it talks to (the API sink, the clock). */

export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface EventSource {
  component?: string;
  host?: string;
}

export type EventType = 'Normal' | 'Warning';

export interface CoreEvent {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; annotations?: Record<string, string> };
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  source: EventSource;
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  type: EventType;
  reportingComponent?: string;
  reportingInstance?: string;
}

/** Where events go: the API server (./sink.ts) or anything else that stores them. */
export interface EventSink {
  create(event: CoreEvent): Promise<CoreEvent>;
  /** a strategic merge patch of an existing event */
  patch(event: CoreEvent, patch: Record<string, unknown>): Promise<CoreEvent>;
}

/** Why a write failed, as the sink saw it: decides between retry, create-instead and drop. */
export class SinkError extends Error {
  constructor(
    message: string,
    /** HTTP status when the server answered; undefined for transport errors (retried) */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'SinkError';
  }
}

/** Anything with object metadata (a Pod, a Node, a Deployment...), as an event's subject. */
export interface Referable {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}
