import { mkdtempSync, appendFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  LogFileReader,
  LogFormatter,
  parseCriLine,
  rfc3339Nano,
  tail,
} from '../../../../src/kubelet/server/cri-log.js';
import { logOptions } from '../../../../src/kubelet/server/server.js';

const opts = { follow: false, previous: false, timestamps: false };

describe('CRI log lines', () => {
  it('parses full and partial lines (F adds the newline, P does not)', () => {
    expect(parseCriLine('2026-12-02T12:43:28.276107000Z stdout F hello world')).toEqual({
      time: '2026-12-02T12:43:28.276107000Z',
      ms: Date.parse('2026-12-02T12:43:28.276Z'),
      stream: 'stdout',
      content: 'hello world\n',
    });
    expect(parseCriLine('2026-12-02T12:43:28.276107000Z stderr P part')?.content).toBe('part');
    expect(parseCriLine('2026-12-02T12:43:28Z stdout F ')?.content).toBe('\n');
    expect(parseCriLine('not a cri line')).toBeUndefined();
    expect(parseCriLine('yesterday stdout F x')).toBeUndefined();
  });

  it('prints timestamps as Go RFC3339Nano (no trailing zeros)', () => {
    expect(rfc3339Nano('2026-12-02T12:43:28.276107000Z')).toBe('2026-12-02T12:43:28.276107Z');
    expect(rfc3339Nano('2026-12-02T12:43:28.000000000Z')).toBe('2026-12-02T12:43:28Z');
    expect(rfc3339Nano('2026-12-02T12:43:28.123456789Z')).toBe('2026-12-02T12:43:28.123456789Z');
  });

  it('filters by since, prefixes timestamps, stops at limitBytes', () => {
    const a = parseCriLine('2026-12-02T12:00:00.000000000Z stdout F old')!;
    const b = parseCriLine('2026-12-02T12:00:10.500000000Z stdout F new')!;
    const since = new LogFormatter({ ...opts, sinceMs: Date.parse('2026-12-02T12:00:05Z') });
    expect(since.format(a).toString()).toBe('');
    expect(since.format(b).toString()).toBe('new\n');
    const ts = new LogFormatter({ ...opts, timestamps: true });
    expect(ts.format(b).toString()).toBe('2026-12-02T12:00:10.5Z new\n');
    const lim = new LogFormatter({ ...opts, limitBytes: 5 });
    expect(lim.format(a).toString()).toBe('old\n');
    expect(lim.done).toBe(false);
    expect(lim.format(b).toString()).toBe('n');
    expect(lim.done).toBe(true);
    expect(tail(['1', '2', '3'], 2)).toEqual(['2', '3']);
    expect(tail(['1', '2', '3'], 0)).toEqual([]);
    expect(tail(['1', '2', '3'], undefined)).toEqual(['1', '2', '3']);
  });

  it('reads a growing file by whole lines and starts over when it is replaced', () => {
    const f = join(mkdtempSync(join(tmpdir(), 'crilog-')), 'output.log');
    const r = new LogFileReader(f);
    expect(r.read()).toEqual([]);
    writeFileSync(f, 'one\ntw');
    expect(r.read()).toEqual(['one']);
    appendFileSync(f, 'o\nthree\n');
    expect(r.read()).toEqual(['two', 'three']);
    expect(r.read()).toEqual([]);
    writeFileSync(f, 'new\n');
    expect(r.read()).toEqual(['new']);
  });

  it('takes the API server query: integers, sinceTime or sinceSeconds, flags', () => {
    const now = Date.parse('2026-12-02T12:00:00Z');
    expect(logOptions(new URLSearchParams('follow=true&tailLines=3&timestamps=1&limitBytes=10'), now)).toEqual({
      follow: true,
      previous: false,
      timestamps: true,
      tailLines: 3,
      limitBytes: 10,
      sinceMs: undefined,
    });
    expect(logOptions(new URLSearchParams('sinceSeconds=5'), now)).toMatchObject({ sinceMs: now - 5000 });
    expect(logOptions(new URLSearchParams('sinceTime=2026-12-02T11:00:00Z'), now)).toMatchObject({
      sinceMs: Date.parse('2026-12-02T11:00:00Z'),
    });
    expect(logOptions(new URLSearchParams('tailLines=-1'), now)).toMatch(/tailLines/);
    expect(logOptions(new URLSearchParams('sinceTime=soon'), now)).toMatch(/sinceTime/);
  });
});
