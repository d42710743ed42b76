import { createServer, get as httpGet, type Server } from 'node:http';
import { isIP } from 'node:net';
import { createSocket, type Socket } from 'node:dgram';
import { hostname } from 'node:os';
import { parseImageFlags } from './flags.js';

/**
 * skiff/netexec: an HTTP + UDP test server in the manner of agnhost netexec.
 * HTTP: /hostname, /clientip ("ip:port" of the peer), /echo?msg=, /healthz, /readyz, /exit?code=N,
 * /fail-readiness and /fail-liveness (flip the health endpoints to 503, for probe tests), and agnhost's
 * /dial?request=R&protocol=http|udp&host=H&port=P&tries=N (asks H:P for R, N times; answers
 * `{"responses": [...]}` or `{"errors": [...]}` as agnhost does, which sig-network tests parse).
 * UDP (IPv4 and IPv6): "hostname" → hostname, "echo X" → X, "clientip" → peer address.
 * Peer addresses are "ip:port", or "[ip6]:port" as agnhost (Go's RemoteAddr) writes them.
 */
export interface NetexecOptions {
  httpPort: number;
  udpPort: number;
  /** seconds to wait after SIGTERM before exiting (agnhost's --delay-shutdown) */
  delayShutdown: number;
}

export function parseNetexecArgs(argv: string[]): NetexecOptions {
  const f = parseImageFlags(argv, ['http-port', 'udp-port', 'delay-shutdown']);
  return {
    httpPort: f.int('http-port', 8080),
    udpPort: f.int('udp-port', 8081),
    delayShutdown: f.int('delay-shutdown', 0),
  };
}

/** "ip:port", "[ip6]:port" */
function hostPort(address: string, port: number): string {
  return isIP(address) === 6 ? `[${address}]:${port}` : `${address}:${port}`;
}

export interface Running {
  close(): Promise<void>;
}

const DIAL_TIMEOUT_MS = 5000;
const MAX_TRIES = 100;

/** One request to host:port over HTTP (GET /<request>) or UDP (the request as a datagram). */
function dialOnce(protocol: string, host: string, port: number, request: string): Promise<string> {
  if (protocol === 'http') {
    return new Promise((resolve, reject) => {
      const req = httpGet({ host, port, path: `/${request.replace(/^\//, '')}`, timeout: DIAL_TIMEOUT_MS }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('timeout', () => req.destroy(new Error(`timeout after ${DIAL_TIMEOUT_MS} ms`)));
      req.on('error', reject);
    });
  }
  return new Promise((resolve, reject) => {
    const sock = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error(`reading from udp connection failed: timeout after ${DIAL_TIMEOUT_MS} ms`));
    }, DIAL_TIMEOUT_MS);
    sock.once('message', (msg) => {
      clearTimeout(timer);
      sock.close();
      resolve(msg.toString('utf8'));
    });
    sock.once('error', (e) => {
      clearTimeout(timer);
      sock.close();
      reject(e);
    });
    sock.send(request, port, host);
  });
}

async function dial(q: URLSearchParams): Promise<{ responses: string[] } | { errors: string[] }> {
  const request = q.get('request') ?? '';
  const protocol = (q.get('protocol') ?? 'http').toLowerCase();
  const host = q.get('host') ?? '';
  const port = Number(q.get('port'));
  const tries = Number(q.get('tries') ?? '1');
  if (!host || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error('dial: host and port are required');
  if (protocol !== 'http' && protocol !== 'udp')
    throw new Error(`dial: unsupported protocol "${protocol}" (http, udp)`);
  if (!Number.isInteger(tries) || tries < 1 || tries > MAX_TRIES) throw new Error(`dial: tries must be 1-${MAX_TRIES}`);
  const responses: string[] = [];
  const errors: string[] = [];
  for (let i = 0; i < tries; i++) {
    try {
      responses.push(await dialOnce(protocol, host, port, request));
    } catch (err) {
      errors.push(err instanceof Error ? err.message : String(err));
    }
  }
  return errors.length ? { errors } : { responses };
}

export async function startNetexec(opts: NetexecOptions): Promise<Running> {
  let ready = true;
  let live = true;
  const http: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const send = (code: number, body: string): void => {
      res.writeHead(code, { 'content-type': 'text/plain' });
      res.end(body);
    };
    switch (url.pathname) {
      case '/':
      case '/hostname':
        return send(200, hostname());
      case '/clientip':
        // as Go's RemoteAddr (agnhost): IPv6 in brackets
        return send(200, hostPort(req.socket.remoteAddress ?? '', req.socket.remotePort ?? 0));
      case '/echo':
        return send(200, url.searchParams.get('msg') ?? '');
      case '/healthz':
        return send(live ? 200 : 503, live ? 'ok' : 'unhealthy');
      case '/readyz':
        return send(ready ? 200 : 503, ready ? 'ok' : 'not ready');
      case '/fail-readiness':
        ready = false;
        return send(200, 'readiness failing');
      case '/fail-liveness':
        live = false;
        return send(200, 'liveness failing');
      case '/dial':
        void dial(url.searchParams).then(
          (out) => send(200, JSON.stringify(out)),
          (err: unknown) => send(400, err instanceof Error ? err.message : String(err)),
        );
        return;
      case '/exit': {
        const code = Number(url.searchParams.get('code') ?? '0');
        send(200, 'exiting');
        setTimeout(() => process.exit(Number.isInteger(code) ? code : 1), 20);
        return;
      }
      default:
        return send(404, 'not found');
    }
  });
  const answer = (udp: Socket) =>
    udp.on('message', (msg, rinfo) => {
      const text = msg.toString('utf8').trim();
      let reply: string;
      if (text === 'hostname') reply = hostname();
      else if (text === 'clientip') reply = hostPort(rinfo.address, rinfo.port);
      else if (text.startsWith('echo ')) reply = text.slice(5);
      else reply = 'unknown command';
      udp.send(reply, rinfo.port, rinfo.address);
    });
  const udp: Socket = createSocket('udp4');
  answer(udp);
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.httpPort, '0.0.0.0', () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(opts.udpPort, '0.0.0.0', () => resolve());
  });
  // The same HTTP handlers on IPv6 (dual-stack pods), on a socket of its own so IPv4 peers stay IPv4;
  // a pod without IPv6 simply has no such listener.
  const http6: Server = createServer((req, res) => http.emit('request', req, res));
  const v6 = await new Promise<boolean>((resolve) => {
    http6.once('error', () => resolve(false));
    http6.listen({ port: opts.httpPort, host: '::', ipv6Only: true }, () => resolve(true));
  });
  // UDP on IPv6 too, as agnhost's netexec (which listens on both families)
  const udp6: Socket = createSocket({ type: 'udp6', ipv6Only: true });
  answer(udp6);
  const u6 = await new Promise<boolean>((resolve) => {
    udp6.once('error', () => resolve(false));
    udp6.bind(opts.udpPort, '::', () => resolve(true));
  });
  return {
    close: async () => {
      http.closeAllConnections();
      if (u6) await new Promise<void>((r) => udp6.close(() => r()));
      if (v6) {
        http6.closeAllConnections();
        await new Promise<void>((r) => http6.close(() => r()));
      }
      await new Promise<void>((r) => http.close(() => r()));
      await new Promise<void>((r) => udp.close(() => r()));
    },
  };
}
