/**
 * Events for a component: one broadcaster writing to the API server the component's kubeconfig reaches,
 * and a recorder stamped with the component's source (kube's component name and host).
 */
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../util/log.js';
import { EventBroadcaster, type EventRecorder } from './recorder.js';
import { apiEventSink } from './sink.js';

export type { EventRecorder } from './recorder.js';
export { refTo } from './recorder.js';

export interface ComponentEvents {
  recorder: EventRecorder;
  /** another source on the same broadcaster (kube-controller-manager: one per controller) */
  recorderFor(component: string): EventRecorder;
  /** write what is queued (bounded by timeoutMs), then stop */
  shutdown(timeoutMs?: number): Promise<void>;
}

export function componentEvents(kc: KubeConfig, log: Logger, component: string, host?: string): ComponentEvents {
  const b = new EventBroadcaster(apiEventSink(kc), log);
  return {
    recorder: b.newRecorder(host ? { component, host } : { component }),
    recorderFor: (c) => b.newRecorder({ component: c }),
    shutdown: (t) => b.shutdown(t),
  };
}
