/**
 * The store conformance suite: one set of behaviours every StoreBackend must show, called from one test
 * file per backend (memory, sqlite, etcd). Each test works under its own key prefix, so tests sharing a
 * backend do not see each other; compaction (which is backend-wide) runs last.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AlreadyExistsError,
  CompactedError,
  ConflictError,
  InvalidArgumentError,
  NotFoundError,
  type StoreBackend,
  type Watch,
  type WatchEvent,
} from '../../../src/store/index.js';

export interface SuiteTarget {
  /** a fresh backend with the given per-watcher buffer bound */
  open(opts?: { maxWatchBuffer?: number }): Promise<StoreBackend>;
  /** reopen the same state (after close), when the backend persists */
  reopen?(): Promise<StoreBackend>;
}

/** Next event, failing after `ms` instead of hanging the test. */
async function nextEvent(w: Watch, ms = 10_000): Promise<WatchEvent | undefined> {
  const it = w[Symbol.asyncIterator]();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no watch event within ${ms} ms`)), ms);
  });
  try {
    const r = await Promise.race([it.next(), timeout]);
    return r.done ? undefined : r.value;
  } finally {
    clearTimeout(timer);
  }
}

export async function collect(w: Watch, n: number): Promise<WatchEvent[]> {
  const out: WatchEvent[] = [];
  while (out.length < n) {
    const e = await nextEvent(w);
    if (!e) throw new Error(`watch ended after ${out.length} of ${n} events (${w.closeReason ?? 'no reason'})`);
    if (e.type !== 'progress') out.push(e);
  }
  return out;
}

export function rev(e: WatchEvent): number {
  return e.type === 'put' ? e.kv.modRevision : e.revision;
}

/** Resolves when `cond` holds, polling for at most `ms`. */
async function waitFor(cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A watch that must fail with CompactedError, synchronously or on its first next(). */
async function expectCompactedWatch(s: StoreBackend, prefix: string, from: number): Promise<void> {
  let w: Watch;
  try {
    w = s.watch(prefix, from);
  } catch (err) {
    expect(err).toBeInstanceOf(CompactedError);
    return;
  }
  try {
    await expect(nextEvent(w)).rejects.toBeInstanceOf(CompactedError);
  } finally {
    w.close();
  }
}

export function storeConformance(target: SuiteTarget): void {
  let s: StoreBackend;
  const watches: Watch[] = [];
  const track = (w: Watch): Watch => {
    watches.push(w);
    return w;
  };

  beforeAll(async () => {
    s = await target.open();
  });
  afterAll(async () => {
    for (const w of watches) w.close();
    await s?.close();
  });

  describe('CRUD', () => {
    it('creates, reads, updates and deletes with one increasing revision', async () => {
      const r0 = await s.currentRevision();
      const c = await s.create('/crud/a', '{"v":1}');
      expect(c).toMatchObject({ key: '/crud/a', value: '{"v":1}' });
      expect(c.modRevision).toBeGreaterThan(r0);
      expect(c.createRevision).toBe(c.modRevision);
      expect(await s.get('/crud/a')).toEqual(c);
      const u = await s.update('/crud/a', '{"v":2}', c.modRevision);
      expect(u.modRevision).toBeGreaterThan(c.modRevision);
      expect(u.createRevision).toBe(c.createRevision);
      expect((await s.get('/crud/a'))?.value).toBe('{"v":2}');
      const u2 = await s.update('/crud/a', '{"v":3}');
      expect(u2.modRevision).toBeGreaterThan(u.modRevision);
      const d = await s.delete('/crud/a', u2.modRevision);
      expect(d.prev).toEqual(u2);
      expect(d.revision).toBeGreaterThan(u2.modRevision);
      expect(await s.get('/crud/a')).toBeUndefined();
      expect(await s.currentRevision()).toBe(d.revision);
      // A key can be created again after its delete; it starts a new life.
      const again = await s.create('/crud/a', 'x');
      expect(again.createRevision).toBe(again.modRevision);
      expect(again.createRevision).toBeGreaterThan(d.revision);
    });

    it('reports AlreadyExists, NotFound and Conflict with their details', async () => {
      const a = await s.create('/err/a', '1');
      await expect(s.create('/err/a', '2')).rejects.toBeInstanceOf(AlreadyExistsError);
      await expect(s.update('/err/missing', 'x')).rejects.toBeInstanceOf(NotFoundError);
      await expect(s.delete('/err/missing')).rejects.toBeInstanceOf(NotFoundError);
      await expect(s.update('/err/missing', 'x', 5)).rejects.toBeInstanceOf(NotFoundError);
      const b = await s.update('/err/a', '3', a.modRevision);
      const conflict = await s.update('/err/a', '4', a.modRevision).catch((e: unknown) => e);
      expect(conflict).toBeInstanceOf(ConflictError);
      expect(conflict).toMatchObject({ key: '/err/a', expected: a.modRevision, actual: b.modRevision });
      await expect(s.delete('/err/a', a.modRevision)).rejects.toBeInstanceOf(ConflictError);
      expect((await s.get('/err/a'))?.value).toBe('3');
      await expect(s.get('')).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(s.create('no-leading-slash', 'x')).rejects.toBeInstanceOf(InvalidArgumentError);
    });
  });

  describe('list', () => {
    it('lists a prefix in key order, in pages that all read the first page’s snapshot', async () => {
      for (let i = 0; i < 25; i++) await s.create(`/list/k${String(i).padStart(2, '0')}`, `v${i}`);
      await s.create('/listx/outside', 'no');
      await s.create('/lis', 'no');
      const all = await s.list('/list/');
      expect(all.items.map((i) => i.key)).toEqual(
        Array.from({ length: 25 }, (_, i) => `/list/k${String(i).padStart(2, '0')}`),
      );
      expect(all.continue).toBeUndefined();
      expect(all.revision).toBe(await s.currentRevision());

      const p1 = await s.list('/list/', { limit: 10 });
      expect(p1.items.map((i) => i.value)).toEqual(Array.from({ length: 10 }, (_, i) => `v${i}`));
      expect(p1.continue).toBeTruthy();
      // Changes after the first page must not show in later pages.
      await s.update('/list/k15', 'changed');
      await s.delete('/list/k12');
      await s.create('/list/k13a', 'new');
      await s.create('/list/k99', 'new');
      const p2 = await s.list('/list/', { limit: 10, continue: p1.continue });
      expect(p2.revision).toBe(p1.revision);
      expect(p2.items.map((i) => i.value)).toEqual(Array.from({ length: 10 }, (_, i) => `v${i + 10}`));
      const p3 = await s.list('/list/', { limit: 10, continue: p2.continue });
      expect(p3.items.map((i) => i.value)).toEqual(['v20', 'v21', 'v22', 'v23', 'v24']);
      expect(p3.continue).toBeUndefined();

      // A fresh list sees the changes.
      const now = await s.list('/list/');
      expect(now.items).toHaveLength(26);
      expect(now.items.find((i) => i.key === '/list/k15')?.value).toBe('changed');
      expect(now.items.some((i) => i.key === '/list/k12')).toBe(false);
      expect(now.revision).toBeGreaterThan(p1.revision);
    });

    it('rejects a malformed or foreign continue token', async () => {
      await s.create('/tok/a', '1');
      await s.create('/tok/b', '1');
      const p = await s.list('/tok/', { limit: 1 });
      await expect(s.list('/tok/', { continue: 'garbage!' })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(s.list('/other/', { continue: p.continue })).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(s.list('/tok/', { limit: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    });

    it('returns an empty page for an empty prefix range', async () => {
      const r = await s.list('/nothing-here/', { limit: 5 });
      expect(r.items).toEqual([]);
      expect(r.continue).toBeUndefined();
    });
  });

  describe('watch', () => {
    it('replays history from a revision in order, with previous values for updates and deletes', async () => {
      const r0 = await s.currentRevision();
      const a1 = await s.create('/w1/a', 'a1');
      const a2 = await s.update('/w1/a', 'a2');
      await s.create('/w1x/other', 'not mine');
      const b1 = await s.create('/w1/b', 'b1');
      const del = await s.delete('/w1/a');
      const w = track(s.watch('/w1/', r0));
      const evs = await collect(w, 4);
      expect(evs.map((e) => e.type)).toEqual(['put', 'put', 'put', 'delete']);
      expect(evs[0]).toMatchObject({ type: 'put', kv: a1 });
      expect((evs[0] as { prev?: unknown }).prev).toBeUndefined();
      expect(evs[1]).toMatchObject({ type: 'put', kv: a2, prev: a1 });
      expect(evs[2]).toMatchObject({ type: 'put', kv: b1 });
      expect(evs[3]).toEqual({ type: 'delete', key: '/w1/a', prev: a2, revision: del.revision });
      // Then live events follow in order.
      const b2 = await s.update('/w1/b', 'b2');
      expect(await collect(w, 1)).toEqual([{ type: 'put', kv: b2, prev: b1 }]);
      w.close();
    });

    it('from the current revision sees only later changes, in revision order, across parallel writers', async () => {
      await s.create('/w2/before', 'x');
      const w = track(s.watch('/w2/', await s.currentRevision()));
      const writes = await Promise.all(Array.from({ length: 30 }, (_, i) => s.create(`/w2/k${i}`, String(i))));
      const evs = await collect(w, 30);
      const revs = evs.map(rev);
      expect(revs).toEqual([...revs].sort((x, y) => x - y));
      expect(new Set(revs).size).toBe(30);
      expect(evs.map((e) => (e.type === 'put' ? e.kv.key : '')).sort()).toEqual(writes.map((k) => k.key).sort());
      w.close();
    });

    it('sends a progress event covering every event before it', async () => {
      const w = track(s.watch('/w3/', await s.currentRevision()));
      await s.create('/w3/a', '1');
      const last = await s.create('/w3/b', '1');
      await s.create('/w3x/unrelated', '1');
      const evs = await collect(w, 2);
      expect(rev(evs[1]!)).toBe(last.modRevision);
      w.requestProgress();
      const p = await nextEvent(w);
      expect(p?.type).toBe('progress');
      expect(rev(p!)).toBeGreaterThanOrEqual(last.modRevision);
      w.close();
    });

    it('ends the stream when closed', async () => {
      const w = s.watch('/w4/', await s.currentRevision());
      const pending = nextEvent(w);
      w.close();
      expect(await pending).toBeUndefined();
      expect(w.closeReason).toBeUndefined();
    });

    it('closing many watches at once (a client going away) disturbs neither other watches nor requests', async () => {
      const keep = track(s.watch('/w5/', await s.currentRevision()));
      keep.requestProgress();
      expect((await nextEvent(keep))?.type).toBe('progress');
      const gone = Array.from({ length: 12 }, () => s.watch('/w5/', 0));
      for (const w of gone) w.requestProgress();
      await Promise.all(gone.map((w) => nextEvent(w)));
      for (const w of gone) w.close();
      // straight after: reads and writes work, and the surviving watch is intact (no reset, no re-create)
      for (let i = 0; i < 10; i++) await s.get('/w5/nothing');
      const a = await s.create('/w5/a', '1');
      expect(await collect(keep, 1)).toEqual([{ type: 'put', kv: a }]);
      expect(keep.closeReason).toBeUndefined();
      keep.close();
    });

    it('closes a watcher that stops reading instead of buffering without bound', async () => {
      const small = await target.open({ maxWatchBuffer: 5 });
      try {
        const w = small.watch('/slow/', await small.currentRevision());
        w.requestProgress();
        // The progress event shows the watch is established (etcd creates it asynchronously).
        expect((await nextEvent(w))?.type).toBe('progress');
        for (let i = 0; i < 20; i++) await small.create(`/slow/k${i}`, 'x');
        await waitFor(() => w.closeReason !== undefined);
        expect(w.closeReason).toMatch(/slow watcher/);
        // Its backlog is dropped with it: the client re-watches from the last revision it saw.
        expect(await nextEvent(w)).toBeUndefined();
      } finally {
        await small.close();
      }
    });
  });

  describe('concurrency', () => {
    it('parallel read-modify-write loops with retries on conflict end consistent', async () => {
      await s.create('/cc/counter', '0');
      const workers = 8;
      const each = 15;
      let conflicts = 0;
      await Promise.all(
        Array.from({ length: workers }, async () => {
          for (let i = 0; i < each; i++) {
            for (let attempt = 0; ; attempt++) {
              if (attempt > 500) throw new Error('too many conflicts');
              const cur = (await s.get('/cc/counter'))!;
              try {
                await s.update('/cc/counter', String(Number(cur.value) + 1), cur.modRevision);
                break;
              } catch (err) {
                if (!(err instanceof ConflictError)) throw err;
                conflicts++;
              }
            }
          }
        }),
      );
      expect((await s.get('/cc/counter'))?.value).toBe(String(workers * each));
      // every worker reads before any write lands, so the store must have refused stale writes
      expect(conflicts).toBeGreaterThan(0);
      // Exactly one of many parallel creates of one key wins.
      const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => s.create('/cc/once', String(i))));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(AlreadyExistsError);
    });
  });

  if (target.reopen) {
    const reopen = target.reopen;
    describe('restart', () => {
      it('keeps objects, the revision and the history across a reopen', async () => {
        const r0 = await s.currentRevision();
        const a = await s.create('/rs/a', '1');
        const d = await s.delete('/rs/a');
        const b = await s.create('/rs/b', '2');
        for (const w of watches) w.close();
        await s.close();
        s = await reopen();
        expect(await s.currentRevision()).toBe(b.modRevision);
        expect(await s.get('/rs/b')).toEqual(b);
        expect(await s.get('/rs/a')).toBeUndefined();
        const w = track(s.watch('/rs/', r0));
        const evs = await collect(w, 3);
        expect(evs).toEqual([
          { type: 'put', kv: a },
          { type: 'delete', key: '/rs/a', prev: a, revision: d.revision },
          { type: 'put', kv: b },
        ]);
        const c = await s.create('/rs/c', '3');
        expect(c.modRevision).toBe(b.modRevision + 1);
        w.close();
      });
    });
  }

  describe('compaction', () => {
    it('rejects watches and list pages older than the compacted revision', async () => {
      for (let i = 0; i < 6; i++) await s.create(`/cp/k${i}`, String(i));
      const page = await s.list('/cp/', { limit: 2 });
      const old = page.revision;
      for (let i = 0; i < 5; i++) await s.update('/cp/k0', `u${i}`);
      const mid = await s.currentRevision();
      await s.update('/cp/k1', 'after');
      await s.compact(mid);
      await expectCompactedWatch(s, '/cp/', old);
      await expect(s.list('/cp/', { limit: 2, continue: page.continue })).rejects.toBeInstanceOf(CompactedError);
      // From the compaction point on, history is still there.
      const w = track(s.watch('/cp/', mid));
      const evs = await collect(w, 1);
      expect(evs[0]).toMatchObject({ type: 'put', kv: { key: '/cp/k1', value: 'after' } });
      w.close();
      // Current state is untouched by compaction.
      expect((await s.list('/cp/')).items).toHaveLength(6);
      expect((await s.get('/cp/k0'))?.value).toBe('u4');
    });
  });
}
