import { dialInNetns } from '../../os/dial.js';
import type { Logger } from '../../util/log.js';
import { RST, type SpdySession, type SpdyStream } from './spdy.js';

/** The port-forward stream protocol (X-Stream-Protocol-Version, and the WebSocket tunnel's "SPDY/3.1+" one). */
export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';
export const PORT_FORWARD_TUNNEL_PROTOCOL = `SPDY/3.1+${PORT_FORWARD_PROTOCOL}`;

/** How long the second stream of a request pair may take to arrive (kubelet's streamCreationTimeout). */
const PAIR_TIMEOUT_MS = 30_000;

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer: NodeJS.Timeout;
}

/**
 * kubelet's port-forward over SPDY (pkg/kubelet/cri/streaming/portforward/httpstream.go): the client opens
 * two streams per connection, `streamType: error` and `streamType: data`, with the same `requestID` and
 * `port`. Once both are there the kubelet dials 127.0.0.1:PORT in the pod's network namespace and joins it to
 * the data stream; a failure is written on the error stream. Both streams are closed when the connection ends.
 */
export function servePortForward(session: SpdySession, pod: string, netnsPath: string, log: Logger): void {
  const pairs = new Map<string, Pair>();
  const live = new Set<{ kill(): void }>();
  session.on('stream', (s) => {
    session.reply(s);
    const type = s.headers.streamtype;
    const id = s.headers.requestid ?? '';
    if (type !== 'data' && type !== 'error') {
      s.reset(RST.PROTOCOL_ERROR);
      return;
    }
    let p = pairs.get(id);
    if (!p) {
      p = {
        timer: setTimeout(() => {
          pairs.delete(id);
          p?.data?.reset();
          p?.error?.reset();
        }, PAIR_TIMEOUT_MS),
      };
      pairs.set(id, p);
    }
    p[type] = s;
    if (p.data && p.error) {
      clearTimeout(p.timer);
      pairs.delete(id);
      forward(p.data, p.error);
    }
  });
  session.on('close', () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    for (const c of live) c.kill();
  });

  function forward(data: SpdyStream, error: SpdyStream): void {
    const port = Number(data.headers.port);
    const fail = (why: string): void => {
      error.write(Buffer.from(`error forwarding port ${data.headers.port} to pod ${pod}: ${why}`));
      error.end();
      data.end();
    };
    let conn;
    try {
      conn = dialInNetns(netnsPath, port);
    } catch (err) {
      return fail((err as Error).message);
    }
    const c = conn;
    const handle = { kill: () => c.kill('SIGKILL') };
    live.add(handle);
    let stderr = '';
    c.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    c.stdout?.on('data', (d: Buffer) => data.write(d));
    c.stdin?.on('error', () => undefined);
    data.on('data', (d) => c.stdin?.write(d));
    data.on('end', () => c.stdin?.end());
    data.on('reset', () => c.kill('SIGKILL'));
    c.on('error', (err) => fail(err.message));
    c.on('close', (code) => {
      live.delete(handle);
      if (code !== 0 && stderr) {
        log.info({ port, err: stderr.trim() }, 'port-forward dial failed');
        return fail(stderr.trim().split('\n').pop() ?? 'connection failed');
      }
      data.end();
      error.end();
    });
  }
}
