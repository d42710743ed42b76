/** The API server as an EventSink: core/v1 Events created by POST and deduplicated by strategic merge patch. */
import type { KubeConfig } from '@kubernetes/client-node';
import { RawApiError, rawRequest } from '../client/raw.js';
import { SinkError, type CoreEvent, type EventSink } from './types.js';

const path = (ns: string, name?: string) =>
  `/api/v1/namespaces/${encodeURIComponent(ns)}/events${name ? `/${encodeURIComponent(name)}` : ''}`;

function wrap(e: unknown): SinkError {
  if (e instanceof RawApiError) return new SinkError(e.message, e.code);
  return new SinkError(e instanceof Error ? e.message : String(e));
}

export function apiEventSink(kc: KubeConfig): EventSink {
  return {
    async create(event) {
      try {
        const body = { apiVersion: 'v1', kind: 'Event', ...event };
        return await rawRequest<CoreEvent>(kc, 'POST', path(event.metadata.namespace), {
          contentType: 'application/json',
          value: body,
        });
      } catch (e) {
        throw wrap(e);
      }
    },
    async patch(event, patch) {
      try {
        return await rawRequest<CoreEvent>(kc, 'PATCH', path(event.metadata.namespace, event.metadata.name), {
          contentType: 'application/strategic-merge-patch+json',
          value: patch,
        });
      } catch (e) {
        throw wrap(e);
      }
    },
  };
}
