/**
 * Durability of the sqlite backend: a child process writes in a loop and prints each acknowledged revision;
 * it is killed with SIGKILL mid-write. After reopening, every acknowledged write is there, and a watch from
 * the beginning replays them in order.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { openSqliteBackend } from '../../../src/store/sqlite.js';
import type { WatchEvent } from '../../../src/store/types.js';
import { Lab, requireRootAndTools } from '../../helpers/lab.js';
import { collect } from './suite.js';

const root = resolve(import.meta.dirname, '../../..');

describe('sqlite durability across kill -9', () => {
  const lab = new Lab();
  let childJs = '';
  beforeAll(async () => {
    requireRootAndTools([]);
    // Node cannot run TypeScript directly: bundle the child (packages stay external, found via NODE_PATH).
    childJs = join(lab.tmpdir(), 'child.cjs');
    await build({
      entryPoints: [join(import.meta.dirname, 'durability-child.ts')],
      outfile: childJs,
      bundle: true,
      platform: 'node',
      format: 'cjs',
      packages: 'external',
      logLevel: 'error',
    });
  });
  afterAll(() => lab.cleanup());

  it('keeps every acknowledged write and replays them in order', async () => {
    const dir = lab.tmpdir();
    const child = spawn(process.execPath, [childJs, dir, '20000'], {
      env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    lab.onCleanup(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<string | null>((res) => child.once('exit', (_code, sig) => res(sig)));
    // Kill once a few hundred writes were acknowledged (bounded: the child stops itself after 20000 / 60 s).
    await new Promise<void>((res, rej) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 300) {
          child.kill('SIGKILL');
          res();
        }
      });
      child.once('exit', () => rej(new Error(`child exited before the kill: ${err}`)));
    });
    expect(await exited).toBe('SIGKILL');

    // Only complete lines are acknowledgements; the kill may cut the last one.
    const acks = out
      .split('\n')
      .filter((l) => /^ack \d+ (put|delete) \S+$/.test(l))
      .map((l) => {
        const [, r, op, key] = l.split(' ');
        return { rev: Number(r), op: op!, key: key! };
      });
    expect(acks.length).toBeGreaterThan(200);
    const last = acks[acks.length - 1]!.rev;

    const s = openSqliteBackend({ kind: 'sqlite', dir });
    try {
      const current = await s.currentRevision();
      // Every acknowledged write is there; at most the one in flight at the kill committed without its ack.
      expect(current).toBeGreaterThanOrEqual(last);
      expect(current).toBeLessThanOrEqual(last + 1);
      const w = s.watch('/dur/', 0);
      const evs: WatchEvent[] = await collect(w, current);
      w.close();
      expect(evs.map((e) => (e.type === 'put' ? e.kv.modRevision : e.type === 'delete' ? e.revision : -1))).toEqual(
        Array.from({ length: current }, (_, i) => i + 1),
      );
      for (const a of acks) {
        const e = evs[a.rev - 1]!;
        expect(e.type).toBe(a.op);
        expect(e.type === 'put' ? e.kv.key : e.type === 'delete' ? e.key : '').toBe(a.key);
      }
      // Current state agrees with the replayed history.
      const live = new Map<string, string>();
      for (const e of evs) {
        if (e.type === 'put') live.set(e.kv.key, e.kv.value);
        else if (e.type === 'delete') live.delete(e.key);
      }
      const listed = await s.list('/dur/');
      expect(listed.items.map((i) => [i.key, i.value])).toEqual(
        [...live.entries()].sort(([a], [b]) => (a < b ? -1 : 1)),
      );
    } finally {
      await s.close();
    }
  });
});
