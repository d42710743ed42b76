import type { Duplex } from 'node:stream';
import { parseResize, type TerminalSize } from './channels.js';
import type { CommandStreams } from './command-streams.js';
import type { StreamOptions } from './exec.js';
import { RST, SpdySession, type SpdyStream } from './spdy.js';

/**
 * The remote command protocol SPDY/3.1 carries (kubelet's pkg/kubelet/cri/streaming/remotecommand): one
 * SPDY stream per channel, named by its `streamType` header. v4 is what both kubectl 1.27 and 1.32 offer
 * over SPDY (1.32 offers v5 first, which over SPDY is v4 on the wire: stdin's end is the stream's FIN).
 */
export const SPDY_REMOTE_COMMAND_PROTOCOL = 'v4.channel.k8s.io';

/** How long the client may take to open every stream it needs (kubelet's streamCreationTimeout). */
const STREAMS_TIMEOUT_MS = 30_000;

type Kind = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';

/** The streams a v4 client opens for these options (as client-go's streamProtocolV4 creates them). */
export function expectedStreams(o: StreamOptions): Kind[] {
  const k: Kind[] = ['error'];
  if (o.stdin) k.push('stdin');
  if (o.stdout) k.push('stdout');
  if (o.stderr && !o.tty) k.push('stderr');
  if (o.tty) k.push('resize');
  return k;
}

/** Parse the resize stream: JSON objects one after another (Go's json.Encoder ends each with a newline). */
export class ResizeDecoder {
  private buf = '';
  push(chunk: Buffer): TerminalSize[] {
    this.buf += chunk.toString('utf8');
    const out: TerminalSize[] = [];
    let nl;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      const s = line ? parseResize(Buffer.from(line)) : undefined;
      if (s) out.push(s);
    }
    return out;
  }
}

/**
 * Run a SPDY/3.1 session on an upgraded socket and resolve with the command's streams once the client has
 * opened all that the options call for (each answered with a SYN_REPLY as it arrives); rejects when they do
 * not all come in time or the client leaves first.
 */
export function spdyCommandStreams(socket: Duplex, head: Buffer, o: StreamOptions): Promise<CommandStreams> {
  const session = new SpdySession((b) => socket.writable && socket.write(b));
  const got = new Map<Kind, SpdyStream>();
  const want = expectedStreams(o);
  const closed = new Promise<void>((r) => session.once('close', () => r()));
  let stdinCb: ((b: Buffer) => void) | undefined;
  let stdinEndCb: (() => void) | undefined;
  let resizeCb: ((s: TerminalSize) => void) | undefined;
  // what arrives before the command registered its handlers is kept, in order (null: stdin's end)
  const early: (Buffer | null)[] = [];
  const sizes: TerminalSize[] = [];
  const resize = new ResizeDecoder();
  const deliver = (): void => {
    if (stdinCb && stdinEndCb)
      for (const b of early.splice(0)) {
        if (b) stdinCb(b);
        else stdinEndCb();
      }
    if (resizeCb) for (const size of sizes.splice(0)) resizeCb(size);
  };
  const end = (): void => {
    session.close();
    socket.destroy();
  };
  socket.on('data', (d: Buffer) => session.feed(d));
  socket.on('close', () => session.close());
  socket.on('error', () => session.close());
  session.on('error', end);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      end();
      reject(new Error(`timed out waiting for the client's streams (have ${[...got.keys()].join(', ') || 'none'})`));
    }, STREAMS_TIMEOUT_MS);
    void closed.then(() => {
      clearTimeout(timer);
      reject(new Error('the client left before opening its streams'));
    });
    session.on('stream', (s) => {
      const kind = s.headers.streamtype as Kind;
      if (!want.includes(kind) || got.has(kind)) return s.reset(RST.PROTOCOL_ERROR);
      session.reply(s);
      got.set(kind, s);
      if (kind === 'stdin') {
        s.on('data', (d) => {
          early.push(d);
          deliver();
        });
        s.on('end', () => {
          early.push(null);
          deliver();
        });
      } else if (kind === 'resize') {
        s.on('data', (d) => {
          sizes.push(...resize.push(d));
          deliver();
        });
      }
      if (got.size < want.length) return;
      clearTimeout(timer);
      resolve({
        transport: `SPDY/3.1 ${SPDY_REMOTE_COMMAND_PROTOCOL}`,
        onStdin: (cb) => {
          stdinCb = cb;
          deliver();
        },
        onStdinEnd: (cb) => {
          stdinEndCb = cb;
          deliver();
        },
        onResize: (cb) => {
          resizeCb = cb;
          deliver();
        },
        stdout: (b) => got.get('stdout')?.write(Buffer.from(b)),
        stderr: (b) => got.get('stderr')?.write(Buffer.from(b)),
        finish: (status) => {
          const err = got.get('error')!;
          err.write(Buffer.from(JSON.stringify(status)));
          for (const st of got.values()) st.end();
          void session.goAway().then(() => {
            socket.end();
            session.close();
          });
        },
        closed,
        open: () => socket.writable,
        terminate: end,
      });
    });
    if (head.length) session.feed(head);
  });
}
