/** Memory-backend specifics and the shared watch fan-out (catch-up batching, live switch, window). */
import { describe, expect, it } from 'vitest';
import { MemoryBackend } from '../../../src/store/memory.js';
import { createBackend, backendKinds } from '../../../src/store/index.js';
import { CompactedError, InvalidArgumentError, type WatchEvent } from '../../../src/store/types.js';

function rev(e: WatchEvent): number {
  return e.type === 'put' ? e.kv.modRevision : e.revision;
}

describe('memory backend', () => {
  it('replays a long history in batches while writes continue, without gaps or duplicates', async () => {
    const s = new MemoryBackend();
    for (let i = 0; i < 700; i++) await s.create(`/a/k${i}`, String(i));
    const w = s.watch('/a/', 0);
    const seen: number[] = [];
    let extra = 0;
    for await (const e of w) {
      seen.push(rev(e));
      // Keep writing during the catch-up and after it turned live.
      if (extra < 300 && seen.length % 2 === 0) {
        await s.create(`/a/x${extra}`, 'x');
        extra++;
      }
      if (seen.length === 1000) break;
    }
    expect(seen).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    await s.close();
  });

  it('compacts automatically beyond its window', async () => {
    const s = new MemoryBackend({ compactionWindow: 50 });
    for (let i = 0; i < 200; i++) await s.create(`/c/k${i}`, String(i));
    expect(() => s.watch('/c/', 0)).toThrow(CompactedError);
    const w = s.watch('/c/', 150);
    const first = await w[Symbol.asyncIterator]().next();
    expect(first.done).toBe(false);
    expect(rev(first.value as WatchEvent)).toBe(151);
    w.close();
    expect((await s.list('/c/')).items).toHaveLength(200);
    await s.close();
  });

  it('ends watches and refuses calls after close', async () => {
    const s = new MemoryBackend();
    const w = s.watch('/', 0);
    const pending = w[Symbol.asyncIterator]().next();
    await s.close();
    expect((await pending).done).toBe(true);
    expect(w.closeReason).toBe('store closed');
    await expect(s.get('/x')).rejects.toThrow(/closed/);
  });

  it('rejects bad arguments clearly', async () => {
    const s = new MemoryBackend();
    expect(() => s.watch('/', -1)).toThrow(InvalidArgumentError);
    await expect(s.compact(5)).rejects.toThrow(InvalidArgumentError);
    await expect(createBackend({ kind: 'nope' as 'memory' })).rejects.toThrow(/unknown store backend "nope"/);
    await expect(createBackend({ kind: 'sqlite' })).rejects.toThrow(/state directory/);
    await expect(createBackend({ kind: 'etcd' })).rejects.toThrow(/etcd-endpoints/);
    await expect(createBackend({ kind: 'etcd', etcdEndpoints: ['localhost'] })).rejects.toThrow(
      /invalid etcd endpoint/,
    );
    expect(backendKinds).toEqual(['memory', 'sqlite', 'etcd']);
  });
});
