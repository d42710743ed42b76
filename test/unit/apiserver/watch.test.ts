import { EventEmitter } from 'node:events';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import pino from 'pino';
import { MemoryBackend } from '../../../src/store/memory.js';
import { Allocator } from '../../../src/apiserver/alloc.js';
import { Registry, type WriteOptions } from '../../../src/apiserver/rest.js';
import { configmaps } from '../../../src/apiserver/resources/core.js';
import { pods } from '../../../src/apiserver/resources/index.js';
import { ObjectStore } from '../../../src/apiserver/storage.js';
import { serveWatch, type WatchRequest } from '../../../src/apiserver/watch.js';
import { RateLimiter, WatchCounter } from '../../../src/apiserver/limits.js';

/** The HTTP response side of a watch, collecting the JSON lines it is sent. */
class Sink extends EventEmitter {
  lines: { type: string; object: Record<string, any> }[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any
  writableEnded = false;
  status = 0;
  writeHead(code: number): this {
    this.status = code;
    return this;
  }
  flushHeaders(): void {}
  write(chunk: string): boolean {
    for (const l of chunk.split('\n').filter(Boolean)) this.lines.push(JSON.parse(l));
    return true;
  }
  end(): void {
    this.writableEnded = true;
    this.emit('close');
  }
}

const w = (): WriteOptions => ({ fieldValidation: 'Strict', dryRun: false, warnings: [] });
const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function setup(window = 10_000) {
  const backend = new MemoryBackend({ compactionWindow: window });
  const reg = new Registry(
    new ObjectStore(backend),
    new Allocator('10.96.0.0/12', { min: 30000, max: 32767 }),
    pino({ level: 'silent' }),
  );
  await reg.bootstrap();
  cleanup.push(async () => {
    await reg.stop();
    await backend.close();
  });
  return { backend, reg };
}

function start(reg: Registry, req: Partial<WatchRequest> & { def: WatchRequest['def'] }) {
  const sink = new Sink();
  const done = serveWatch(
    reg,
    { filter: { labels: [], fields: [] }, timeoutSeconds: 30, bookmarks: false, sendInitialEvents: false, ...req },
    sink as unknown as ServerResponse,
    pino({ level: 'silent' }),
    () => undefined,
  );
  cleanup.push(async () => {
    sink.end();
    await done;
  });
  return { sink, done };
}

async function until(fn: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !fn(); i++) await new Promise((r) => setTimeout(r, 10));
  expect(fn()).toBe(true);
}

describe('watch', () => {
  it('sends current state, then ADDED/MODIFIED/DELETED with selector transitions', async () => {
    const { reg } = await setup();
    await reg.create(configmaps, 'default', { metadata: { name: 'pre', labels: { team: 'a' } } }, w());
    const filter = reg.parseFilter(configmaps, { labelSelector: 'team=a' });
    const { sink } = start(reg, { def: configmaps, namespace: 'default', filter, resourceVersion: '0' });
    await until(() => sink.lines.length === 1);
    await reg.create(configmaps, 'default', { metadata: { name: 'x', labels: { team: 'b' } } }, w());
    await reg.patch(configmaps, 'default', 'x', 'merge', { metadata: { labels: { team: 'a' } } }, w());
    await reg.patch(configmaps, 'default', 'x', 'merge', { data: { k: 'v' } }, w());
    await reg.patch(configmaps, 'default', 'x', 'merge', { metadata: { labels: { team: 'c' } } }, w());
    await reg.delete(configmaps, 'default', 'pre', {}, { dryRun: false });
    await until(() => sink.lines.length === 5);
    expect(sink.lines.map((l) => `${l.type} ${l.object.metadata.name}`)).toEqual([
      'ADDED pre',
      'ADDED x',
      'MODIFIED x',
      'DELETED x',
      'DELETED pre',
    ]);
    expect(sink.status).toBe(200);
  });

  it('resumes from a resourceVersion and answers a compacted one with 410 Expired', async () => {
    const { reg } = await setup(5);
    const first = await reg.create(configmaps, 'default', { metadata: { name: 'a' } }, w());
    await reg.create(configmaps, 'default', { metadata: { name: 'b' } }, w());
    const resumed = start(reg, {
      def: configmaps,
      namespace: 'default',
      resourceVersion: first.metadata.resourceVersion,
    });
    await until(() => resumed.sink.lines.length === 1);
    expect(resumed.sink.lines[0]).toMatchObject({ type: 'ADDED', object: { metadata: { name: 'b' } } });
    for (let i = 0; i < 10; i++) await reg.create(configmaps, 'default', { metadata: { name: `n${i}` } }, w());
    const old = start(reg, { def: configmaps, namespace: 'default', resourceVersion: first.metadata.resourceVersion });
    await old.done;
    expect(old.sink.lines).toEqual([
      { type: 'ERROR', object: expect.objectContaining({ kind: 'Status', code: 410, reason: 'Expired' }) },
    ]);
  });

  it('renders Table events with column definitions once, and sends bookmarks', async () => {
    const { reg } = await setup();
    const t = start(reg, {
      def: pods,
      namespace: 'default',
      table: { include: 'Metadata' },
      bookmarks: true,
      bookmarkIntervalMs: 20,
      resourceVersion: '0',
    });
    await reg.create(
      pods,
      'default',
      { metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }] } },
      w(),
    );
    await reg.patch(pods, 'default', 'p', 'merge', { metadata: { labels: { a: 'b' } } }, w());
    await until(
      () =>
        t.sink.lines.filter((l) => l.type === 'MODIFIED').length === 1 &&
        t.sink.lines.some((l) => l.type === 'BOOKMARK'),
    );
    const [added, modified] = t.sink.lines.filter((l) => l.type !== 'BOOKMARK');
    expect(added!.object).toMatchObject({
      kind: 'Table',
      rows: [
        {
          cells: ['p', '0/1', 'Pending', '0', expect.any(String), '<none>', '<none>', '<none>', '<none>'],
          object: { kind: 'PartialObjectMetadata' },
        },
      ],
    });
    expect(added!.object.columnDefinitions.length).toBe(9);
    expect(modified!.object.columnDefinitions).toEqual([]);
    const bm = t.sink.lines.find((l) => l.type === 'BOOKMARK')!;
    expect(Number(bm.object.metadata.resourceVersion)).toBeGreaterThan(0);
  });

  it('ends the stream after timeoutSeconds', async () => {
    const { reg } = await setup();
    const t = start(reg, { def: configmaps, namespace: 'default', timeoutSeconds: 0.05 });
    await t.done;
    expect(t.sink.writableEnded).toBe(true);
  });
});

describe('limits', () => {
  it('rate-limits per client with a token bucket', () => {
    let now = 0;
    const rl = new RateLimiter(10, 20, () => now);
    for (let i = 0; i < 20; i++) expect(rl.take('a')).toBe(0);
    expect(rl.take('a')).toBeGreaterThan(0);
    expect(rl.take('b')).toBe(0);
    now += 1000;
    for (let i = 0; i < 10; i++) expect(rl.take('a')).toBe(0);
    expect(rl.take('a')).toBeGreaterThan(0);
  });
  it('caps concurrent watches in total and per client', () => {
    const wc = new WatchCounter(3, 2);
    const r1 = wc.acquire('a')!;
    wc.acquire('a');
    expect(wc.acquire('a')).toBeUndefined();
    wc.acquire('b');
    expect(wc.acquire('c')).toBeUndefined();
    r1();
    r1();
    expect(wc.active).toBe(2);
    expect(wc.acquire('c')).toBeDefined();
  });
});
