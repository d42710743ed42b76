/**
 * The data plane: an HTTP and an HTTPS listener (fastify) that route each request through the current
 * RouteTable and forward it with @fastify/reply-from (undici: keep-alive connection pools per endpoint).
 * Routes, endpoints and certificates are swapped in place, so updates never reload or drop a connection.
 * WebSocket upgrades are spliced to the chosen endpoint (reply-from speaks plain HTTP only).
 */
import { connect, type Socket } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { createSecureContext, type SecureContext } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import replyFrom from '@fastify/reply-from';
import type { Logger } from '../util/log.js';
import { selfSignedServingCert } from '../apiserver/auth/pki.js';
import type { EndpointIndex } from './endpoints.js';
import {
  applyHeaderChange,
  modifyPath,
  pickWeighted,
  requestHost,
  wildcardFor,
  type Action,
  type BackendRef,
  type Route,
  type RouteRequest,
  type RouteTable,
} from './routes.js';

export interface DataPlaneState {
  table: RouteTable;
  endpoints: EndpointIndex;
}

export interface ProxyOptions {
  host: string;
  httpPort: number;
  httpsPort: number;
  log: Logger;
  /** upstream response timeout (nginx's proxy_read_timeout default: 60 s) */
  upstreamTimeoutMs?: number;
}

const IDEMPOTENT = new Set(['GET', 'HEAD', 'OPTIONS']);
const METHODS = ['DELETE', 'GET', 'HEAD', 'PATCH', 'POST', 'PUT', 'OPTIONS'] as const;
const HOP_BY_HOP = ['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade'];

/** Certificates by host (exact or "*.suffix"), with a self-signed default like ingress-nginx's fake one. */
class CertStore {
  private contexts = new Map<string, SecureContext>();
  private fallback: SecureContext | undefined;
  readonly defaultCert = selfSignedServingCert('skiff ingress default certificate', ['ingress.local']);
  private readonly defaultContext = createSecureContext({
    key: this.defaultCert.keyPem,
    cert: this.defaultCert.certPem,
  });

  /** Replace every certificate at once; `fallback` serves hosts no certificate names. */
  set(byHost: Map<string, { cert: string; key: string }>, fallback?: { cert: string; key: string }): void {
    const next = new Map<string, SecureContext>();
    for (const [h, c] of byHost) next.set(h, createSecureContext({ key: c.key, cert: c.cert }));
    this.contexts = next;
    this.fallback = fallback ? createSecureContext({ key: fallback.key, cert: fallback.cert }) : undefined;
  }

  contextFor(servername: string): SecureContext {
    const h = servername.toLowerCase();
    const wc = wildcardFor(h);
    return this.contexts.get(h) ?? (wc ? this.contexts.get(wc) : undefined) ?? this.fallback ?? this.defaultContext;
  }
}

function errorBody(status: number, message: string): string {
  const title =
    {
      404: 'Not Found',
      500: 'Internal Server Error',
      502: 'Bad Gateway',
      503: 'Service Unavailable',
      504: 'Gateway Timeout',
    }[status] ?? 'Error';
  return `${status} ${title}: ${message}\n`;
}

function clientIP(raw: IncomingMessage): string {
  const a = raw.socket.remoteAddress ?? '';
  return a.startsWith('::ffff:') ? a.slice(7) : a;
}

/** The X-Forwarded-* headers ingress-nginx sets (the client address appended to any received chain). */
function forwardedHeaders(raw: IncomingMessage, scheme: string, port: number): Record<string, string> {
  const prior = raw.headers['x-forwarded-for'];
  const ip = clientIP(raw);
  return {
    'x-forwarded-for': prior ? `${Array.isArray(prior) ? prior.join(', ') : prior}, ${ip}` : ip,
    'x-forwarded-proto': scheme,
    'x-forwarded-host': raw.headers.host ?? '',
    'x-forwarded-port': String(port),
    'x-real-ip': ip,
  };
}

function routeRequest(raw: IncomingMessage, scheme: 'http' | 'https'): RouteRequest & { search: string } {
  const url = raw.url ?? '/';
  const q = url.indexOf('?');
  const path = q >= 0 ? url.slice(0, q) : url;
  const search = q >= 0 ? url.slice(q) : '';
  return {
    scheme,
    host: requestHost(raw.headers.host),
    path: path || '/',
    method: raw.method ?? 'GET',
    headers: raw.headers,
    query: new URLSearchParams(search),
    search,
  };
}

/** Resolve what to do with a request: the matched route (if any) and its action. */
function decide(state: DataPlaneState, req: RouteRequest): { route?: Route; action?: Action } {
  const route = state.table.match(req);
  return { route, action: route?.action ?? state.table.defaultAction };
}

function redirectLocation(
  a: Extract<Action, { kind: 'redirect' }>,
  req: RouteRequest & { search: string },
  route: Route | undefined,
  listenerPort: number,
): string {
  const r = a.redirect;
  const scheme = r.scheme ?? req.scheme;
  const host = r.hostname ?? req.host;
  // Gateway API: with a scheme given the port is that scheme's well-known one, else the listener's port.
  const port = r.port ?? (r.scheme ? (scheme === 'https' ? 443 : 80) : listenerPort);
  const wellKnown = (scheme === 'http' && port === 80) || (scheme === 'https' && port === 443);
  const path = r.path && route ? modifyPath(req.path, r.path, route.path) : req.path;
  return `${scheme}://${host}${wellKnown ? '' : `:${port}`}${path}${req.search}`;
}

export class DataPlane {
  private servers: FastifyInstance[] = [];
  readonly certs = new CertStore();
  private readonly sockets = new Set<Socket>();
  /** the ports actually bound (tests pass 0) */
  ports = { http: 0, https: 0 };

  constructor(
    private readonly state: () => DataPlaneState,
    private readonly opts: ProxyOptions,
  ) {}

  async start(): Promise<void> {
    const http = await this.listen('http', this.opts.httpPort);
    const https = await this.listen('https', this.opts.httpsPort);
    this.ports = { http, https };
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all(this.servers.map((s) => s.close()));
    this.servers = [];
  }

  private async listen(scheme: 'http' | 'https', port: number): Promise<number> {
    const app: FastifyInstance = (
      scheme === 'https'
        ? Fastify({
            logger: false,
            https: {
              SNICallback: (name: string, cb: (err: Error | null, ctx?: SecureContext) => void) =>
                cb(null, this.certs.contextFor(name)),
              key: this.certs.defaultCert.keyPem,
              cert: this.certs.defaultCert.certPem,
            },
          } as never)
        : Fastify({ logger: false })
    ) as FastifyInstance;
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    await app.register(replyFrom, {
      undici: {
        connections: 64,
        pipelining: 1,
        keepAliveTimeout: 60_000,
        headersTimeout: this.opts.upstreamTimeoutMs ?? 60_000,
        bodyTimeout: 0,
      },
      disableRequestLogging: true,
    });
    const handler = (req: FastifyRequest, reply: FastifyReply) => this.handle(scheme, req, reply);
    app.route({ method: [...METHODS], url: '/', handler });
    app.route({ method: [...METHODS], url: '/*', handler });
    app.server.on('upgrade', (raw: IncomingMessage, socket: Socket, head: Buffer) =>
      this.upgrade(scheme, raw, socket, head),
    );
    app.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
    await app.listen({ host: this.opts.host, port });
    this.servers.push(app);
    const addr = app.server.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  private listenerPort(scheme: 'http' | 'https'): number {
    return scheme === 'https' ? this.opts.httpsPort : this.opts.httpPort;
  }

  private handle(scheme: 'http' | 'https', req: FastifyRequest, reply: FastifyReply): void {
    const state = this.state();
    const rreq = routeRequest(req.raw, scheme);
    const { route, action } = decide(state, rreq);
    if (!action) {
      void reply
        .code(404)
        .type('text/plain')
        .send(errorBody(404, `no Ingress or HTTPRoute matches ${rreq.host || '<no host>'}${rreq.path}`));
      return;
    }
    if (action.kind === 'fail') {
      void reply.code(action.status).type('text/plain').send(errorBody(action.status, action.message));
      return;
    }
    if (action.kind === 'redirect') {
      void reply
        .code(action.redirect.statusCode)
        .header('location', redirectLocation(action, rreq, route, this.listenerPort(scheme)))
        .send();
      return;
    }
    const backend = pickWeighted(action.backends);
    if (!backend) {
      void reply.code(500).type('text/plain').send(errorBody(500, 'every backendRef of the matched rule has weight 0'));
      return;
    }
    if (backend.invalid) {
      void reply.code(500).type('text/plain').send(errorBody(500, backend.invalid));
      return;
    }
    const path = action.rewrite?.path && route ? modifyPath(rreq.path, action.rewrite.path, route.path) : rreq.path;
    this.forward(scheme, req, reply, state, backend, action, `${path}${rreq.search}`, new Set());
  }

  private forward(
    scheme: 'http' | 'https',
    req: FastifyRequest,
    reply: FastifyReply,
    state: DataPlaneState,
    backend: BackendRef,
    action: Extract<Action, { kind: 'forward' }>,
    pathAndQuery: string,
    tried: Set<string>,
  ): void {
    const target = state.endpoints.pick(backend, tried);
    if (typeof target !== 'string') {
      void reply
        .code(target.ok ? 502 : target.status)
        .type('text/plain')
        .send(errorBody(target.ok ? 502 : target.status, target.ok ? 'no endpoint' : target.message));
      return;
    }
    tried.add(target);
    const raw = req.raw;
    const retryable =
      IDEMPOTENT.has(raw.method ?? '') && !raw.headers['content-length'] && !raw.headers['transfer-encoding'];
    void reply.from(`http://${target}${pathAndQuery}`, {
      rewriteRequestHeaders: (_r, headers) => {
        const h = { ...headers, ...forwardedHeaders(raw, scheme, this.listenerPort(scheme)) } as Record<
          string,
          string | string[] | undefined
        >;
        // The backend sees the client's Host, as behind ingress-nginx (unless a URLRewrite sets one).
        h.host = action.rewrite?.hostname ?? raw.headers.host ?? target;
        if (action.requestHeaders) applyHeaderChange(h, action.requestHeaders);
        if (backend.requestHeaders) applyHeaderChange(h, backend.requestHeaders);
        return h as never;
      },
      rewriteHeaders: (headers) => {
        if (!action.responseHeaders) return headers;
        const h = { ...headers } as Record<string, string | string[] | undefined>;
        applyHeaderChange(h, action.responseHeaders);
        return h as never;
      },
      onError: (rep, { error }) => {
        const code = (error as { cause?: { code?: string } }).cause?.code ?? (error as { code?: string }).code ?? '';
        const connectFailed = [
          'ECONNREFUSED',
          'EHOSTUNREACH',
          'ENETUNREACH',
          'UND_ERR_CONNECT_TIMEOUT',
          'FST_REPLY_FROM_CONNECT_TIMEOUT',
        ].includes(code);
        if (connectFailed && retryable && !rep.sent) {
          // Like nginx's proxy_next_upstream error: an endpoint that refuses is skipped for this request.
          this.forward(scheme, req, rep as unknown as FastifyReply, state, backend, action, pathAndQuery, tried);
          return;
        }
        const timeout = /timeout/i.test(code) || /timeout/i.test(error.message);
        const status = timeout ? 504 : 502;
        this.opts.log.warn({ target, code, err: error.message }, 'upstream request failed');
        void rep
          .code(status)
          .type('text/plain')
          .send(
            errorBody(status, `upstream ${target} (${backend.namespace}/${backend.service}): ${code || error.message}`),
          );
      },
    });
  }

  /** WebSocket and other upgrades: route like a request, then splice the two sockets. */
  private upgrade(scheme: 'http' | 'https', raw: IncomingMessage, socket: Socket, head: Buffer): void {
    const state = this.state();
    const rreq = routeRequest(raw, scheme);
    const { route, action } = decide(state, rreq);
    const fail = (status: number, message: string) => {
      socket.end(
        `HTTP/1.1 ${status} ${status === 404 ? 'Not Found' : 'Bad Gateway'}\r\nconnection: ` +
          `close\r\ncontent-type: text/plain\r\n\r\n${errorBody(status, message)}`,
      );
    };
    if (!action || action.kind !== 'forward') return fail(404, 'no route for this upgrade');
    const backend = pickWeighted(action.backends);
    if (!backend || backend.invalid) return fail(502, backend?.invalid ?? 'no backend');
    const target = state.endpoints.pick(backend);
    if (typeof target !== 'string')
      return fail(target.ok ? 502 : target.status, target.ok ? 'no endpoint' : target.message);
    const path = action.rewrite?.path && route ? modifyPath(rreq.path, action.rewrite.path, route.path) : rreq.path;
    const headers: Record<string, string | string[] | undefined> = {
      ...raw.headers,
      ...forwardedHeaders(raw, scheme, this.listenerPort(scheme)),
    };
    if (action.rewrite?.hostname) headers.host = action.rewrite.hostname;
    if (action.requestHeaders) applyHeaderChange(headers, action.requestHeaders);
    for (const h of HOP_BY_HOP) if (h !== 'connection' && h !== 'upgrade') delete headers[h];
    const sep = target.lastIndexOf(':');
    const upstream = connect({
      host: target.slice(0, sep).replace(/^\[|\]$/g, ''),
      port: Number(target.slice(sep + 1)),
    });
    this.sockets.add(upstream);
    upstream.once('close', () => this.sockets.delete(upstream));
    upstream.once('connect', () => {
      let headText = `${raw.method} ${path}${rreq.search} HTTP/1.1\r\n`;
      for (const [k, v] of Object.entries(headers)) {
        if (v === undefined) continue;
        for (const one of Array.isArray(v) ? v : [v]) headText += `${k}: ${one}\r\n`;
      }
      upstream.write(`${headText}\r\n`);
      if (head.length) upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.once('error', (e) => {
      if (!socket.destroyed && upstream.bytesRead === 0) fail(502, `upstream ${target}: ${e.message}`);
      else socket.destroy();
    });
    socket.once('error', () => upstream.destroy());
    socket.once('close', () => upstream.destroy());
  }
}
