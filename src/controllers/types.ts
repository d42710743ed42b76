import type { Clients } from '../client/apis.js';
import type { InformerFactory } from '../client/informers.js';
import type { Logger } from '../util/log.js';

export interface ControllerContext {
  clients: Clients;
  informers: InformerFactory;
  log: Logger;
}

/** A controller registers its informer handlers in its constructor, then runs from start() until stop(). */
export interface Controller {
  readonly name: string;
  start(): void;
  stop(): void;
}
