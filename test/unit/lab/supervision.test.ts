import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_BACKOFF,
  describeExit,
  nextConsecutive,
  readUnits,
  requestControl,
  restartDelayMs,
  supervisionPaths,
  takeControlRequests,
  writeUnit,
} from '../../../src/lab/supervision.js';

describe('supervision back-off', () => {
  const p = { baseMs: 1000, maxMs: 30_000, resetAfterMs: 10_000 };

  it('doubles per crash in a row from the base up to the cap', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 40].map((n) => restartDelayMs(p, n))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000,
    ]);
    expect(restartDelayMs(p, 0)).toBe(1000);
  });

  it('a run as long as resetAfterMs starts the series again; a shorter one extends it', () => {
    expect(nextConsecutive(p, 4, 10_000)).toBe(1);
    expect(nextConsecutive(p, 4, 9_999)).toBe(5);
    expect(nextConsecutive(p, 0, 5)).toBe(1);
    expect(DEFAULT_BACKOFF.maxMs).toBeGreaterThan(DEFAULT_BACKOFF.baseMs);
  });

  it('describes a last exit in a word or two', () => {
    const at = new Date().toISOString();
    expect(describeExit(undefined)).toBe('-');
    expect(describeExit({ code: 3, signal: null, at, ranMs: 1, requested: false })).toBe('code 3');
    expect(describeExit({ code: null, signal: 'SIGKILL', at, ranMs: 1, requested: false })).toBe('SIGKILL');
    expect(describeExit({ code: 0, signal: null, at, ranMs: 1, requested: true })).toBe('restarted');
  });
});

describe('supervision files', () => {
  let dir = '';
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('round-trips units and consumes control requests once, the newest per unit', () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-supervision-'));
    const paths = supervisionPaths(dir);
    writeUnit(paths, { name: 'b-unit', argv: ['true'], log: join(dir, 'b.log'), env: {} });
    writeUnit(paths, { name: 'a-unit', argv: ['sleep', '1'], log: join(dir, 'a.log'), env: { X: '1' } });
    expect(readUnits(paths).map((u) => [u.name, u.argv, u.env])).toEqual([
      ['a-unit', ['sleep', '1'], { X: '1' }],
      ['b-unit', ['true'], {}],
    ]);
    requestControl(paths, 'a-unit', 'stop');
    requestControl(paths, 'a-unit', 'restart');
    requestControl(paths, 'b-unit', 'start');
    expect([...takeControlRequests(paths)].sort()).toEqual([
      ['a-unit', 'restart'],
      ['b-unit', 'start'],
    ]);
    expect(takeControlRequests(paths).size).toBe(0);
  });

  it('refuses a unit without a command or with a name that is no file name', () => {
    dir = mkdtempSync(join(tmpdir(), 'skiff-supervision-'));
    const paths = supervisionPaths(dir);
    expect(() => writeUnit(paths, { name: 'x', argv: [], log: 'l', env: {} })).toThrow();
    expect(() => writeUnit(paths, { name: '../x', argv: ['true'], log: 'l', env: {} })).toThrow();
  });
});
