import { describe, expect, it } from 'vitest';
import { expectedStreams, ResizeDecoder } from '../../../../src/kubelet/server/spdy-command.js';

describe('remote command over SPDY: streams and resize stream', () => {
  it('expects the streams a v4 client opens: stderr only without a TTY, resize only with one', () => {
    expect(expectedStreams({ stdin: false, stdout: true, stderr: true, tty: false })).toEqual([
      'error',
      'stdout',
      'stderr',
    ]);
    expect(expectedStreams({ stdin: true, stdout: true, stderr: true, tty: true })).toEqual([
      'error',
      'stdin',
      'stdout',
      'resize',
    ]);
  });

  it('decodes newline-ended JSON sizes split anywhere across chunks, skipping garbage', () => {
    const d = new ResizeDecoder();
    expect(d.push(Buffer.from('{"Width":80,"Hei'))).toEqual([]);
    expect(d.push(Buffer.from('ght":24}\nnot json\n{"Width":120,"Height":40}\n{"Width"'))).toEqual([
      { cols: 80, rows: 24 },
      { cols: 120, rows: 40 },
    ]);
    expect(d.push(Buffer.from(':1,"Height":2}\n'))).toEqual([{ cols: 1, rows: 2 }]);
  });
});
