import zlib from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  decodeHeaderBlock,
  encodeHeaderBlock,
  SpdySession,
  type SpdyStream,
} from '../../../../src/kubelet/server/spdy.js';
import { SPDY3_DICTIONARY } from '../../../../src/kubelet/server/spdy-dictionary.js';
import { exitStatus, parseResize } from '../../../../src/kubelet/server/channels.js';

/** A client side as spdystream frames it: SYN_STREAM with a header block from one shared deflate stream. */
class Client {
  private readonly deflate = zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
  private chunks: Buffer[] = [];
  constructor() {
    this.deflate.on('data', (c: Buffer) => this.chunks.push(c));
  }
  private compress(b: Buffer): Promise<Buffer> {
    return new Promise((res) => {
      this.deflate.write(b);
      this.deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        const out = Buffer.concat(this.chunks);
        this.chunks = [];
        res(out);
      });
    });
  }
  async syn(id: number, headers: Record<string, string>, fin = false): Promise<Buffer> {
    const block = await this.compress(encodeHeaderBlock(headers));
    const p = Buffer.alloc(10);
    p.writeUInt32BE(id, 0);
    return control(1, fin ? 1 : 0, Buffer.concat([p, block]));
  }
}

function control(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8003, 0);
  h.writeUInt16BE(type, 2);
  h[4] = flags;
  h.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([h, payload]);
}

function data(id: number, body: Buffer, fin: boolean): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE(id, 0);
  h[4] = fin ? 1 : 0;
  h.writeUIntBE(body.length, 5, 3);
  return Buffer.concat([h, body]);
}

/** Frames as [type or 'data', stream id, flags, payload]. */
function frames(b: Buffer): { kind: number | 'data'; id: number; flags: number; payload: Buffer }[] {
  const out = [];
  let off = 0;
  while (off + 8 <= b.length) {
    const len = b.readUIntBE(off + 5, 3);
    const f = b.subarray(off, off + 8 + len);
    const isControl = (f[0]! & 0x80) !== 0;
    out.push({
      kind: isControl ? f.readUInt16BE(2) : ('data' as const),
      id: isControl ? f.readUInt32BE(8) & 0x7fffffff : f.readUInt32BE(0) & 0x7fffffff,
      flags: f[4]!,
      payload: f.subarray(8),
    });
    off += 8 + len;
  }
  return out;
}

/** Wait (bounded) until `cond` holds: header blocks go through zlib's thread pool. */
async function settle(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
}

describe('SPDY/3.1 server session', () => {
  it('header blocks round-trip (names lowercased, first of NUL-separated values)', () => {
    expect(decodeHeaderBlock(encodeHeaderBlock({ StreamType: 'data', port: '80' }))).toEqual({
      streamtype: 'data',
      port: '80',
    });
    expect(() => decodeHeaderBlock(Buffer.from([0, 0, 0, 1, 0, 0]))).toThrow(/truncated/);
  });

  it('takes streams with plain headers across one compression context, answers, carries data and FIN, echoes PING', async () => {
    const sent: Buffer[] = [];
    const session = new SpdySession((b) => sent.push(b));
    const streams: SpdyStream[] = [];
    const received: string[] = [];
    session.on('stream', (s) => {
      session.reply(s);
      streams.push(s);
      s.on('data', (d) => received.push(`${s.id}:${d.toString()}`));
      s.on('end', () => received.push(`${s.id}:FIN`));
    });
    const client = new Client();
    // two SYN_STREAMs in one chunk, split mid-frame from what follows: the second block depends on the first
    const wire = Buffer.concat([
      await client.syn(1, { streamType: 'error', port: '80', requestID: '0' }),
      await client.syn(3, { streamType: 'data', port: '80', requestID: '0' }),
      data(3, Buffer.from('GET / HTTP/1.0\r\n\r\n'), true),
      control(6, 0, Buffer.from([0, 0, 0, 1])),
    ]);
    session.feed(wire.subarray(0, 30));
    session.feed(wire.subarray(30));
    await settle(() => received.length === 2 && sent.length >= 3);
    expect(streams.map((s) => [s.id, s.headers.streamtype, s.headers.requestid])).toEqual([
      [1, 'error', '0'],
      [3, 'data', '0'],
    ]);
    expect(received).toEqual(['3:GET / HTTP/1.0\r\n\r\n', '3:FIN']);
    streams[1]!.write(Buffer.from('HTTP/1.0 200 OK\r\n\r\nhi'));
    streams[1]!.end();
    await settle(() => frames(Buffer.concat(sent)).length === 5);
    const out = frames(Buffer.concat(sent));
    expect(out.map((f) => [f.kind, f.id])).toEqual([
      [2, 1],
      [2, 3],
      [6, 1],
      ['data', 3],
      ['data', 3],
    ]);
    expect(out[3]!.payload.toString()).toBe('HTTP/1.0 200 OK\r\n\r\nhi');
    expect(out[4]!.flags & 1).toBe(1);
    // the SYN_REPLY header blocks inflate, in order, with the dictionary
    const inflate = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
    const blocks: Buffer[] = [];
    inflate.on('data', (c: Buffer) => blocks.push(c));
    for (const f of out.filter((x) => x.kind === 2)) inflate.write(f.payload.subarray(4));
    await new Promise<void>((r) => inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => r()));
    expect(Buffer.concat(blocks)).toEqual(Buffer.alloc(8));
  });

  it('refuses another SPDY version', async () => {
    const session = new SpdySession(() => undefined);
    const errors: string[] = [];
    session.on('error', (e) => errors.push(e.message));
    const bad = control(4, 0, Buffer.alloc(4));
    bad.writeUInt16BE(0x8002, 0);
    session.feed(bad);
    await settle(() => errors.length > 0);
    expect(errors).toEqual(['unsupported SPDY version 2']);
  });
});

describe('remote command channels', () => {
  it('reads resize messages and reports exit codes as kubectl expects', () => {
    expect(parseResize(Buffer.from('{"Width":120,"Height":40}'))).toEqual({ cols: 120, rows: 40 });
    expect(parseResize(Buffer.from('{"Width":-1,"Height":40}'))).toBeUndefined();
    expect(parseResize(Buffer.from('nope'))).toBeUndefined();
    expect(exitStatus(0, ['true'])).toEqual({ metadata: {}, status: 'Success' });
    expect(exitStatus(3, ['sh', '-c', 'exit 3'])).toMatchObject({
      status: 'Failure',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
  });
});
