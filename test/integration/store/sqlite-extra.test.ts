/** sqlite specifics beyond the shared suite: the compaction window, exclusive open, big replays. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteBackend } from '../../../src/store/sqlite.js';
import { CompactedError, ConflictError } from '../../../src/store/types.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { collect, rev } from './suite.js';

describe('sqlite backend', () => {
  const lab = new Lab();
  beforeAll(() => requireRootAndTools([]));
  afterAll(() => lab.cleanup());

  it('compacts its event log beyond the window, also across a restart', async () => {
    const dir = lab.tmpdir();
    let s = openSqliteBackend({ kind: 'sqlite', dir, compactionWindow: 100 });
    for (let i = 0; i < 300; i++) await s.create(`/c/k${i}`, String(i));
    const page = await s.list('/c/', { limit: 10 });
    for (let i = 0; i < 150; i++) await s.update('/c/k0', String(i));
    expect(() => s.watch('/c/', 10)).toThrow(CompactedError);
    await expect(s.list('/c/', { limit: 10, continue: page.continue })).rejects.toBeInstanceOf(CompactedError);
    await s.close();
    s = openSqliteBackend({ kind: 'sqlite', dir, compactionWindow: 100 });
    expect(() => s.watch('/c/', 10)).toThrow(CompactedError);
    const w = s.watch('/c/', 400);
    const evs = await collect(w, 50);
    expect(evs.map(rev)).toEqual(Array.from({ length: 50 }, (_, i) => 401 + i));
    w.close();
    expect((await s.list('/c/')).items).toHaveLength(300);
    await s.close();
  });

  it('refuses a second process-level opener of the same state dir', async () => {
    const dir = lab.tmpdir();
    const a = openSqliteBackend({ kind: 'sqlite', dir });
    await a.create('/x', '1');
    expect(() => openSqliteBackend({ kind: 'sqlite', dir })).toThrow(/in use by another process/);
    await a.close();
    const b = openSqliteBackend({ kind: 'sqlite', dir });
    expect((await b.get('/x'))?.value).toBe('1');
    await b.close();
  });

  it('group-commits writes issued together with one-by-one semantics', async () => {
    const dir = lab.tmpdir();
    let s = openSqliteBackend({ kind: 'sqlite', dir });
    const base = await s.create('/g/a', '0');
    // Issued in one event-loop turn: one batch. Same expected revision: exactly the first wins.
    const ups = await Promise.allSettled(
      Array.from({ length: 5 }, (_, i) => s.update('/g/a', String(i + 1), base.modRevision)),
    );
    expect(ups.map((u) => u.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'rejected', 'rejected']);
    for (const u of ups.slice(1)) expect((u as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    // A create, delete and re-create of one key in one batch, each seeing the one before.
    const [c1, d, c2] = await Promise.all([s.create('/g/b', '1'), s.delete('/g/b'), s.create('/g/b', '2')]);
    expect([c1.modRevision, d.revision, c2.modRevision]).toEqual([
      base.modRevision + 2,
      base.modRevision + 3,
      base.modRevision + 4,
    ]);
    expect(d.prev).toEqual(c1);
    // Writes accepted before close() are committed, not lost.
    const late = s.create('/g/late', 'x');
    await s.close();
    const lateKv = await late;
    s = openSqliteBackend({ kind: 'sqlite', dir });
    expect(await s.get('/g/late')).toEqual(lateKv);
    expect(await s.currentRevision()).toBe(lateKv.modRevision);
    await s.close();
  });

  it('pages through a snapshot while the data changes underneath', async () => {
    const s = openSqliteBackend({ kind: 'sqlite', dir: lab.tmpdir() });
    for (let i = 0; i < 100; i++) await s.create(`/p/k${String(i).padStart(3, '0')}`, 'v0');
    const seen: string[] = [];
    let cont: string | undefined;
    let revision = 0;
    let pages = 0;
    do {
      const page = await s.list('/p/', { limit: 7, continue: cont });
      if (!cont) revision = page.revision;
      expect(page.revision).toBe(revision);
      for (const kv of page.items) {
        expect(kv.value).toBe('v0');
        seen.push(kv.key);
      }
      cont = page.continue;
      // Churn: rewrite, delete and add keys on both sides of the cursor.
      const k = `/p/k${String(pages * 7).padStart(3, '0')}`;
      await s.update(`/p/k${String(99 - pages).padStart(3, '0')}`, 'v1');
      if (await s.get(k)) await s.delete(k);
      await s.create(`/p/n${pages}`, 'new');
      pages++;
    } while (cont && pages < 50);
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => `/p/k${String(i).padStart(3, '0')}`));
    await s.close();
  });
});
