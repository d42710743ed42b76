/**
 * The HTTP(S) front: fastify with our own body parsing (JSON, YAML, the three patch types), bearer-token
 * authentication, authorization, rate limits, discovery, OpenAPI, and the REST routes of every ResourceDef.
 * Every error leaves as a Kubernetes Status.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { parse as parseYaml } from 'yaml';
import { decodeK8sProtobuf, ProtobufError } from './protobuf/decode.js';
import { DeleteOptionsSchema, type KObject } from '../api/meta.js';
import type { Logger } from '../util/log.js';
import { parseFieldValidation } from './admission.js';
import type { Attributes, Authorizer, Guard } from './auth/authz.js';
import type { ServiceAccountTokens } from './auth/sa-tokens.js';
import { authenticateServiceAccountToken, createToken } from './tokenrequest.js';
import { findVirtual, selfSubjectAccessReview, selfSubjectRulesReview } from './reviews.js';
import type { TokenAuthenticator, UserInfo } from './auth/tokens.js';
import { apiGroup, apiGroupList, apiVersions, resourceList, versionInfo } from './discovery.js';
import {
  ApiError,
  badRequest,
  methodNotAllowed,
  tooLarge,
  tooMany,
  unauthorized,
  unsupportedMediaType,
} from './errors.js';
import { RateLimiter, WatchCounter, type LimitOptions } from './limits.js';
import { OpenApiV3 } from './openapi.js';
import { OpenApiV2 } from './openapi-v2.js';
import { findResource } from './resources/index.js';
import type { ResourceDef } from './resources/types.js';
import type { PatchType, Registry, WriteOptions } from './rest.js';
import { parseIncludeObject, toTable, wantsTable } from './tables.js';
import { serveWatch } from './watch.js';
import { KubeletProxy, rejectUpgrade, STREAM_SUBRESOURCES, type StreamSubresource } from './proxy/kubelet-proxy.js';
import type { ProxyKind, ResourceProxy } from './proxy/resource-proxy.js';
import { checkResourceVersion, parseRequestOptions, type RawQuery, type RequestOptions } from './query.js';

export interface ServerOptions {
  registry: Registry;
  auth: TokenAuthenticator;
  authorizer: Authorizer;
  /** ServiceAccount token signer/verifier (TokenRequest and bearer JWTs) */
  saTokens: ServiceAccountTokens;
  limits: LimitOptions;
  log: Logger;
  /** host:port clients should use (for /api serverAddressByClientCIDRs) */
  serverAddress: string;
  tls?: { key: string; cert: string };
  isReady: () => boolean;
  bookmarkIntervalMs?: number;
  /** pods/log, exec, attach, portforward through the kubelets (proxy/kubelet-proxy.ts) */
  kubeletProxy?: KubeletProxy;
  /** pods/proxy, services/proxy, nodes/proxy (proxy/resource-proxy.ts) */
  resourceProxy?: ResourceProxy;
}

declare module 'fastify' {
  interface FastifyRequest {
    user?: UserInfo;
  }
}

interface Target {
  def: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
  watchPrefix: boolean;
  /** pods|services|nodes/NAME/proxy/...: how many path segments precede the proxied path */
  proxyPrefixSegments?: number;
}

const PATCH_TYPES: Record<string, PatchType> = {
  'application/merge-patch+json': 'merge',
  'application/json-patch+json': 'json',
  'application/strategic-merge-patch+json': 'strategic',
};

function mediaType(req: FastifyRequest): string {
  return String(req.headers['content-type'] ?? '')
    .split(';')[0]!
    .trim()
    .toLowerCase();
}

/** Parse the raw body by content type. */
function parseBody(req: FastifyRequest, allowPatch: boolean): { body: unknown; patchType?: PatchType } {
  const raw = req.body as Buffer | undefined;
  const type = mediaType(req);
  const text = raw ? raw.toString('utf8') : '';
  if (!text.trim()) return { body: undefined };
  const json = () => {
    try {
      return JSON.parse(text) as unknown;
    } catch (e) {
      throw badRequest(`couldn't get version/kind; json parse error: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  if (allowPatch) {
    if (type === 'application/apply-patch+yaml') {
      try {
        return { body: parseYaml(text) as unknown, patchType: 'apply' };
      } catch (e) {
        throw badRequest(`error decoding YAML: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
      }
    }
    const pt = PATCH_TYPES[type];
    if (!pt) throw unsupportedMediaType(type);
    return { body: json(), patchType: pt };
  }
  if (type === 'application/json' || type === '') return { body: json() };
  if (type === 'application/vnd.kubernetes.protobuf') {
    try {
      return { body: decodeK8sProtobuf(raw!) };
    } catch (e) {
      if (e instanceof ProtobufError) throw badRequest(`the protobuf body could not be decoded: ${e.message}`);
      throw e;
    }
  }
  if (type === 'application/yaml' || type === 'application/x-yaml' || type === 'text/yaml') {
    try {
      return { body: parseYaml(text) as unknown };
    } catch (e) {
      throw badRequest(`error converting YAML to JSON: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
    }
  }
  throw unsupportedMediaType(type);
}

/** /api/v1/... or /apis/G/V/... → the resource, namespace, name and subresource. */
function route(segs: string[]): { group: string; version: string; rest: string[] } | undefined {
  if (segs[0] === 'api' && segs.length >= 2) return { group: '', version: segs[1]!, rest: segs.slice(2) };
  if (segs[0] === 'apis' && segs.length >= 3) return { group: segs[1]!, version: segs[2]!, rest: segs.slice(3) };
  return undefined;
}

function resolveTarget(group: string, version: string, rest0: string[], consumed: number): Target | undefined {
  let rest = rest0;
  let watchPrefix = false;
  if (rest[0] === 'watch') {
    watchPrefix = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  if (rest[0] === 'namespaces' && rest.length >= 3) {
    const inner = findResource(group, version, rest[2]!);
    if (inner?.namespaced || (group === '' && rest[2] === 'bindings')) {
      namespace = rest[1];
      rest = rest.slice(2);
    }
  }
  if (group === '' && rest[0] === 'bindings' && namespace) {
    return { def: findResource('', 'v1', 'pods')!, namespace, subresource: 'binding', watchPrefix };
  }
  const def = findResource(group, version, rest[0] ?? '');
  if (def && rest[2] === 'proxy' && PROXIED.has(def.kind) && !watchPrefix) {
    if (def.namespaced === false) namespace = undefined;
    const prefix = consumed + (rest0.length - rest.length) + 3;
    return { def, namespace, name: rest[1], subresource: 'proxy', watchPrefix, proxyPrefixSegments: prefix };
  }
  if (!def || rest.length > 3) return undefined;
  if (def.namespaced === false) namespace = undefined;
  return { def, namespace, name: rest[1], subresource: rest[2], watchPrefix };
}

/** The kinds whose proxy subresource the API serves (a request to pods/NAME/proxy/a/b keeps a/b for the pod). */
const PROXIED = new Set(['Pod', 'Service', 'Node']);

/** The raw (still encoded) path after the first `segments` non-empty segments of `url`, "" if nothing follows. */
function rawPathAfter(url: string, segments: number): string {
  const parts = url.split('/');
  let seen = 0;
  for (let i = 0; i < parts.length; i++) {
    if (parts[i] === '') continue;
    if (++seen === segments) return parts.length > i + 1 ? `/${parts.slice(i + 1).join('/')}` : '';
  }
  return '';
}

function verbOf(method: string, t: Target, q: RequestOptions): string {
  const watching = t.watchPrefix || q.watch;
  switch (method) {
    case 'GET':
    case 'HEAD':
      return t.name ? (watching ? 'watch' : 'get') : watching ? 'watch' : 'list';
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return t.name ? 'delete' : 'deletecollection';
    default:
      throw methodNotAllowed();
  }
}

function sendStatus(reply: FastifyReply, err: ApiError): void {
  if (err.code === 429 && err.details?.retryAfterSeconds)
    reply.header('Retry-After', String(err.details.retryAfterSeconds));
  void reply.code(err.code).header('Content-Type', 'application/json').send(JSON.stringify(err.toStatus()));
}

export async function buildServer(o: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    https: o.tls ? { key: o.tls.key, cert: o.tls.cert } : null,
    bodyLimit: o.limits.maxBodyBytes,
    logger: false,
    routerOptions: { maxParamLength: 2048 },
    return503OnClosing: false,
    forceCloseConnections: true,
  } as never) as unknown as FastifyInstance;
  const reg = o.registry;
  const openapi = new OpenApiV3();
  const openapiV2 = new OpenApiV2();
  const limiter = new RateLimiter(o.limits.rate, o.limits.burst);
  const watches = new WatchCounter(o.limits.maxWatches, o.limits.maxWatchesPerClient);

  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req, reply) => {
    if (err instanceof ApiError) return sendStatus(reply, err);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendStatus(reply, tooLarge(o.limits.maxBodyBytes));
    if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE')
      return sendStatus(reply, unsupportedMediaType(String(req.headers['content-type'] ?? '')));
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500)
      return sendStatus(reply, new ApiError(err.statusCode, 'BadRequest', err.message));
    o.log.error({ err, url: req.url, method: req.method }, 'request failed');
    return sendStatus(reply, new ApiError(500, 'InternalError', `Internal error occurred: ${err.message}`));
  });
  app.setNotFoundHandler((_req, reply) =>
    sendStatus(reply, new ApiError(404, 'NotFound', 'the server could not find the requested resource')),
  );

  const authorize = (user: UserInfo, a: Attributes): Guard | undefined => {
    try {
      return o.authorizer.authorize(user, a);
    } catch (e) {
      if (e instanceof ApiError && e.code === 403)
        o.log.info({ user: user.name, groups: user.groups, ...a }, 'forbidden');
      throw e;
    }
  };
  /** Discovery, /version and /openapi are non-resource URLs: RBAC's nonResourceURLs rules decide. */
  const checkPath = (req: FastifyRequest) =>
    authorize(req.user!, { verb: 'get', resourceRequest: false, path: req.url.split('?')[0]! });

  // kube-apiserver answers `application/json` without a charset, and client-go 1.27's discovery accepts
  // nothing else ("Unknown discovery response content-type").
  app.addHook('onSend', async (_req, reply, payload) => {
    if (reply.getHeader('content-type') === 'application/json; charset=utf-8')
      void reply.header('content-type', 'application/json');
    return payload;
  });
  const open = new Set(['/healthz', '/livez', '/readyz']);
  app.addHook('onRequest', async (req, reply) => {
    const path = req.url.split('?')[0]!;
    if (open.has(path)) return;
    const user =
      o.auth.authenticate(req.headers.authorization) ??
      (await authenticateServiceAccountToken(o.registry, o.saTokens, req.headers.authorization));
    if (!user) return sendStatus(reply, unauthorized());
    req.user = user;
    // Like Kubernetes' "exempt" priority level: cluster admins are never throttled.
    if (user.groups.includes('system:masters')) return;
    const wait = limiter.take(user.name);
    if (wait > 0)
      return sendStatus(reply, tooMany(`Too many requests from ${user.name}, please try again later.`, wait));
  });

  for (const p of ['/healthz', '/livez', '/readyz']) {
    app.get(p, async (_req, reply) => {
      const ok = o.isReady();
      return reply
        .code(ok ? 200 : 503)
        .type('text/plain')
        .send(ok ? 'ok' : 'not ready');
    });
  }
  app.get('/version', async (req) => (checkPath(req), versionInfo()));
  app.get('/api', async (req) => (checkPath(req), apiVersions(o.serverAddress)));
  app.get('/apis', async (req) => (checkPath(req), apiGroupList()));
  app.get('/openapi/v2', async (req, reply) => {
    checkPath(req);
    const served = openapiV2.negotiate(req.headers.accept);
    void reply.header('Vary', 'Accept');
    if (!served) return reply.code(406).send();
    void reply.header('ETag', served.etag);
    if (req.headers['if-none-match'] === served.etag) return reply.code(304).send();
    return reply.header('content-type', served.contentType).send(served.body);
  });
  app.get('/openapi/v3', async (req) => (checkPath(req), openapi.index()));
  app.get('/openapi/v3/*', async (req, reply) => {
    checkPath(req);
    const path = (req.params as { '*': string })['*'];
    const d = openapi.doc(path);
    if (!d) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    return reply
      .type('application/json')
      .header('ETag', `"${d.hash}"`)
      .header('Cache-Control', 'public, immutable')
      .send(d.body);
  });

  const handler = async (req: FastifyRequest, reply: FastifyReply) => {
    const url = req.url.split('?')[0]!;
    const segs = url.split('/').filter(Boolean).map(decodeURIComponent);
    const r = route(segs);
    if (!r) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (r.rest.length === 0) {
      if (req.method !== 'GET') throw methodNotAllowed();
      checkPath(req);
      const doc = resourceList(r.group, r.version);
      if (!doc) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return doc;
    }
    if (r.group && segs.length === 2) {
      checkPath(req);
      const g = apiGroup(r.group);
      if (!g) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      return g;
    }
    const virtual = r.rest.length === 1 ? findVirtual(r.group, r.version, r.rest[0]!) : undefined;
    if (virtual) {
      if (req.method !== 'POST') throw methodNotAllowed();
      const user = req.user!;
      authorize(user, { verb: 'create', group: virtual.group, resource: virtual.name });
      const { body } = parseBody(req, false);
      const review = virtual.kind === 'SelfSubjectAccessReview' ? selfSubjectAccessReview : selfSubjectRulesReview;
      return reply.code(201).send(review(o.authorizer, user, body));
    }
    const t = resolveTarget(r.group, r.version, r.rest, segs.length - r.rest.length);
    if (!t) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    return serveResource(req, reply, t);
  };
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/api/*', handler });
  app.route({ method: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], url: '/apis/*', handler });

  async function serveResource(req: FastifyRequest, reply: FastifyReply, t: Target): Promise<unknown> {
    const { def } = t;
    const q = parseRequestOptions(req.query as RawQuery);
    const verb = verbOf(req.method, t, q);
    const sub = t.subresource;
    if (
      sub &&
      !(
        (sub === 'status' && def.statusSubresource) ||
        (sub === 'scale' && def.scale) ||
        (sub === 'binding' && def.kind === 'Pod') ||
        (def.kind === 'Pod' && (sub === 'log' || STREAM_SUBRESOURCES.includes(sub))) ||
        (sub === 'token' && def.kind === 'ServiceAccount') ||
        sub === 'proxy' // resolveTarget only makes it for the proxied kinds
      )
    ) {
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    }
    const user = req.user!;
    // the streaming subresources are "create" whatever the method (a WebSocket upgrade is a GET)
    const attrVerb = sub === 'binding' || (sub && STREAM_SUBRESOURCES.includes(sub)) ? 'create' : verb;
    const guard: Guard | undefined = authorize(user, {
      verb: attrVerb,
      group: def.group,
      resource: def.plural,
      subresource: sub,
      namespace: t.namespace,
      name: t.name,
    });
    if (sub === 'proxy') {
      if (!o.resourceProxy || !t.name || (def.namespaced && !t.namespace))
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      const url = req.url.split('?')[0]!;
      const rawPath = rawPathAfter(url, t.proxyPrefixSegments ?? 0);
      return o.resourceProxy.forward(req, reply, def.plural as ProxyKind, t.namespace, t.name, rawPath);
    }
    if (sub === 'log' || (sub && STREAM_SUBRESOURCES.includes(sub))) {
      if (!o.kubeletProxy || !t.namespace || !t.name)
        throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
      if (sub === 'log' && verb === 'get') return o.kubeletProxy.logs(req, reply, t.namespace, t.name);
      if (sub === 'log') throw methodNotAllowed();
      throw badRequest('Upgrade request required');
    }
    const dryRun = q.dryRun;
    const warnings: string[] = [];
    const wopts = (): WriteOptions => ({
      fieldValidation: parseFieldValidation(q.fieldValidation),
      dryRun,
      warnings,
      guard,
      fieldManager: q.fieldManager ?? managerFromUserAgent(req.headers['user-agent']),
      subresource: sub,
      force: q.force,
    });
    // A write of a role or binding takes effect before its response leaves (read-your-writes for RBAC).
    const settled = async <T>(v: T): Promise<T> => {
      if (def.group === 'rbac.authorization.k8s.io' && !dryRun)
        await o.authorizer.rbac.waitFor(await reg.store.backend.currentRevision());
      return v;
    };
    const table = wantsTable(req.headers.accept);
    const include = parseIncludeObject(q.includeObject);
    const finish = (code: number, obj: KObject) => {
      if (warnings.length) reply.header('Warning', warnings.map((w) => `299 - ${JSON.stringify(w)}`).join(', '));
      if (table && (verb === 'get' || verb === 'list'))
        return reply.code(code).send(toTable(def, [obj], { include, resourceVersion: obj.metadata.resourceVersion }));
      return reply.code(code).send(obj);
    };
    if (def.namespaced && !t.namespace && t.name)
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (def.namespaced && !t.namespace && verb !== 'list' && verb !== 'watch')
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');

    switch (verb) {
      case 'get': {
        const obj = await reg.get(def, t.namespace, t.name!);
        if (sub === 'scale') return reply.send(reg.toScale(def, obj));
        return finish(200, obj);
      }
      case 'list': {
        checkResourceVersion(q.resourceVersion);
        const limit = q.limit;
        const l = await reg.list(def, t.namespace, {
          labelSelector: q.labelSelector,
          fieldSelector: q.fieldSelector,
          limit,
          continue: q.continue,
        });
        if (table)
          return reply.send(
            toTable(def, l.items, { include, resourceVersion: l.resourceVersion, continue: l.continue }),
          );
        const meta: Record<string, unknown> = { resourceVersion: l.resourceVersion };
        if (l.continue) meta.continue = l.continue;
        return reply.send({
          kind: `${def.kind}List`,
          apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
          metadata: meta,
          items: l.items,
        });
      }
      case 'watch': {
        const filter = reg.parseFilter(def, {
          labelSelector: q.labelSelector,
          fieldSelector:
            q.fieldSelector && t.name
              ? `${q.fieldSelector},metadata.name=${t.name}`
              : t.name
                ? `metadata.name=${t.name}`
                : q.fieldSelector,
        });
        checkResourceVersion(q.resourceVersion);
        const release = watches.acquire(user.name);
        if (!release)
          throw tooMany(
            `too many watches (limit ${o.limits.maxWatches} in total, ${o.limits.maxWatchesPerClient} per client)`,
            5,
          );
        const timeout = q.timeoutSeconds || 1800 + Math.floor(Math.random() * 1800);
        reply.hijack();
        await serveWatch(
          reg,
          {
            def,
            namespace: t.namespace,
            filter,
            resourceVersion: q.resourceVersion,
            timeoutSeconds: timeout,
            bookmarks: q.allowWatchBookmarks,
            sendInitialEvents: q.sendInitialEvents,
            table: table ? { include } : undefined,
            bookmarkIntervalMs: o.bookmarkIntervalMs,
          },
          reply.raw,
          o.log,
          release,
        );
        return reply;
      }
      case 'create': {
        const { body } = parseBody(req, false);
        if (sub === 'token')
          return reply.code(201).send(await createToken(reg, o.saTokens, user, t.namespace!, t.name!, body));
        if (sub === 'binding' || (t.subresource === 'binding' && !t.name)) {
          const name = t.name ?? (body as KObject | undefined)?.metadata?.name;
          if (!name) throw badRequest('binding needs metadata.name or a pod name in the URL');
          if (guard)
            throw new ApiError(
              403,
              'Forbidden',
              `pods "${name}" is forbidden: User "${user.name}" cannot create resource "pods/binding"`,
            );
          await reg.bind(t.namespace!, name, body, wopts());
          return reply.code(201).send({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
        }
        if (t.name) throw methodNotAllowed();
        if (body === undefined) throw badRequest('the body of the request is empty');
        const created = await settled(await reg.create(def, t.namespace, body, wopts()));
        return finish(201, created);
      }
      case 'update': {
        const { body } = parseBody(req, false);
        if (body === undefined) throw badRequest('the body of the request is empty');
        if (sub === 'scale') return reply.send(await reg.updateScale(def, t.namespace, t.name!, body, wopts()));
        return finish(200, await settled(await reg.update(def, t.namespace, t.name!, body, wopts(), sub === 'status')));
      }
      case 'patch': {
        const { body, patchType } = parseBody(req, true);
        if (body === undefined || !patchType) throw badRequest('the body of the request is empty');
        checkPatchOptions(patchType, q.fieldManager, (req.query as RawQuery).force !== undefined);
        if (patchType === 'apply' && sub !== 'scale') {
          const r = await reg.serverSideApply(def, t.namespace, t.name!, body, wopts(), sub === 'status');
          await settled(undefined);
          return finish(r.created ? 201 : 200, r.obj);
        }
        if (sub === 'scale')
          return reply.send(await reg.patchScale(def, t.namespace, t.name!, patchType, body, wopts()));
        return finish(
          200,
          await settled(await reg.patch(def, t.namespace, t.name!, patchType, body, wopts(), sub === 'status')),
        );
      }
      case 'delete': {
        if (sub) throw methodNotAllowed();
        const opts = deleteOptions(req, q);
        return finish(200, await settled(await reg.delete(def, t.namespace, t.name!, opts, { dryRun, guard })));
      }
      case 'deletecollection': {
        const opts = deleteOptions(req, q);
        const l = await reg.list(def, t.namespace, { labelSelector: q.labelSelector, fieldSelector: q.fieldSelector });
        const items: KObject[] = [];
        for (const obj of l.items) {
          try {
            items.push(await reg.delete(def, obj.metadata.namespace, obj.metadata.name!, opts, { dryRun, guard }));
          } catch (e) {
            if (!(e instanceof ApiError && e.code === 404)) throw e;
          }
        }
        await settled(undefined);
        return reply.send({
          kind: `${def.kind}List`,
          apiVersion: def.group ? `${def.group}/${def.version}` : def.version,
          metadata: { resourceVersion: l.resourceVersion },
          items,
        });
      }
    }
    throw methodNotAllowed();
  }

  /**
   * Upgrade requests (WebSocket, SPDY) bypass fastify's routing and hooks: authenticated and authorized here,
   * then tunnelled to the pod's kubelet.
   */
  async function serveUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const user =
      o.auth.authenticate(req.headers.authorization) ??
      (await authenticateServiceAccountToken(o.registry, o.saTokens, req.headers.authorization));
    if (!user) throw unauthorized();
    const segs = (req.url ?? '/').split('?')[0]!.split('/').filter(Boolean).map(decodeURIComponent);
    const r = route(segs);
    const t = r ? resolveTarget(r.group, r.version, r.rest, segs.length - r.rest.length) : undefined;
    const sub = t?.subresource;
    if (
      !t ||
      t.def.kind !== 'Pod' ||
      !t.namespace ||
      !t.name ||
      !sub ||
      !STREAM_SUBRESOURCES.includes(sub) ||
      !o.kubeletProxy
    )
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    authorize(user, {
      verb: 'create',
      group: '',
      resource: 'pods',
      subresource: sub,
      namespace: t.namespace,
      name: t.name,
    });
    await o.kubeletProxy.upgrade(req, socket, head, t.namespace, t.name, sub as StreamSubresource);
  }
  app.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    serveUpgrade(req, socket, head).catch((err: unknown) => {
      if (!(err instanceof ApiError)) o.log.error({ err, url: req.url }, 'upgrade failed');
      rejectUpgrade(socket, err instanceof ApiError ? err : new ApiError(500, 'InternalError', String(err)));
    });
  });

  return app;
}

/** kube's client-side name for a manager that names none: the user agent up to its first '/', at most 128 bytes. */
function managerFromUserAgent(ua: string | undefined): string {
  return Buffer.from((ua ?? '').split('/')[0]!)
    .subarray(0, 128)
    .toString();
}

/** apimachinery's ValidatePatchOptions: apply needs a fieldManager, force is for apply only. */
function checkPatchOptions(type: PatchType, fieldManager: string | undefined, forceGiven: boolean): void {
  const invalid = (field: string, reason: string, detail: string) =>
    new ApiError(422, 'Invalid', `PatchOptions.meta.k8s.io "" is invalid: ${field}: ${detail}`, {
      group: 'meta.k8s.io',
      kind: 'PatchOptions',
      causes: [{ reason, message: detail, field }],
    });
  if (type === 'apply' && !fieldManager)
    throw invalid('fieldManager', 'FieldValueRequired', 'Required value: is required for apply patch');
  if (type !== 'apply' && forceGiven)
    throw invalid('force', 'FieldValueForbidden', 'Forbidden: may not be specified for non-apply patch');
  if (fieldManager && Buffer.byteLength(fieldManager) > 128)
    throw invalid('fieldManager', 'FieldValueTooLong', 'Too long: may not be more than 128 bytes');
}

function deleteOptions(req: FastifyRequest, q: RequestOptions) {
  const { body } = parseBody(req, false);
  const merged: Record<string, unknown> = { ...((body as Record<string, unknown> | undefined) ?? {}) };
  if (q.gracePeriodSeconds !== undefined) merged.gracePeriodSeconds = q.gracePeriodSeconds;
  if (q.propagationPolicy !== undefined) merged.propagationPolicy = q.propagationPolicy;
  if (q.orphanDependents !== undefined) merged.orphanDependents = q.orphanDependents;
  const r = DeleteOptionsSchema.safeParse(merged);
  if (!r.success)
    throw badRequest(
      `DeleteOptions in version "v1" cannot be handled as a DeleteOptions: ` +
        `${r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  return r.data;
}
