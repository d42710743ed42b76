import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type NetConnectOpts, type Server, type Socket } from 'node:net';
import { pipeline } from 'node:stream';
import type { Logger } from '../../util/log.js';
import type { Endpoint } from '../model/types.js';
import { AffinityTable, epKey, RoundRobin } from './balancer.js';

/** One listening proxy: a TCP server or a UDP socket, balancing over a service port's endpoints. */
export interface PortProxy {
  readonly port: number;
  update(endpoints: readonly Endpoint[], affinitySeconds: number): void;
  /** Active connections (TCP) or flows (UDP). */
  readonly active: number;
  close(): Promise<void>;
}

const CONNECT_TIMEOUT_MS = 3000;
/** Stream buffer per direction. With Node's default 16 KiB, every 64 KiB read overfills the writer, so the
 * pipe pauses and resumes the reader (readStop/readStart) on nearly every chunk; 1 MiB lets a bulk
 * transfer flow without that churn, and is still bounded by backpressure. */
const STREAM_BUFFER = 1 << 20;

/** TCP: accept, pick an endpoint (trying the next one if connecting fails), pipe both ways. */
export class TcpProxy implements PortProxy {
  private readonly rr: RoundRobin;
  private readonly conns = new Map<string, Set<Socket>>();
  private server!: Server;
  port = 0;

  constructor(
    private readonly log?: Logger,
    affinity?: AffinityTable,
  ) {
    this.rr = new RoundRobin(affinity);
  }

  async listen(port: number, host = '0.0.0.0'): Promise<this> {
    // An IPv6 listener takes IPv6 only: IPv4 has a listener (and a redirect table) of its own.
    const ipv6Only = host.includes(':');
    // Half-open allowed both ways: a client that finishes sending (FIN) must still get the reply.
    this.server = createServer({ pauseOnConnect: true, allowHalfOpen: true, highWaterMark: STREAM_BUFFER }, (client) =>
      this.accept(client),
    );
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen({ port, host, ipv6Only }, () => resolve());
    });
    const addr = this.server.address();
    this.port = typeof addr === 'object' && addr ? addr.port : port;
    return this;
  }

  get active(): number {
    let n = 0;
    for (const s of this.conns.values()) n += s.size;
    return n / 2;
  }

  update(endpoints: readonly Endpoint[], affinitySeconds: number): void {
    this.rr.update(endpoints, affinitySeconds);
    // Backends that went away: close their clients now rather than leave them hanging.
    for (const [ep, socks] of this.conns) {
      if (this.rr.has(ep)) continue;
      for (const s of socks) s.destroy();
      this.conns.delete(ep);
    }
  }

  private track(ep: string, s: Socket): void {
    let set = this.conns.get(ep);
    if (!set) this.conns.set(ep, (set = new Set()));
    set.add(s);
    s.once('close', () => {
      set.delete(s);
      if (!set.size && this.conns.get(ep) === set) this.conns.delete(ep);
    });
  }

  private accept(client: Socket, tried = new Set<string>()): void {
    client.on('error', () => undefined);
    const ep = this.rr.pick(client.remoteAddress ?? '', Date.now(), tried);
    if (!ep) {
      client.resetAndDestroy();
      return;
    }
    const key = epKey(ep);
    // net.Socket hands these options on to stream.Duplex; @types/node's NetConnectOpts does not list them.
    const buffers = { readableHighWaterMark: STREAM_BUFFER, writableHighWaterMark: STREAM_BUFFER };
    const upstream = connect({ host: ep.ip, port: ep.port, allowHalfOpen: true, ...buffers } as NetConnectOpts);
    upstream.setTimeout(CONNECT_TIMEOUT_MS, () => upstream.destroy(new Error('connect timeout')));
    upstream.once('error', (err) => {
      if (!upstream.connecting && upstream.bytesRead + upstream.bytesWritten > 0) return;
      if (client.destroyed) return;
      tried.add(key);
      this.log?.debug({ endpoint: key, err: err.message }, 'endpoint failed; trying the next');
      if (tried.size < this.rr.size) this.accept(client, tried);
      else client.resetAndDestroy();
    });
    upstream.once('connect', () => {
      upstream.setTimeout(0);
      if (client.destroyed) {
        upstream.destroy();
        return;
      }
      this.track(key, client);
      this.track(key, upstream);
      // pipeline gives backpressure both ways and forwards each side's FIN; an error on either side
      // tears both down, and once both directions have finished both sockets are released.
      let open = 2;
      const done = (err: Error | null | undefined): void => {
        if (err || --open === 0) {
          client.destroy();
          upstream.destroy();
        }
      };
      pipeline(client, upstream, done);
      pipeline(upstream, client, done);
      client.resume();
    });
  }

  async close(): Promise<void> {
    for (const socks of this.conns.values()) for (const s of socks) s.destroy();
    this.conns.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Flow {
  sock: UdpSocket;
  ep: string;
  timer: NodeJS.Timeout;
  /** the listener socket the client's datagrams arrive on, and its replies leave from */
  via: UdpSocket;
}

/**
 * UDP: one upstream socket per client address, so replies find their way back; idle flows expire.
 *
 * A wildcard listener has a loopback twin on the same port. The node's own traffic is redirected (nft
 * `redirect` in the output hook) to 127.0.0.1 / ::1, so conntrack expects the reply from that address; a
 * reply from the wildcard socket would leave from the address routing picks for the client (the node's
 * own), match no NAT entry and never reach the client. The twin, the more specific binding, receives the
 * redirected datagrams and replies from the loopback address. (Redirects in prerouting, from pods and
 * clients, go to the incoming interface's primary address, which is also what routing picks for the reply.)
 */
export class UdpProxy implements PortProxy {
  private readonly rr: RoundRobin;
  private readonly flows = new Map<string, Flow>();
  private readonly socks: UdpSocket[] = [];
  private family: 4 | 6 = 4;
  port = 0;

  constructor(
    private readonly idleMs: number,
    private readonly log?: Logger,
    affinity?: AffinityTable,
  ) {
    this.rr = new RoundRobin(affinity);
  }

  private async bind(port: number, host: string, family: 4 | 6): Promise<UdpSocket> {
    const sock = createSocket({ type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6, reuseAddr: true });
    sock.on('message', (msg, rinfo) => this.fromClient(msg, rinfo.address, rinfo.port, sock));
    sock.on('error', (err) => this.log?.warn({ err: err.message }, 'udp proxy socket error'));
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(port, host, () => resolve());
    });
    this.socks.push(sock);
    return sock;
  }

  async listen(port: number, host = '0.0.0.0', family: 4 | 6 = 4): Promise<this> {
    this.family = family;
    const main = await this.bind(port, host, family);
    this.port = main.address().port;
    if (host === '0.0.0.0' || host === '::') await this.bind(this.port, family === 6 ? '::1' : '127.0.0.1', family);
    return this;
  }

  get active(): number {
    return this.flows.size;
  }

  update(endpoints: readonly Endpoint[], affinitySeconds: number): void {
    this.rr.update(endpoints, affinitySeconds);
    for (const [client, f] of this.flows) if (!this.rr.has(f.ep)) this.endFlow(client, f);
  }

  private endFlow(client: string, f: Flow): void {
    clearTimeout(f.timer);
    f.sock.close();
    this.flows.delete(client);
  }

  private touch(client: string, f: Flow): void {
    clearTimeout(f.timer);
    f.timer = setTimeout(() => this.endFlow(client, f), this.idleMs);
    f.timer.unref();
  }

  private fromClient(msg: Buffer, address: string, port: number, via: UdpSocket): void {
    const client = `${address}:${port}`;
    let f = this.flows.get(client);
    if (!f) {
      const ep = this.rr.pick(address, Date.now());
      if (!ep) return;
      const sock = createSocket(this.family === 6 ? 'udp6' : 'udp4');
      sock.on('error', () => undefined);
      sock.on('message', (reply) => {
        const flow = this.flows.get(client);
        if (flow) this.touch(client, flow);
        via.send(reply, port, address);
      });
      sock.connect(ep.port, ep.ip);
      f = { sock, ep: epKey(ep), timer: setTimeout(() => undefined, 0), via };
      this.flows.set(client, f);
      const flow = f;
      sock.once('connect', () => sock.send(msg, (err) => err && this.endFlow(client, flow)));
      this.touch(client, f);
      return;
    }
    this.touch(client, f);
    const flow = f;
    try {
      f.sock.send(msg, (err) => err && this.endFlow(client, flow));
    } catch {
      // still connecting: queue behind the connect event
      f.sock.once('connect', () => flow.sock.send(msg));
    }
  }

  async close(): Promise<void> {
    for (const [c, f] of this.flows) this.endFlow(c, f);
    await Promise.all(this.socks.map((sock) => new Promise<void>((resolve) => sock.close(() => resolve()))));
  }
}
