/**
 * The event recorder against the real API registry over a memory store (create, strategic merge patch,
 * 404 on a vanished event), and against a sink that cannot reach any server (retries, never throws).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { MemoryBackend } from '../../../src/store/memory.js';
import { Allocator } from '../../../src/apiserver/alloc.js';
import { ApiError } from '../../../src/apiserver/errors.js';
import { Registry, type WriteOptions } from '../../../src/apiserver/rest.js';
import { findResource } from '../../../src/apiserver/resources/index.js';
import { ObjectStore } from '../../../src/apiserver/storage.js';
import { EventBroadcaster } from '../../../src/events/recorder.js';
import { EventCorrelator } from '../../../src/events/correlator.js';
import { SinkError, type CoreEvent, type EventSink } from '../../../src/events/types.js';

const silent = pino({ level: 'silent' });
const w = (): WriteOptions => ({ fieldValidation: 'Strict', dryRun: false, warnings: [] });
const eventsDef = findResource('', 'v1', 'events')!;

let backend: MemoryBackend;
let reg: Registry;
let calls: string[];

/** The registry as a sink: exactly what the API server does with the recorder's requests. */
function registrySink(): EventSink {
  // What crosses the wire is JSON: undefined fields vanish, as they do over HTTP.
  const json = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    calls.push(what);
    try {
      return await fn();
    } catch (e) {
      if (e instanceof ApiError) throw new SinkError(e.message, e.code);
      throw e;
    }
  };
  return {
    create: (e) =>
      wrap(
        'create',
        async () => (await reg.create(eventsDef, e.metadata.namespace, json(e), w())) as unknown as CoreEvent,
      ),
    patch: (e, p) =>
      wrap(
        'patch',
        async () =>
          (await reg.patch(
            eventsDef,
            e.metadata.namespace,
            e.metadata.name,
            'strategic',
            p,
            w(),
          )) as unknown as CoreEvent,
      ),
  };
}

const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-1', namespace: 'default', uid: 'u-1' } };
const stored = async () => (await reg.list(eventsDef, 'default', {})).items as unknown as CoreEvent[];
const until = async (fn: () => boolean | Promise<boolean>) => {
  for (let i = 0; i < 200; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not met in 2 s');
};

beforeEach(async () => {
  backend = new MemoryBackend();
  reg = new Registry(new ObjectStore(backend), new Allocator('10.96.0.0/12', { min: 30000, max: 30005 }), silent);
  await reg.bootstrap();
  calls = [];
});
afterEach(async () => {
  await reg.stop();
  await backend.close();
});

describe('event recorder', () => {
  it('records asynchronously: the call returns before anything is written', async () => {
    const b = new EventBroadcaster(registrySink(), silent);
    const r = b.newRecorder({ component: 'kubelet', host: 'node1' });
    r.event(pod, 'Normal', 'Started', 'Started container web');
    expect(calls).toEqual([]);
    await until(async () => (await stored()).length === 1);
    const [e] = await stored();
    expect(e).toMatchObject({
      involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default', uid: 'u-1', apiVersion: 'v1' },
      reason: 'Started',
      message: 'Started container web',
      type: 'Normal',
      count: 1,
      source: { component: 'kubelet', host: 'node1' },
      reportingComponent: 'kubelet',
      reportingInstance: 'node1',
    });
    expect(e!.metadata.name).toMatch(/^web-1\.[0-9a-f]+$/);
    await b.shutdown();
  });

  it('deduplicates a repeated event into one object with count++ (patch, first timestamp kept)', async () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const b = new EventBroadcaster(registrySink(), silent, { now: () => t });
    const r = b.newRecorder({ component: 'kubelet', host: 'node1' });
    for (let i = 0; i < 3; i++) {
      r.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container web');
      t += 5000;
    }
    await until(async () => (await stored())[0]?.count === 3);
    const all = await stored();
    expect(all).toHaveLength(1);
    expect(all[0]!.firstTimestamp).toBe('2026-01-01T00:00:00Z');
    expect(all[0]!.lastTimestamp).toBe('2026-01-01T00:00:10Z');
    expect(calls).toEqual(['create', 'patch', 'patch']);
    // A different message is a different event.
    r.event(pod, 'Warning', 'BackOff', 'Back-off restarting failed container other');
    await until(async () => (await stored()).length === 2);
    await b.shutdown();
  });

  it('creates the event again when the deduplicated one is gone (expired or deleted)', async () => {
    const b = new EventBroadcaster(registrySink(), silent);
    const r = b.newRecorder({ component: 'default-scheduler' });
    r.event(pod, 'Warning', 'FailedScheduling', '0/1 nodes are available: 1 node(s) were unschedulable.');
    await until(async () => (await stored()).length === 1);
    const [first] = await stored();
    await reg.delete(eventsDef, 'default', first!.metadata.name, {}, { dryRun: false });
    r.event(pod, 'Warning', 'FailedScheduling', '0/1 nodes are available: 1 node(s) were unschedulable.');
    await until(async () => (await stored()).length === 1);
    expect(calls).toEqual(['create', 'patch', 'create']);
    const [again] = await stored();
    expect(again!.count).toBe(2);
    await b.shutdown();
  });

  it('aggregates more than 10 different messages for one object and reason', async () => {
    const b = new EventBroadcaster(registrySink(), silent);
    const r = b.newRecorder({ component: 'kubelet', host: 'node1' });
    for (let i = 0; i < 12; i++) r.event(pod, 'Warning', 'Unhealthy', `Readiness probe failed: attempt ${i}`);
    await until(async () => (await stored()).some((e) => e.count === 3));
    const all = await stored();
    const combined = all.filter((e) => e.message.startsWith('(combined from similar events): '));
    expect(all).toHaveLength(10);
    expect(combined).toHaveLength(1);
    expect(combined[0]).toMatchObject({
      count: 3,
      message: '(combined from similar events): Readiness probe failed: attempt 11',
    });
    await b.shutdown();
  });

  it('drops a never-ending stream about one object after a burst of 25 (spam filter)', () => {
    let t = 0;
    const c = new EventCorrelator({ now: () => t });
    const make = (i: number): CoreEvent => ({
      metadata: { name: `web-1.${i}`, namespace: 'default' },
      involvedObject: { kind: 'Pod', name: 'web-1', namespace: 'default', uid: 'u-1' },
      reason: `R${i}`,
      message: 'm',
      source: { component: 'kubelet' },
      firstTimestamp: '',
      lastTimestamp: '',
      count: 1,
      type: 'Normal',
    });
    const accepted = Array.from({ length: 40 }, (_, i) => !c.correlate(make(i)).skip).filter(Boolean).length;
    expect(accepted).toBe(25);
    t += 300_000; // one token every 5 minutes
    expect(c.correlate(make(100)).skip).toBe(false);
    expect(c.correlate(make(101)).skip).toBe(true);
  });

  it('never fails the caller: an unreachable API is retried a bounded number of times, then dropped', async () => {
    let attempts = 0;
    const down: EventSink = {
      create: () => {
        attempts++;
        return Promise.reject(new SinkError('connect ECONNREFUSED'));
      },
      patch: () => Promise.reject(new SinkError('connect ECONNREFUSED')),
    };
    const b = new EventBroadcaster(down, silent, { maxTries: 3, retryDelayMs: 5 });
    const r = b.newRecorder({ component: 'kubelet' });
    expect(() => r.event(pod, 'Normal', 'Created', 'Created container web')).not.toThrow();
    await until(() => attempts === 3);
    await new Promise((res) => setTimeout(res, 50));
    expect(attempts).toBe(3);
    await b.shutdown();
  });

  it('does not retry what the server rejected, and ignores unknown event types', async () => {
    const b = new EventBroadcaster(registrySink(), silent);
    const r = b.newRecorder({ component: 'kubelet' });
    r.event({ ...pod, metadata: { ...pod.metadata, namespace: 'no-such-ns' } }, 'Normal', 'Created', 'x');
    r.event(pod, 'Fatal' as 'Normal', 'Created', 'y');
    r.event(pod, 'Normal', 'Created', 'z');
    await until(async () => (await stored()).length === 1);
    expect(calls).toEqual(['create', 'create']);
    await b.shutdown();
  });

  it('drops events beyond a full queue instead of blocking', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let created = 0;
    const slow: EventSink = {
      create: async (e) => {
        await gate;
        created++;
        return e;
      },
      patch: async (e) => e,
    };
    const b = new EventBroadcaster(slow, silent, { maxQueued: 5 });
    const r = b.newRecorder({ component: 'kubelet' });
    for (let i = 0; i < 20; i++)
      r.event({ ...pod, metadata: { ...pod.metadata, name: `p${i}` } }, 'Normal', 'Created', `c${i}`);
    release();
    await until(() => b.pending === 0 && created >= 5);
    await new Promise((res) => setTimeout(res, 20));
    // the 5 queued before the writer's first turn; the other 15 were dropped, and event() never waited
    expect(created).toBe(5);
    await b.shutdown();
  });
});
