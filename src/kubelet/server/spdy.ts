import { EventEmitter } from 'node:events';
import zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from './spdy-dictionary.js';

/**
 * The server side of a SPDY/3.1 session as Kubernetes' streaming clients use it (moby/spdystream under
 * client-go): the client opens streams with SYN_STREAM carrying plain key/value headers (no HTTP pseudo
 * headers), the server answers each with a SYN_REPLY, and both send DATA frames, FIN ending a direction.
 * Written here because the npm SPDY implementations (spdy-transport) treat every stream as an HTTP request
 * and refuse a SYN_STREAM without :method and :path, which is all that spdystream sends. Flow control:
 * spdystream neither sends nor honours WINDOW_UPDATE, so none is sent and incoming ones are ignored.
 * The transport is left to the caller (an upgraded socket, or a WebSocket tunnel): bytes in through feed(),
 * bytes out through the write function.
 */

const VERSION = 3;
const TYPE = { SYN_STREAM: 1, SYN_REPLY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, HEADERS: 8 } as const;
const FLAG_FIN = 0x01;
const MAX_DATA = 32 * 1024;
/** RST_STREAM status codes (SPDY/3 2.6.3) */
export const RST = { PROTOCOL_ERROR: 1, INVALID_STREAM: 2, REFUSED_STREAM: 3, CANCEL: 5, INTERNAL_ERROR: 6 } as const;

export interface SpdyStreamEvents {
  data: [Buffer];
  end: [];
  reset: [];
}

export class SpdyStream extends EventEmitter<SpdyStreamEvents> {
  /** the remote side sent FIN */
  remoteEnded = false;
  /** we sent FIN */
  localEnded = false;
  constructor(
    private readonly session: SpdySession,
    readonly id: number,
    /** header names lowercased, as on the wire */
    readonly headers: Record<string, string>,
  ) {
    super();
  }

  write(data: Buffer): void {
    if (this.localEnded) return;
    for (let off = 0; off < data.length; off += MAX_DATA)
      this.session.sendData(this.id, data.subarray(off, off + MAX_DATA), false);
  }

  end(): void {
    if (this.localEnded) return;
    this.localEnded = true;
    this.session.sendData(this.id, Buffer.alloc(0), true);
    this.session.forgetIfDone(this);
  }

  reset(status: number = RST.CANCEL): void {
    this.session.sendRst(this.id, status);
    this.localEnded = this.remoteEnded = true;
    this.session.forgetIfDone(this);
  }
}

export interface SpdySessionEvents {
  stream: [SpdyStream];
  close: [];
  error: [Error];
}

/** Decode a SPDY/3 header block (after inflation): count, then length-prefixed names and values. */
export function decodeHeaderBlock(b: Buffer): Record<string, string> {
  const out: Record<string, string> = {};
  let off = 0;
  const u32 = (): number => {
    if (off + 4 > b.length) throw new Error('truncated header block');
    const v = b.readUInt32BE(off);
    off += 4;
    return v;
  };
  const str = (): string => {
    const n = u32();
    if (off + n > b.length) throw new Error('truncated header block');
    const s = b.subarray(off, off + n).toString('utf8');
    off += n;
    return s;
  };
  const count = u32();
  for (let i = 0; i < count; i++) {
    const name = str().toLowerCase();
    out[name] = str().split('\0')[0] ?? '';
  }
  return out;
}

export function encodeHeaderBlock(h: Record<string, string>): Buffer {
  const parts: Buffer[] = [];
  const u32 = (n: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  const entries = Object.entries(h);
  parts.push(u32(entries.length));
  for (const [k, v] of entries) {
    const kb = Buffer.from(k.toLowerCase());
    const vb = Buffer.from(v);
    parts.push(u32(kb.length), kb, u32(vb.length), vb);
  }
  return Buffer.concat(parts);
}

/** A zlib stream whose context lives across header blocks, each block ending with a sync flush. Callers
 *  serialize their calls (the session's input loop, its output queue). */
class HeaderCodec {
  private chunks: Buffer[] = [];
  constructor(private readonly z: zlib.Inflate | zlib.Deflate) {
    z.on('data', (c: Buffer) => this.chunks.push(c));
  }

  process(block: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.z.once('error', onError);
      this.z.write(block);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.z.off('error', onError);
        const out = Buffer.concat(this.chunks);
        this.chunks = [];
        resolve(out);
      });
    });
  }

  close(): void {
    this.z.close();
  }
}

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt16BE(0x8000 | VERSION, 0);
  h.writeUInt16BE(type, 2);
  h[4] = flags;
  h.writeUIntBE(payload.length, 5, 3);
  return Buffer.concat([h, payload]);
}

export class SpdySession extends EventEmitter<SpdySessionEvents> {
  private buf: Buffer = Buffer.alloc(0);
  private readonly streams = new Map<number, SpdyStream>();
  private readonly inflate = new HeaderCodec(zlib.createInflate({ dictionary: SPDY3_DICTIONARY }));
  private readonly deflate = new HeaderCodec(zlib.createDeflate({ dictionary: SPDY3_DICTIONARY }));
  private closed = false;
  /** the highest stream id the client opened (GOAWAY's last-good-stream-id) */
  private lastId = 0;
  private pumping = false;
  /** outgoing frames, in order (a SYN_REPLY waits for its header block's compression) */
  private outQueue: Promise<void> = Promise.resolve();

  constructor(private readonly out: (b: Buffer) => void) {
    super();
  }

  /** Bytes from the client. */
  feed(chunk: Buffer): void {
    if (this.closed) return;
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    if (!this.pumping) void this.pump();
  }

  /** Frames in order; one at a time, as a header block's inflation is asynchronous. */
  private async pump(): Promise<void> {
    this.pumping = true;
    try {
      while (!this.closed && this.buf.length >= 8) {
        const len = this.buf.readUIntBE(5, 3);
        if (this.buf.length < 8 + len) break;
        const frame = this.buf.subarray(0, 8 + len);
        this.buf = this.buf.subarray(8 + len);
        await this.frame(frame);
      }
    } catch (err) {
      this.emit('error', err as Error);
      this.close();
    } finally {
      this.pumping = false;
    }
  }

  private enqueue(make: () => Buffer | Promise<Buffer>): void {
    this.outQueue = this.outQueue
      .then(async () => {
        const b = await make();
        if (!this.closed) this.out(b);
      })
      .catch((err: unknown) => {
        this.emit('error', err as Error);
        this.close();
      });
  }

  /**
   * End the session from this side, as spdystream's Close does: GOAWAY (last stream seen, status OK) after
   * every frame already queued; resolves once all of them went to the transport, so the caller may end it.
   */
  goAway(): Promise<void> {
    const p = Buffer.alloc(8);
    p.writeUInt32BE(this.lastId, 0);
    this.control(TYPE.GOAWAY, 0, p);
    return this.outQueue;
  }

  /** The transport ended: every stream is reset for its users. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.streams.values()) s.emit('reset');
    this.streams.clear();
    this.inflate.close();
    this.deflate.close();
    this.emit('close');
  }

  /** Answer a stream (SYN_REPLY, empty headers), as the kubelet's stream handler does for every stream. */
  reply(s: SpdyStream): void {
    const id = Buffer.alloc(4);
    id.writeUInt32BE(s.id & 0x7fffffff);
    this.enqueue(async () =>
      controlFrame(TYPE.SYN_REPLY, 0, Buffer.concat([id, await this.deflate.process(encodeHeaderBlock({}))])),
    );
  }

  sendData(id: number, data: Buffer, fin: boolean): void {
    if (this.closed) return;
    const h = Buffer.alloc(8);
    h.writeUInt32BE(id & 0x7fffffff, 0);
    h[4] = fin ? FLAG_FIN : 0;
    h.writeUIntBE(data.length, 5, 3);
    const frame = Buffer.concat([h, data]);
    this.enqueue(() => frame);
  }

  sendRst(id: number, status: number): void {
    const p = Buffer.alloc(8);
    p.writeUInt32BE(id & 0x7fffffff, 0);
    p.writeUInt32BE(status, 4);
    this.control(TYPE.RST_STREAM, 0, p);
  }

  forgetIfDone(s: SpdyStream): void {
    if (s.localEnded && s.remoteEnded) this.streams.delete(s.id);
  }

  private control(type: number, flags: number, payload: Buffer): void {
    if (this.closed) return;
    const frame = controlFrame(type, flags, payload);
    this.enqueue(() => frame);
  }

  private async frame(f: Buffer): Promise<void> {
    const flags = f[4]!;
    const body = f.subarray(8);
    if ((f[0]! & 0x80) === 0) {
      const s = this.streams.get(f.readUInt32BE(0) & 0x7fffffff);
      if (!s) return;
      if (body.length) s.emit('data', Buffer.from(body));
      if (flags & FLAG_FIN) this.remoteEnd(s);
      return;
    }
    const version = f.readUInt16BE(0) & 0x7fff;
    if (version !== VERSION) throw new Error(`unsupported SPDY version ${version}`);
    switch (f.readUInt16BE(2)) {
      case TYPE.SYN_STREAM: {
        const id = body.readUInt32BE(0) & 0x7fffffff;
        const headers = decodeHeaderBlock(await this.inflate.process(body.subarray(10)));
        const s = new SpdyStream(this, id, headers);
        this.streams.set(id, s);
        this.lastId = Math.max(this.lastId, id);
        this.emit('stream', s);
        if (flags & FLAG_FIN) this.remoteEnd(s);
        return;
      }
      case TYPE.HEADERS:
        // keep the compression context in step; the headers themselves are not used after the SYN
        await this.inflate.process(body.subarray(4));
        if (flags & FLAG_FIN) {
          const s = this.streams.get(body.readUInt32BE(0) & 0x7fffffff);
          if (s) this.remoteEnd(s);
        }
        return;
      case TYPE.RST_STREAM: {
        const id = body.readUInt32BE(0) & 0x7fffffff;
        const s = this.streams.get(id);
        if (s) {
          this.streams.delete(id);
          s.remoteEnded = s.localEnded = true;
          s.emit('reset');
        }
        return;
      }
      case TYPE.PING:
        this.control(TYPE.PING, 0, Buffer.from(body));
        return;
      case TYPE.GOAWAY:
        this.close();
        return;
      default:
        // SETTINGS, WINDOW_UPDATE, NOOP, CREDENTIAL: nothing to do for this use
        return;
    }
  }

  private remoteEnd(s: SpdyStream): void {
    if (s.remoteEnded) return;
    s.remoteEnded = true;
    s.emit('end');
    this.forgetIfDone(s);
  }
}
