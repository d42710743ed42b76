import { createServer, type Server } from 'node:http';
import { createSocket, type Socket } from 'node:dgram';
import { hostname } from 'node:os';
import { parseImageFlags } from './flags.js';

/**
 * skiff/netexec: an HTTP + UDP test server in the manner of agnhost netexec.
 * HTTP: /hostname, /clientip ("ip:port" of the peer), /echo?msg=, /healthz, /readyz, /exit?code=N,
 * /fail-readiness and /fail-liveness (flip the health endpoints to 503, for probe tests).
 * UDP: "hostname" → hostname, "echo X" → X, "clientip" → peer address.
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

export interface Running {
  close(): Promise<void>;
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
        return send(200, `${req.socket.remoteAddress ?? ''}:${req.socket.remotePort ?? ''}`);
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
  const udp: Socket = createSocket('udp4');
  udp.on('message', (msg, rinfo) => {
    const text = msg.toString('utf8').trim();
    let reply: string;
    if (text === 'hostname') reply = hostname();
    else if (text === 'clientip') reply = `${rinfo.address}:${rinfo.port}`;
    else if (text.startsWith('echo ')) reply = text.slice(5);
    else reply = 'unknown command';
    udp.send(reply, rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.httpPort, '0.0.0.0', () => resolve());
  });
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(opts.udpPort, '0.0.0.0', () => resolve());
  });
  return {
    close: async () => {
      http.closeAllConnections();
      await new Promise<void>((r) => http.close(() => r()));
      await new Promise<void>((r) => udp.close(() => r()));
    },
  };
}
