import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from '../../util/log.js';
import { errorMessage } from '../../util/errors.js';
import { ApiError } from '../errors.js';
import { findResource } from '../resources/index.js';
import type { Registry } from '../rest.js';
import type { KubeletClient } from './kubelet-client.js';
import {
  nodeProxyTarget,
  podProxyTarget,
  proxyObjectName,
  serviceProxyTarget,
  type NodeForProxy,
  type PodForProxy,
  type ProxyTarget,
  type ServiceForProxy,
  type SliceForProxy,
} from './proxy-target.js';

export type ProxyKind = 'pods' | 'services' | 'nodes';

/** Not forwarded either way: hop-by-hop headers (RFC 9110 §7.6.1) and the client's credentials. */
const DROP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
  'authorization',
  'impersonate-user',
  'impersonate-group',
  'impersonate-uid',
]);

/**
 * pods/proxy, services/proxy and nodes/proxy: kube-apiserver's proxy REST (an UpgradeAwareHandler without
 * the upgrade): the request's method, path after `/proxy`, query, headers (minus hop-by-hop ones and the
 * client's credentials) and body go to the target, and its answer comes back as it is, streamed. A pod or a
 * service endpoint is dialled from the API server's own network; the kubelet with the API server's kubelet
 * client certificate. Upgrades (WebSocket through a service) are not proxied.
 */
export class ResourceProxy {
  constructor(
    private readonly reg: Registry,
    private readonly kubelets: () => KubeletClient,
    private readonly log: Logger,
  ) {}

  async forward(
    req: FastifyRequest,
    reply: FastifyReply,
    kind: ProxyKind,
    ns: string | undefined,
    id: string,
    rawPath: string,
  ): Promise<unknown> {
    const [pathOnly, ...q] = req.url.split('?');
    const query = q.length ? `?${q.join('?')}` : '';
    // kube's hack for relative links (issue 4958): an empty path is redirected to end in "/"
    if (rawPath === '' && (req.method === 'GET' || req.method === 'HEAD')) {
      return reply.code(301).header('Location', `${pathOnly}/${query}`).send();
    }
    const target = await this.target(kind, ns, id);
    const headers: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!DROP.has(k) && v !== undefined) headers[k] = v;
    const forwarded = req.headers['x-forwarded-for'];
    headers['x-forwarded-for'] = forwarded ? `${String(forwarded)}, ${req.ip}` : req.ip;
    const body = Buffer.isBuffer(req.body) ? req.body : undefined;
    if (body) headers['content-length'] = String(body.length);
    let res: IncomingMessage;
    try {
      res = await this.send(target, req.method, (rawPath || '/') + query, headers, body);
    } catch (err) {
      const where = `${target.host}${target.port ? `:${target.port}` : ''}`;
      throw new ApiError(
        503,
        'ServiceUnavailable',
        `error trying to reach ${kind.slice(0, -1)}: ${where}: ${errorMessage(err)}`,
      );
    }
    req.raw.on('close', () => res.destroy());
    reply.code(res.statusCode ?? 502);
    for (const [k, v] of Object.entries(res.headers)) if (!DROP.has(k) && v !== undefined) reply.header(k, v);
    this.log.debug({ kind, ns, id, status: res.statusCode }, 'proxied');
    return reply.send(res);
  }

  private async target(kind: ProxyKind, ns: string | undefined, id: string): Promise<ProxyTarget> {
    const name = proxyObjectName(id);
    if (kind === 'pods') return podProxyTarget(id, (await this.reg.get(def('pods'), ns, name)) as PodForProxy);
    if (kind === 'nodes')
      return nodeProxyTarget(id, (await this.reg.get(def('nodes'), undefined, name)) as NodeForProxy);
    const svc = (await this.reg.get(def('services'), ns, name)) as ServiceForProxy;
    const slices = await this.reg.list(findResource('discovery.k8s.io', 'v1', 'endpointslices')!, ns, {
      labelSelector: `kubernetes.io/service-name=${name}`,
    });
    return serviceProxyTarget(id, svc, slices.items as SliceForProxy[]);
  }

  private send(
    t: ProxyTarget,
    method: string,
    path: string,
    headers: OutgoingHttpHeaders,
    body: Buffer | undefined,
  ): Promise<IncomingMessage> {
    const base = { host: t.host, port: t.port, method, path, headers: { ...headers, host: hostHeader(t) } };
    return new Promise((resolve, reject) => {
      // the timeout is for the answer to start; a streamed answer may then stay quiet as long as it likes
      const answered = (res: IncomingMessage): void => {
        req.setTimeout(0);
        resolve(res);
      };
      const req =
        t.scheme === 'http'
          ? httpRequest(base, answered)
          : // a pod or service over https is not verified, as kube-apiserver's proxy transport; the kubelet is
            httpsRequest(
              t.kubelet ? { ...base, ...this.kubelets().tlsOptions() } : { ...base, rejectUnauthorized: false },
              answered,
            );
      req.setTimeout(30_000, () => req.destroy(new Error('no answer within 30s')));
      req.on('error', reject);
      req.end(body);
    });
  }
}

function def(plural: string) {
  return findResource('', 'v1', plural)!;
}

function hostHeader(t: ProxyTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return t.port ? `${host}:${t.port}` : host;
}
