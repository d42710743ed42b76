/**
 * Watch streams: newline-delimited JSON events ADDED / MODIFIED / DELETED / BOOKMARK / ERROR, chunked over one
 * HTTP response. Starts from a resourceVersion (or from "now" after synthetic ADDED events for the current
 * state), filters by label/field selectors with Kubernetes' transition rules (an object that stops matching
 * is DELETED, one that starts matching is ADDED), ends after timeoutSeconds. A too-old resourceVersion gets
 * an ERROR event with a 410 Expired Status, after which clients relist.
 */
import type { ServerResponse } from 'node:http';
import type { KObject } from '../api/meta.js';
import type { Logger } from '../util/log.js';
import { CompactedError, type Watch } from '../store/types.js';
import { gone } from './errors.js';
import type { Filter, Registry } from './rest.js';
import { apiVersionOf, type ResourceDef } from './resources/types.js';
import { decode, resourcePrefix } from './storage.js';
import { toTable, type IncludeObject } from './tables.js';

export interface WatchRequest {
  def: ResourceDef;
  namespace?: string;
  filter: Filter;
  resourceVersion?: string;
  timeoutSeconds: number;
  bookmarks: boolean;
  sendInitialEvents: boolean;
  table?: { include: IncludeObject };
  bookmarkIntervalMs?: number;
}

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export async function serveWatch(
  reg: Registry,
  req: WatchRequest,
  res: ServerResponse,
  log: Logger,
  onEnd: () => void,
): Promise<void> {
  const { def } = req;
  let closed = false;
  let watch: Watch | undefined;
  let firstTable = true;
  const timers: NodeJS.Timeout[] = [];
  const finish = () => {
    if (closed) return;
    closed = true;
    for (const t of timers) clearTimeout(t);
    watch?.close();
    onEnd();
    if (!res.writableEnded) res.end();
  };
  res.on('close', finish);

  const write = async (type: EventType, object: unknown): Promise<void> => {
    if (closed) return;
    let obj = object;
    if (req.table && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')) {
      obj = toTable(def, [object as KObject], { include: req.table.include, columns: firstTable });
      firstTable = false;
    }
    if (!res.write(`${JSON.stringify({ type, object: obj })}\n`)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.on('drain', done);
        res.on('close', done);
      });
    }
  };
  const bookmark = (rev: number, annotations?: Record<string, string>) =>
    write('BOOKMARK', {
      kind: def.kind,
      apiVersion: apiVersionOf(def),
      metadata: { resourceVersion: String(rev), ...(annotations ? { annotations } : {}) },
    });

  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();
  timers.push(setTimeout(finish, req.timeoutSeconds * 1000));

  try {
    let from: number;
    const rv = req.resourceVersion;
    if (!rv || rv === '0' || req.sendInitialEvents) {
      // Synthetic ADDED events for what exists now, then changes after the list's revision.
      let cont: string | undefined;
      from = 0;
      for (let page = 0; page < 100_000 && !closed; page++) {
        const r = await reg.store.list(def, req.namespace, { limit: 500, continue: cont });
        if (page === 0) from = r.revision;
        for (const kv of r.items) {
          const o = decode(def, kv);
          if (reg.matches(def, req.filter, o)) await write('ADDED', o);
        }
        cont = r.continue;
        if (!cont) break;
      }
      if (req.sendInitialEvents && req.bookmarks) await bookmark(from, { 'k8s.io/initial-events-end': 'true' });
    } else {
      from = Number(rv);
    }
    let last = from;
    watch = reg.store.backend.watch(resourcePrefix(def, req.namespace), from);
    if (req.bookmarks) {
      const tick = () => {
        if (closed) return;
        void bookmark(last);
        timers.push(setTimeout(tick, req.bookmarkIntervalMs ?? 30_000));
      };
      timers.push(setTimeout(tick, req.bookmarkIntervalMs ?? 30_000));
    }
    for await (const ev of watch) {
      if (closed) break;
      if (ev.type === 'progress') {
        last = Math.max(last, ev.revision);
        continue;
      }
      if (ev.type === 'put') {
        const obj = decode(def, ev.kv);
        const now = reg.matches(def, req.filter, obj);
        const prev = ev.prev ? decode(def, ev.prev) : undefined;
        const before = prev ? reg.matches(def, req.filter, prev) : false;
        const isNew = prev === undefined && ev.kv.createRevision === ev.kv.modRevision;
        if (now && before) await write('MODIFIED', obj);
        else if (now && !before) await write(isNew || !prev ? (isNew ? 'ADDED' : 'MODIFIED') : 'ADDED', obj);
        else if (!now && before) await write('DELETED', obj);
        last = ev.kv.modRevision;
      } else {
        const obj = decode(def, ev.prev);
        obj.metadata.resourceVersion = String(ev.revision);
        if (reg.matches(def, req.filter, obj)) await write('DELETED', obj);
        last = ev.revision;
      }
    }
  } catch (e) {
    if (e instanceof CompactedError) {
      await write(
        'ERROR',
        gone(`too old resource version: ${req.resourceVersion ?? e.requested} (${e.oldest})`).toStatus(),
      );
    } else if (!closed) {
      log.warn({ err: e, resource: def.plural }, 'watch failed');
      await write('ERROR', {
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: e instanceof Error ? e.message : String(e),
        reason: 'InternalError',
        code: 500,
      });
    }
  } finally {
    finish();
  }
}
