/**
 * The API server as a library: `startApiServer(opts)` opens the store, prepares PKI, tokens and kubeconfigs,
 * creates the system namespaces and listens. `skiff apiserver` (src/cmd/apiserver.ts) is a thin CLI over it.
 */
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { createBackend } from '../store/index.js';
import type { StoreBackend } from '../store/types.js';
import { createLogger, type Logger } from '../util/log.js';
import { privateDir, tightenIfPresent } from '../util/private.js';
import { Allocator } from './alloc.js';
import { renderKubeconfig, writeFileAtomic } from './auth/kubeconfig.js';
import { ensurePki } from './auth/pki.js';
import { ensureToken, TokenAuthenticator, tokensPath } from './auth/tokens.js';
import { defaultLimits, type LimitOptions } from './limits.js';
import { Registry } from './rest.js';
import { reconcileKubernetesService } from './kubernetes-service.js';
import { Authorizer } from './auth/authz.js';
import { RbacAuthorizer } from './auth/rbac.js';
import { ServiceAccountTokens } from './auth/sa-tokens.js';
import { reconcileBootstrapPolicy } from './auth/reconcile.js';
import { buildServer } from './server.js';
import { KubeletProxy } from './proxy/kubelet-proxy.js';
import { ResourceProxy } from './proxy/resource-proxy.js';
import { ObjectStore } from './storage.js';
import { ExpirySweeper } from './expiry.js';

export interface ApiServerOptions {
  stateDir: string;
  port: number;
  bindAddress: string;
  advertiseAddress?: string;
  store: 'sqlite' | 'etcd' | 'memory';
  etcdEndpoints?: string[];
  etcdPrefix?: string;
  serviceClusterIPRange: string;
  serviceNodePortRange: { min: number; max: number };
  limits?: Partial<LimitOptions>;
  /** how long an Event lives after its last write (kube-apiserver --event-ttl; default 1 h) */
  eventTtlMs?: number;
  /** watch bookmark period (tests shorten it) */
  bookmarkIntervalMs?: number;
  logger?: Logger;
}

/** The component identities whose kubeconfigs are written at start: file, user, groups. */
const componentIdentities = [
  { file: 'admin.kubeconfig', user: 'admin', groups: ['system:masters'] },
  // Each component holds only its own identity; RBAC (auth/bootstrap-policy.ts) grants its role.
  { file: 'controller-manager.kubeconfig', user: 'system:kube-controller-manager', groups: [] },
  { file: 'scheduler.kubeconfig', user: 'system:kube-scheduler', groups: [] },
  { file: 'proxy.kubeconfig', user: 'system:kube-proxy', groups: [] },
] as const;

export interface RunningApiServer {
  url: string;
  port: number;
  adminKubeconfig: string;
  caCertPem: string;
  registry: Registry;
  backend: StoreBackend;
  close(): Promise<void>;
}

export function parsePortRange(s: string): { min: number; max: number } {
  const m = /^(\d+)-(\d+)$/.exec(s.trim());
  if (!m) throw new Error(`invalid port range "${s}" (expected MIN-MAX, e.g. 30000-32767)`);
  return { min: Number(m[1]), max: Number(m[2]) };
}

export async function startApiServer(opts: ApiServerOptions): Promise<RunningApiServer> {
  const log = opts.logger ?? createLogger('apiserver');
  privateDir(opts.stateDir);
  tightenIfPresent(tokensPath(opts.stateDir)); // written 0600, but an older run may have left it readable
  const alloc = new Allocator(opts.serviceClusterIPRange, opts.serviceNodePortRange);
  const advertise =
    opts.advertiseAddress ??
    (opts.bindAddress === '0.0.0.0' || opts.bindAddress === '::' ? '127.0.0.1' : opts.bindAddress);
  const ips = [
    ...new Set([
      '127.0.0.1',
      advertise,
      alloc.firstIP(),
      ...(opts.bindAddress !== '0.0.0.0' && opts.bindAddress !== '::' ? [opts.bindAddress] : []),
    ]),
  ];
  const pki = ensurePki(opts.stateDir, {
    dns: [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ],
    ips,
  });
  for (const id of componentIdentities) ensureToken(opts.stateDir, id.user, [...id.groups]);
  const auth = new TokenAuthenticator(opts.stateDir);

  const backend = await createBackend({
    kind: opts.store,
    dir: opts.stateDir,
    etcdEndpoints: opts.etcdEndpoints,
    prefix: opts.etcdPrefix,
  });
  const registry = new Registry(new ObjectStore(backend, { ttlMs: opts.eventTtlMs }), alloc, log);
  const expiry = new ExpirySweeper(registry.store, log);
  let ready = false;
  let app: FastifyInstance | undefined;
  const rbac = new RbacAuthorizer(registry.store, log);
  try {
    await registry.bootstrap();
    await reconcileBootstrapPolicy(registry);
    await rbac.start();
    expiry.start();
    const kubeletProxy = new KubeletProxy(registry, opts.stateDir, log);
    app = await buildServer({
      registry,
      auth,
      authorizer: new Authorizer(rbac),
      saTokens: new ServiceAccountTokens(opts.stateDir),
      limits: { ...defaultLimits, ...(opts.limits ?? {}) },
      log,
      serverAddress: `${advertise}:${opts.port}`,
      tls: { key: pki.keyPem, cert: pki.certPem },
      isReady: () => ready,
      bookmarkIntervalMs: opts.bookmarkIntervalMs,
      kubeletProxy,
      resourceProxy: new ResourceProxy(registry, () => kubeletProxy.kubeletClient(), log),
    });
    await app.listen({ port: opts.port, host: opts.bindAddress });
  } catch (e) {
    await expiry.stop();
    rbac.stop();
    await registry.stop();
    await app?.close().catch(() => undefined);
    await backend.close();
    throw e;
  }
  const port = (app.server.address() as AddressInfo).port;
  const host = advertise.includes(':') ? `[${advertise}]` : advertise;
  const url = `https://${host}:${port}`;
  for (const id of componentIdentities) {
    const token = ensureToken(opts.stateDir, id.user, [...id.groups]);
    writeFileAtomic(
      join(opts.stateDir, id.file),
      renderKubeconfig({ server: url, caCertPem: pki.caCertPem, user: id.user, token }),
    );
  }
  await reconcileKubernetesService(registry, alloc.firstIP(), advertise, port).catch((e: unknown) =>
    log.error({ err: e }, 'could not reconcile the "kubernetes" service'),
  );
  ready = true;
  log.info({ url, store: backend.name, stateDir: opts.stateDir }, `listening on ${url}`);
  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    adminKubeconfig: join(opts.stateDir, 'admin.kubeconfig'),
    caCertPem: pki.caCertPem,
    registry,
    backend,
    close: () =>
      (closing ??= (async () => {
        ready = false;
        await app!.close();
        await expiry.stop();
        rbac.stop();
        await registry.stop();
        await backend.close();
      })()),
  };
}
