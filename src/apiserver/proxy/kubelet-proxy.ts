import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../util/log.js';
import { errorMessage } from '../../util/errors.js';
import { ApiError } from '../errors.js';
import type { Registry } from '../rest.js';
import { KubeletClient } from './kubelet-client.js';
import { type KubeletLocation, podSubresourceLocation } from './location.js';

export type StreamSubresource = 'exec' | 'attach' | 'portforward';
export const STREAM_SUBRESOURCES: readonly string[] = ['exec', 'attach', 'portforward'];

/** Headers an upgraded request keeps on its way to the kubelet (not the client's credentials). */
const HOP_HEADERS = new Set(['authorization', 'host', 'impersonate-user', 'impersonate-group']);

/** Write a Status as the HTTP answer of a request that will not be upgraded. */
export function rejectUpgrade(socket: Duplex, err: ApiError): void {
  const body = JSON.stringify(err.toStatus());
  if (!socket.writable) return void socket.destroy();
  socket.end(
    `HTTP/1.1 ${err.code} ${err.reason}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

/**
 * pods/log, pods/exec, pods/attach and pods/portforward through the pod's kubelet, as the API server's
 * UpgradeAwareHandler does: logs are a streamed GET; the streaming subresources are a transparent tunnel
 * once authorized: the client's upgrade request (WebSocket or SPDY) goes on to the kubelet with the API
 * server's client certificate instead of the user's credentials, and the two sockets are joined, so the
 * kubelet's 101 answer and every frame after it pass through unchanged.
 */
export class KubeletProxy {
  private client: KubeletClient | undefined;

  constructor(
    private readonly reg: Registry,
    private readonly stateDir: string,
    private readonly log: Logger,
  ) {}

  /** The API server's kubelet client (created at first use: the certificate may come after the start). */
  kubeletClient(): KubeletClient {
    if (!this.client) {
      if (!KubeletClient.available(this.stateDir))
        throw new ApiError(503, 'ServiceUnavailable', 'the API server has no kubelet client certificate');
      this.client = new KubeletClient(this.stateDir);
    }
    return this.client;
  }

  async logs(req: FastifyRequest, reply: FastifyReply, ns: string, name: string): Promise<unknown> {
    const q = new URL(req.url, 'https://api').searchParams;
    const loc = await podSubresourceLocation(this.reg, ns, name, 'log', q);
    const res = await this.fetch(loc);
    if ((res.statusCode ?? 500) >= 400) {
      const text = await readAll(res);
      return reply
        .code(res.statusCode ?? 500)
        .header('Content-Type', res.headers['content-type'] ?? 'application/json')
        .send(text);
    }
    req.raw.on('close', () => res.destroy());
    return reply.code(200).header('Content-Type', 'text/plain').send(res);
  }

  private async fetch(loc: KubeletLocation): Promise<IncomingMessage> {
    try {
      return await this.kubeletClient().request(loc, 'GET', { Accept: '*/*' });
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError(502, 'InternalError', `error dialing kubelet ${loc.host}:${loc.port}: ${errorMessage(err)}`);
    }
  }

  /** An authorized upgrade request for a pod's streaming subresource. */
  async upgrade(
    req: IncomingMessage,
    socket: Duplex,
    head: Buffer,
    ns: string,
    name: string,
    sub: StreamSubresource,
  ): Promise<void> {
    const q = new URL(req.url ?? '/', 'https://api').searchParams;
    const loc = await podSubresourceLocation(this.reg, ns, name, sub, q);
    let upstream;
    try {
      upstream = await this.kubeletClient().connect(loc);
    } catch (err) {
      throw new ApiError(502, 'InternalError', `error dialing kubelet ${loc.host}:${loc.port}: ${errorMessage(err)}`);
    }
    const lines = [`${req.method ?? 'GET'} ${loc.path} HTTP/1.1`, `Host: ${loc.host}:${loc.port}`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const k = req.rawHeaders[i]!;
      if (!HOP_HEADERS.has(k.toLowerCase())) lines.push(`${k}: ${req.rawHeaders[i + 1]}`);
    }
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length) upstream.write(head);
    const end = (): void => {
      upstream.destroy();
      socket.destroy();
    };
    upstream.on('error', end);
    socket.on('error', end);
    upstream.on('close', end);
    socket.on('close', end);
    upstream.pipe(socket);
    socket.pipe(upstream);
    this.log.info({ pod: `${ns}/${name}`, sub, kubelet: `${loc.host}:${loc.port}` }, 'stream proxied to kubelet');
  }
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (c: Buffer) => chunks.push(c));
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}
