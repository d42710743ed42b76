import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Logger } from '../../util/log.js';
import { errorMessage } from '../../util/errors.js';
import type { Pod } from '../types.js';
import { authorizeKubeletRequest } from './auth.js';
import { REMOTE_COMMAND_PROTOCOLS } from './channels.js';
import { type LogOptions, LogFileReader, LogFormatter, parseCriLine, tail } from './cri-log.js';
import { type ExecTarget, serveExec, type StreamOptions } from './exec.js';
import { serveAttach } from './attach.js';
import { PORT_FORWARD_PROTOCOL, PORT_FORWARD_TUNNEL_PROTOCOL, servePortForward } from './portforward.js';
import { SpdySession } from './spdy.js';
import { type CommandStreams, wsCommandStreams } from './command-streams.js';
import { SPDY_REMOTE_COMMAND_PROTOCOL, spdyCommandStreams } from './spdy-command.js';

/** What the server needs from the kubelet about one container. */
export interface ServedContainer {
  /** set while an instance runs */
  exec?: ExecTarget;
  log: string;
  previousLog: string;
  /** the FIFO of the container's stdin, when its spec asks for one */
  stdin?: string;
  /** the container runs on a terminal (spec.tty) */
  tty: boolean;
  /** the instance is still running (follow stops when it ends) */
  running(): boolean;
}

interface KubeletPods {
  pods(): Pod[];
  /** the container, or why not (message for a 400/404) */
  container(namespace: string, pod: string, name: string): ServedContainer | { code: number; message: string };
  /** the pod's network namespace (port-forward), or why not */
  sandbox(namespace: string, pod: string): { netnsPath: string } | { code: number; message: string };
}

export interface KubeletServerOptions {
  address: string;
  port: number;
  cert: string;
  key: string;
  clientCA: string;
  pods: KubeletPods;
  log: Logger;
}

const FOLLOW_POLL_MS = 200;
const TUNNEL_STAND_IN = 'skiff-spdy-portforward-tunnel';

function status(res: ServerResponse, code: number, message: string, reason = 'BadRequest'): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

function rejectUpgrade(socket: Duplex, code: number, message: string): void {
  const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, code });
  socket.end(
    `HTTP/1.1 ${code} ${code === 401 ? 'Unauthorized' : code === 403 ? 'Forbidden' : code === 404 ? 'Not Found' : 'Bad Request'}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

function flag(q: URLSearchParams, name: string): boolean {
  const v = q.get(name);
  return v === '1' || v === 'true';
}

/** Kubernetes' log query parameters (as the API server forwards them). */
export function logOptions(q: URLSearchParams, now = Date.now()): LogOptions | string {
  const int = (name: string): number | undefined | string => {
    const v = q.get(name);
    if (v === null || v === '') return undefined;
    const n = Number(v);
    return Number.isInteger(n) && n >= 0 ? n : `${name}: "${v}" is not a non-negative integer`;
  };
  const tailLines = int('tailLines');
  const limitBytes = int('limitBytes');
  const sinceSeconds = int('sinceSeconds');
  for (const v of [tailLines, limitBytes, sinceSeconds]) if (typeof v === 'string') return v;
  const sinceTime = q.get('sinceTime');
  let sinceMs: number | undefined;
  if (sinceTime) {
    sinceMs = Date.parse(sinceTime);
    if (Number.isNaN(sinceMs)) return `sinceTime: "${sinceTime}" is not an RFC 3339 time`;
  }
  if (typeof sinceSeconds === 'number') sinceMs = now - sinceSeconds * 1000;
  return {
    follow: flag(q, 'follow'),
    previous: flag(q, 'previous'),
    timestamps: flag(q, 'timestamps'),
    tailLines: tailLines as number | undefined,
    limitBytes: limitBytes === 0 ? undefined : (limitBytes as number | undefined),
    sinceMs,
  };
}

/**
 * The kubelet API on :10250 (HTTPS, client certificates, auth.ts): /healthz, /pods, /containerLogs, and the
 * streaming endpoints over WebSocket: /exec and /attach (v5/v4.channel.k8s.io).
 */
export class KubeletServer {
  private server: Server | undefined;
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => REMOTE_COMMAND_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });

  /**
   * port-forward's WebSocket tunnel: SPDY frames inside binary messages (kubectl 1.31+). Its subprotocol,
   * "SPDY/3.1+portforward.k8s.io", has a "/", which `ws` (strict RFC 7230 tokens) refuses: the request carries
   * a stand-in token through the handshake and the answer is given the real name back.
   */
  private readonly tunnels = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    handleProtocols: (offered) => (offered.has(TUNNEL_STAND_IN) ? TUNNEL_STAND_IN : false),
  });

  constructor(private readonly o: KubeletServerOptions) {
    this.tunnels.on('headers', (headers) => {
      const i = headers.indexOf(`Sec-WebSocket-Protocol: ${TUNNEL_STAND_IN}`);
      if (i >= 0) headers[i] = `Sec-WebSocket-Protocol: ${PORT_FORWARD_TUNNEL_PROTOCOL}`;
    });
  }

  async start(): Promise<void> {
    const server = createServer({
      cert: this.o.cert,
      key: this.o.key,
      ca: this.o.clientCA,
      requestCert: true,
      rejectUnauthorized: false,
    });
    server.on('request', (req, res) => void this.request(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.o.port, this.o.address, () => resolve());
    });
    this.server = server;
    this.o.log.info({ address: this.o.address, port: this.o.port }, 'kubelet server listening');
  }

  async stop(): Promise<void> {
    for (const c of this.wss.clients) c.terminate();
    for (const c of this.tunnels.clients) c.terminate();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
    this.server?.closeAllConnections();
  }

  private async request(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const auth = authorizeKubeletRequest(req.socket as TLSSocket, url.pathname);
    if (!auth.allowed) return status(res, auth.code, auth.message, auth.code === 401 ? 'Unauthorized' : 'Forbidden');
    const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    try {
      if (url.pathname === '/healthz') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        return void res.end('ok');
      }
      if (url.pathname === '/pods' || url.pathname === '/pods/') {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return void res.end(
          JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: this.o.pods.pods() }),
        );
      }
      if (segs[0] === 'containerLogs' && segs.length === 4 && req.method === 'GET')
        return await this.logs(segs, url, req, res);
      if (['exec', 'attach', 'portForward'].includes(segs[0] ?? ''))
        return status(res, 400, 'Upgrade request required', 'BadRequest');
      status(res, 404, `the server could not find the requested resource (${url.pathname})`, 'NotFound');
    } catch (err) {
      this.o.log.warn({ err: errorMessage(err), path: url.pathname }, 'kubelet request failed');
      if (!res.headersSent) status(res, 500, errorMessage(err), 'InternalError');
      else res.destroy();
    }
  }

  private async logs(segs: string[], url: URL, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const [, ns, pod, name] = segs as [string, string, string, string];
    const opts = logOptions(url.searchParams);
    if (typeof opts === 'string') return status(res, 400, opts);
    const c = this.o.pods.container(ns, pod, name);
    if ('code' in c) return status(res, c.code, c.message, c.code === 404 ? 'NotFound' : 'BadRequest');
    const file = opts.previous ? c.previousLog : c.log;
    const reader = new LogFileReader(file);
    const first = reader.read();
    if (opts.previous && first.length === 0 && !(await exists(file)))
      return status(res, 400, `previous terminated container "${name}" in pod "${pod}" not found`);
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Transfer-Encoding': 'chunked' });
    const fmt = new LogFormatter(opts);
    const write = (lines: string[]): void => {
      for (const line of lines) {
        const l = parseCriLine(line);
        if (!l) continue;
        const b = fmt.format(l);
        if (b.length) res.write(b);
        if (fmt.done) return;
      }
    };
    write(tail(first, opts.tailLines));
    if (!opts.follow || opts.previous || fmt.done) return void res.end();
    let gone = false;
    req.on('close', () => (gone = true));
    res.on('close', () => (gone = true));
    // follow: what the running instance appends, until it ends (then the rest) or the client leaves
    while (!gone && !fmt.done) {
      const running = c.running();
      write(reader.read());
      if (!running) break;
      await new Promise((r) => setTimeout(r, FOLLOW_POLL_MS));
    }
    res.end();
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const auth = authorizeKubeletRequest(socket as TLSSocket, url.pathname);
    if (!auth.allowed) return rejectUpgrade(socket, auth.code, auth.message);
    const segs = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    const kind = segs[0];
    if ((kind === 'exec' || kind === 'attach') && segs.length === 4) {
      const [, ns, pod, name] = segs as [string, string, string, string];
      const c = this.o.pods.container(ns, pod, name);
      if ('code' in c) return rejectUpgrade(socket, c.code, c.message);
      if (!c.exec) return rejectUpgrade(socket, 400, `container ${name} is not running`);
      const q = url.searchParams;
      const streams: StreamOptions = {
        stdin: flag(q, 'input'),
        stdout: flag(q, 'output'),
        stderr: flag(q, 'error'),
        tty: flag(q, 'tty'),
      };
      const command = q.getAll('command');
      if (kind === 'exec' && command.length === 0)
        return rejectUpgrade(socket, 400, 'you must specify at least 1 command');
      if (!streams.stdin && !streams.stdout && !streams.stderr)
        return rejectUpgrade(socket, 400, 'you must specify at least 1 of stdin, stdout, stderr');
      const target = c.exec;
      const log = this.o.log.child({ pod: `${ns}/${pod}`, container: name });
      const serve = (io: CommandStreams): void => {
        log.info({ command, tty: streams.tty, protocol: io.transport }, kind);
        const served =
          kind === 'attach'
            ? serveAttach(io, c, streams, FOLLOW_POLL_MS)
            : serveExec(io, target, command, streams, log);
        void served.catch((err: unknown) => {
          log.warn({ err: errorMessage(err) }, `${kind} failed`);
          io.terminate();
        });
      };
      if (String(req.headers.upgrade ?? '').toLowerCase() === 'websocket') {
        this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => serve(wsCommandStreams(ws, ws.protocol)));
        return;
      }
      return this.spdyCommand(req, socket, head, streams, serve, log);
    }
    if (kind === 'portForward' && segs.length === 3) return this.portForward(req, socket, head, segs[1]!, segs[2]!);
    rejectUpgrade(socket, 404, `the server could not find the requested resource (${url.pathname})`);
  }

  /**
   * exec/attach over SPDY/3.1 (kubectl with KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false, and kubectl before 1.30):
   * the protocol is agreed in X-Stream-Protocol-Version (the client lists what it speaks), the 101 names it,
   * and the client then opens one stream per channel.
   */
  private spdyCommand(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    streams: StreamOptions,
    serve: (io: CommandStreams) => void,
    log: Logger,
  ): void {
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    const offered = String(req.headers['x-stream-protocol-version'] ?? '')
      .split(',')
      .map((p) => p.trim());
    if (!upgrade.startsWith('spdy/3.1'))
      return rejectUpgrade(socket, 400, 'unable to upgrade: expected a WebSocket or SPDY/3.1 upgrade');
    if (!offered.includes(SPDY_REMOTE_COMMAND_PROTOCOL))
      return rejectUpgrade(
        socket,
        403,
        `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], ` +
          `server supports [${SPDY_REMOTE_COMMAND_PROTOCOL}]`,
      );
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
        `X-Stream-Protocol-Version: ${SPDY_REMOTE_COMMAND_PROTOCOL}\r\n\r\n`,
    );
    spdyCommandStreams(socket, head, streams).then(serve, (err: unknown) =>
      log.info({ err: errorMessage(err) }, 'SPDY command session not started'),
    );
  }

  /** Port-forward over a WebSocket tunnel (subprotocol SPDY/3.1+portforward.k8s.io) or a SPDY/3.1 upgrade. */
  private portForward(req: IncomingMessage, socket: Duplex, head: Buffer, ns: string, pod: string): void {
    const sb = this.o.pods.sandbox(ns, pod);
    if ('code' in sb) return rejectUpgrade(socket, sb.code, sb.message);
    const log = this.o.log.child({ pod: `${ns}/${pod}` });
    const upgrade = String(req.headers.upgrade ?? '').toLowerCase();
    if (upgrade === 'websocket') {
      const offered = String(req.headers['sec-websocket-protocol'] ?? '')
        .split(',')
        .map((p) => p.trim());
      if (!offered.includes(PORT_FORWARD_TUNNEL_PROTOCOL))
        return rejectUpgrade(
          socket,
          400,
          `unable to upgrade: expected the ${PORT_FORWARD_TUNNEL_PROTOCOL} subprotocol`,
        );
      req.headers['sec-websocket-protocol'] = TUNNEL_STAND_IN;
      this.tunnels.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        log.info({ protocol: ws.protocol }, 'port-forward (WebSocket tunnel)');
        const session = new SpdySession((b) => ws.readyState === ws.OPEN && ws.send(b, { binary: true }));
        servePortForward(session, pod, sb.netnsPath, log);
        ws.on('message', (m: Buffer) => session.feed(m));
        ws.on('close', () => session.close());
        session.on('error', (err) => {
          log.warn({ err: err.message }, 'SPDY session failed');
          ws.terminate();
        });
      });
      return;
    }
    const offered = String(req.headers['x-stream-protocol-version'] ?? '')
      .split(',')
      .map((p) => p.trim());
    if (!upgrade.startsWith('spdy/3.1') || !offered.includes(PORT_FORWARD_PROTOCOL))
      return rejectUpgrade(socket, 400, `unable to upgrade: expected SPDY/3.1 with ${PORT_FORWARD_PROTOCOL}`);
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
        `X-Stream-Protocol-Version: ${PORT_FORWARD_PROTOCOL}\r\n\r\n`,
    );
    log.info('port-forward (SPDY/3.1)');
    const session = new SpdySession((b) => socket.writable && socket.write(b));
    servePortForward(session, pod, sb.netnsPath, log);
    if (head.length) session.feed(head);
    socket.on('data', (d: Buffer) => session.feed(d));
    socket.on('close', () => session.close());
    socket.on('error', () => session.close());
    session.on('error', (err) => {
      log.warn({ err: err.message }, 'SPDY session failed');
      socket.destroy();
    });
  }
}

async function exists(file: string): Promise<boolean> {
  const { existsSync } = await import('node:fs');
  return existsSync(file);
}
