import type { Clients } from '../client/apis.js';
import type { InformerFactory } from '../client/informers.js';
import { describeError, isConflict } from '../client/errors.js';
import type { Logger } from '../util/log.js';
import type { EventRecorder } from '../events/index.js';

export interface ControllerContext {
  clients: Clients;
  informers: InformerFactory;
  log: Logger;
  /** an event recorder whose source is `component` (upstream names: replicaset-controller, node-controller...) */
  recorder(component: string): EventRecorder;
}

/** A controller registers its informer handlers in its constructor, then runs from start() until stop(). */
export interface Controller {
  readonly name: string;
  start(): void;
  stop(): void;
}

/** A failed sync is retried by the queue; 409 Conflict (a stale cache) is routine and only logged at debug. */
export function logSyncError(log: Logger, key: string, err: unknown): void {
  if (isConflict(err)) log.debug({ key, err: describeError(err) }, 'conflict, retrying');
  else log.warn({ key, err: describeError(err) }, 'sync failed, retrying');
}
