/**
 * From API objects to a routing table and the statuses the controller reports (pure). Ingresses of our
 * IngressClass and HTTPRoutes attached to Gateways of our GatewayClass become one list of routes.
 */
import {
  normalizePrefix,
  RouteTable,
  type Action,
  type BackendRef,
  type HeaderChange,
  type PathModifier,
  type Route,
} from './routes.js';
import { selectorMatches } from '../controllers/objects.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

export const GATEWAY_GROUP = 'gateway.networking.k8s.io';

export interface ControllerNames {
  /** IngressClass spec.controller we serve, e.g. "skiff.dev/ingress" */
  ingressController: string;
  /** GatewayClass spec.controllerName we serve, e.g. "skiff.dev/gateway" */
  gatewayController: string;
  /** the ports our listeners serve: a Gateway listener on another port is not accepted */
  httpPort: number;
  httpsPort: number;
}

export interface Inputs {
  ingressClasses: Json[];
  ingresses: Json[];
  gatewayClasses: Json[];
  gateways: Json[];
  httpRoutes: Json[];
  services: Json[];
  namespaces: Json[];
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  observedGeneration?: number;
}

interface ListenerStatus {
  name: string;
  supportedKinds: { group: string; kind: string }[];
  attachedRoutes: number;
  conditions: Condition[];
}

interface GatewayResult {
  key: string;
  conditions: Condition[];
  listeners: ListenerStatus[];
}

interface RouteParentResult {
  parentRef: Json;
  conditions: Condition[];
}

/** A certificate source: the Secret that holds it, for the hosts it serves (empty = default certificate). */
interface CertRef {
  namespace: string;
  secret: string;
  hosts: string[];
}

export interface Built {
  table: RouteTable;
  /** Ingresses we serve (their status gets our address) */
  servedIngresses: string[];
  acceptedClasses: string[];
  gateways: GatewayResult[];
  routeParents: Map<string, RouteParentResult[]>;
  certs: CertRef[];
}

const keyOf = (o: Json) => `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const cond = (type: string, ok: boolean, reason: string, message: string, gen?: number): Condition => ({
  type,
  status: ok ? 'True' : 'False',
  reason,
  message,
  ...(gen !== undefined ? { observedGeneration: gen } : {}),
});

function serviceExists(services: Json[], ns: string, name: string): boolean {
  return services.some((s) => s.metadata.namespace === ns && s.metadata.name === name);
}

// ---------------- Ingress ----------------

function ingressClassOf(ing: Json): string | undefined {
  return ing.spec?.ingressClassName ?? ing.metadata.annotations?.['kubernetes.io/ingress.class'];
}

function ingressBackend(ns: string, b: Json): Action {
  if (b?.resource)
    return {
      kind: 'fail',
      status: 503,
      message: `resource backends (${b.resource.kind}) are not served by skiff's ingress controller`,
    };
  const s = b?.service;
  const port = s?.port?.name ? { name: s.port.name as string } : { number: Number(s?.port?.number) };
  return { kind: 'forward', backends: [{ namespace: ns, service: s?.name, port, weight: 1 }] };
}

function ingressRoutes(ing: Json, order: { n: number }): Route[] {
  const ns = ing.metadata.namespace;
  const out: Route[] = [];
  for (const rule of (ing.spec?.rules ?? []) as Json[]) {
    for (const p of (rule?.http?.paths ?? []) as Json[]) {
      // ImplementationSpecific is served as Prefix (documented in docs/ingress.md).
      const exact = p.pathType === 'Exact';
      out.push({
        hosts: rule.host ? [String(rule.host).toLowerCase()] : [],
        path: exact
          ? { type: 'Exact', value: p.path ?? '/' }
          : { type: 'Prefix', value: normalizePrefix(p.path || '/') },
        headers: [],
        query: [],
        action: ingressBackend(ns, p.backend),
        schemes: new Set(['http', 'https']),
        created: ing.metadata.creationTimestamp ?? '',
        source: `Ingress ${keyOf(ing)}`,
        order: order.n++,
      });
    }
  }
  return out;
}

// ---------------- Gateway API ----------------

function headerChange(f: Json): HeaderChange {
  return {
    set: ((f?.set ?? []) as Json[]).map((h) => ({ name: h.name, value: h.value })),
    add: ((f?.add ?? []) as Json[]).map((h) => ({ name: h.name, value: h.value })),
    remove: (f?.remove ?? []) as string[],
  };
}

function pathModifier(p: Json): PathModifier | undefined {
  if (!p) return undefined;
  return p.type === 'ReplaceFullPath'
    ? { type: 'ReplaceFullPath', value: p.replaceFullPath ?? '/' }
    : { type: 'ReplacePrefixMatch', value: p.replacePrefixMatch ?? '/' };
}

/** Hostname intersection of a listener and a route (Gateway API: listener and route hostnames). */
export function intersectHosts(listener: string | undefined, route: string[]): string[] | undefined {
  if (!listener) return route;
  if (route.length === 0) return [listener];
  const covers = (wild: string, h: string) =>
    wild.startsWith('*.') && h.endsWith(wild.slice(1)) && h.length > wild.length - 1;
  const out = new Set<string>();
  for (const h of route) {
    if (h === listener) out.add(h);
    else if (covers(listener, h)) out.add(h);
    else if (covers(h, listener)) out.add(listener);
  }
  return out.size ? [...out] : undefined;
}

interface Listener {
  gateway: Json;
  spec: Json;
  accepted: boolean;
  scheme: 'http' | 'https';
  attached: number;
}

function namespaceAllowed(l: Listener, routeNs: string, namespaces: Json[]): boolean {
  const from = l.spec.allowedRoutes?.namespaces?.from ?? 'Same';
  if (from === 'All') return true;
  if (from === 'Same') return routeNs === l.gateway.metadata.namespace;
  const ns = namespaces.find((n) => n.metadata.name === routeNs);
  return selectorMatches(l.spec.allowedRoutes?.namespaces?.selector ?? {}, ns?.metadata.labels ?? {});
}

function kindAllowed(l: Listener): boolean {
  const kinds = (l.spec.allowedRoutes?.kinds ?? []) as Json[];
  return (
    kinds.length === 0 || kinds.some((k) => (k.group ?? GATEWAY_GROUP) === GATEWAY_GROUP && k.kind === 'HTTPRoute')
  );
}

function routeBackends(route: Json, rule: Json, services: Json[]): { backends: BackendRef[]; problem?: string } {
  const ns = route.metadata.namespace;
  let problem: string | undefined;
  const backends = ((rule.backendRefs ?? []) as Json[]).map((b): BackendRef => {
    const bns = b.namespace ?? ns;
    const base = {
      namespace: bns,
      service: b.name,
      port: { number: Number(b.port) },
      weight: b.weight ?? 1,
      requestHeaders: ((b.filters ?? []) as Json[]).find((f) => f.type === 'RequestHeaderModifier')
        ? headerChange(
            ((b.filters ?? []) as Json[]).find((f) => f.type === 'RequestHeaderModifier').requestHeaderModifier,
          )
        : undefined,
    };
    if ((b.group ?? '') !== '' || (b.kind ?? 'Service') !== 'Service') {
      problem ??= 'InvalidKind';
      return { ...base, invalid: `backend kind ${b.group ?? ''}/${b.kind} is not supported` };
    }
    if (bns !== ns) {
      problem ??= 'RefNotPermitted';
      return { ...base, invalid: `backend ${bns}/${b.name} is in another namespace and no ReferenceGrant is served` };
    }
    if (!serviceExists(services, bns, b.name)) {
      problem ??= 'BackendNotFound';
      return { ...base, invalid: `service ${bns}/${b.name} not found` };
    }
    return base;
  });
  return { backends, problem };
}

function ruleAction(route: Json, rule: Json, services: Json[]): { action: Action; problem?: string } {
  const filters = (rule.filters ?? []) as Json[];
  const redirect = filters.find((f) => f.type === 'RequestRedirect')?.requestRedirect;
  if (redirect)
    return {
      action: {
        kind: 'redirect',
        redirect: {
          scheme: redirect.scheme,
          hostname: redirect.hostname,
          port: redirect.port,
          path: pathModifier(redirect.path),
          statusCode: redirect.statusCode === 301 ? 301 : 302,
        },
      },
    };
  const { backends, problem } = routeBackends(route, rule, services);
  const req = filters.find((f) => f.type === 'RequestHeaderModifier')?.requestHeaderModifier;
  const res = filters.find((f) => f.type === 'ResponseHeaderModifier')?.responseHeaderModifier;
  const rw = filters.find((f) => f.type === 'URLRewrite')?.urlRewrite;
  if (backends.length === 0)
    // A rule with no backendRefs and no redirect: the spec says such requests get a 500.
    return { action: { kind: 'fail', status: 500, message: 'the matched HTTPRoute rule has no backendRefs' }, problem };
  return {
    action: {
      kind: 'forward',
      backends,
      requestHeaders: req ? headerChange(req) : undefined,
      responseHeaders: res ? headerChange(res) : undefined,
      rewrite: rw ? { hostname: rw.hostname, path: pathModifier(rw.path) } : undefined,
    },
    problem,
  };
}

// ---------------- all together ----------------

export function build(input: Inputs, names: ControllerNames): Built {
  const order = { n: 0 };
  const routes: Route[] = [];

  // Ingress
  const ourClasses = new Set(
    input.ingressClasses.filter((c) => c.spec?.controller === names.ingressController).map((c) => c.metadata.name),
  );
  const ingresses = input.ingresses
    .filter((i) => ourClasses.has(ingressClassOf(i)))
    .sort((a, b) => String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)));
  let defaultAction: Action | undefined;
  const certs: CertRef[] = [];
  for (const ing of ingresses) {
    routes.push(...ingressRoutes(ing, order));
    if (!defaultAction && ing.spec?.defaultBackend)
      defaultAction = ingressBackend(ing.metadata.namespace, ing.spec.defaultBackend);
    for (const t of (ing.spec?.tls ?? []) as Json[])
      if (t?.secretName)
        certs.push({
          namespace: ing.metadata.namespace,
          secret: t.secretName,
          hosts: (t.hosts ?? []).map((h: string) => h.toLowerCase()),
        });
  }

  // Gateway API
  const acceptedClasses = input.gatewayClasses
    .filter((c) => c.spec?.controllerName === names.gatewayController)
    .map((c) => c.metadata.name as string);
  const listeners: Listener[] = [];
  const gateways: GatewayResult[] = [];
  for (const gw of input.gateways.filter((g) => acceptedClasses.includes(g.spec?.gatewayClassName))) {
    const gen = gw.metadata.generation;
    for (const l of (gw.spec?.listeners ?? []) as Json[]) {
      const scheme = l.protocol === 'HTTPS' ? 'https' : 'http';
      const portOk = l.port === (scheme === 'https' ? names.httpsPort : names.httpPort);
      const protoOk = l.protocol === 'HTTP' || (l.protocol === 'HTTPS' && (l.tls?.mode ?? 'Terminate') === 'Terminate');
      listeners.push({ gateway: gw, spec: l, accepted: portOk && protoOk, scheme, attached: 0 });
      if (protoOk && scheme === 'https')
        for (const r of (l.tls?.certificateRefs ?? []) as Json[])
          if ((r.namespace ?? gw.metadata.namespace) === gw.metadata.namespace && (r.kind ?? 'Secret') === 'Secret')
            certs.push({ namespace: gw.metadata.namespace, secret: r.name, hosts: l.hostname ? [l.hostname] : [] });
    }
    gateways.push({
      key: keyOf(gw),
      conditions: [cond('Accepted', true, 'Accepted', 'Accepted by skiff', gen)],
      listeners: [],
    });
  }

  const routeParents = new Map<string, RouteParentResult[]>();
  const sortedRoutes = [...input.httpRoutes].sort((a, b) =>
    String(a.metadata.creationTimestamp).localeCompare(String(b.metadata.creationTimestamp)),
  );
  for (const hr of sortedRoutes) {
    const ns = hr.metadata.namespace;
    const gen = hr.metadata.generation;
    const results: RouteParentResult[] = [];
    for (const ref of (hr.spec?.parentRefs ?? []) as Json[]) {
      if ((ref.group ?? GATEWAY_GROUP) !== GATEWAY_GROUP || (ref.kind ?? 'Gateway') !== 'Gateway') continue;
      const gwNs = ref.namespace ?? ns;
      const candidates = listeners.filter(
        (l) =>
          l.gateway.metadata.namespace === gwNs &&
          l.gateway.metadata.name === ref.name &&
          (!ref.sectionName || l.spec.name === ref.sectionName) &&
          (!ref.port || l.spec.port === ref.port),
      );
      if (!candidates.length) {
        // Not one of our Gateways (or no such listener): leave the parent to whoever owns it.
        if (
          input.gateways.some(
            (g) =>
              g.metadata.namespace === gwNs &&
              g.metadata.name === ref.name &&
              acceptedClasses.includes(g.spec?.gatewayClassName),
          )
        )
          results.push({
            parentRef: ref,
            conditions: [cond('Accepted', false, 'NoMatchingParent', 'no listener matches the parentRef', gen)],
          });
        continue;
      }
      let attachedHosts: { l: Listener; hosts: string[] }[] = [];
      let reason = 'NotAllowedByListeners';
      for (const l of candidates) {
        if (!l.accepted || !namespaceAllowed(l, ns, input.namespaces) || !kindAllowed(l)) continue;
        const hosts = intersectHosts(
          l.spec.hostname,
          ((hr.spec?.hostnames ?? []) as string[]).map((h) => h.toLowerCase()),
        );
        if (!hosts) {
          reason = 'NoMatchingListenerHostname';
          continue;
        }
        attachedHosts.push({ l, hosts });
      }
      if (!attachedHosts.length) {
        results.push({
          parentRef: ref,
          conditions: [
            cond('Accepted', false, reason, 'the route is not allowed by any listener of the parent', gen),
            cond('ResolvedRefs', true, 'ResolvedRefs', 'Resolved all the Object references for the Route', gen),
          ],
        });
        continue;
      }
      attachedHosts = attachedHosts.filter((a, i) => attachedHosts.findIndex((b) => b.l === a.l) === i);
      let problem: string | undefined;
      ((hr.spec?.rules ?? []) as Json[]).forEach((rule) => {
        const { action, problem: p } = ruleAction(hr, rule, input.services);
        problem ??= p;
        for (const m of (rule.matches ?? [{ path: { type: 'PathPrefix', value: '/' } }]) as Json[]) {
          for (const { l, hosts } of attachedHosts) {
            const type = m.path?.type ?? 'PathPrefix';
            routes.push({
              hosts,
              path:
                type === 'Exact'
                  ? { type: 'Exact', value: m.path.value }
                  : type === 'RegularExpression'
                    ? { type: 'RegularExpression', value: m.path.value }
                    : { type: 'Prefix', value: normalizePrefix(m.path?.value ?? '/') },
              method: m.method,
              headers: ((m.headers ?? []) as Json[]).map((h) => ({
                name: h.name,
                type: h.type ?? 'Exact',
                value: h.value,
              })),
              query: ((m.queryParams ?? []) as Json[]).map((q) => ({
                name: q.name,
                type: q.type ?? 'Exact',
                value: q.value,
              })),
              action,
              schemes: new Set([l.scheme]),
              created: hr.metadata.creationTimestamp ?? '',
              source: `HTTPRoute ${keyOf(hr)}`,
              order: order.n++,
            });
          }
        }
      });
      for (const { l } of attachedHosts) l.attached++;
      results.push({
        parentRef: ref,
        conditions: [
          cond('Accepted', true, 'Accepted', 'Accepted by skiff', gen),
          problem
            ? cond(
                'ResolvedRefs',
                false,
                problem,
                'some backendRefs do not resolve: requests routed to them get a 500',
                gen,
              )
            : cond('ResolvedRefs', true, 'ResolvedRefs', 'Resolved all the Object references for the Route', gen),
        ],
      });
    }
    routeParents.set(keyOf(hr), results);
  }

  for (const g of gateways) {
    for (const l of listeners.filter((x) => keyOf(x.gateway) === g.key)) {
      const gen = l.gateway.metadata.generation;
      const protoOk = l.spec.protocol === 'HTTP' || l.spec.protocol === 'HTTPS';
      const conditions = l.accepted
        ? [
            cond('Accepted', true, 'Accepted', 'Accepted', gen),
            cond('Programmed', true, 'Programmed', 'Programmed', gen),
            cond('ResolvedRefs', true, 'ResolvedRefs', 'Resolved all the Object references', gen),
            cond('Conflicted', false, 'NoConflicts', 'No conflicts', gen),
          ]
        : [
            protoOk
              ? cond(
                  'Accepted',
                  false,
                  'PortUnavailable',
                  `skiff serves HTTP on port ${names.httpPort} and HTTPS on ${names.httpsPort} only`,
                  gen,
                )
              : cond(
                  'Accepted',
                  false,
                  'UnsupportedProtocol',
                  `protocol ${l.spec.protocol} is not supported (HTTP, HTTPS with TLS Terminate)`,
                  gen,
                ),
            cond('Programmed', false, 'Invalid', 'the listener is not accepted', gen),
            cond('ResolvedRefs', true, 'ResolvedRefs', 'Resolved all the Object references', gen),
            cond('Conflicted', false, 'NoConflicts', 'No conflicts', gen),
          ];
      g.listeners.push({
        name: l.spec.name,
        supportedKinds: protoOk ? [{ group: GATEWAY_GROUP, kind: 'HTTPRoute' }] : [],
        attachedRoutes: l.attached,
        conditions,
      });
    }
  }

  return {
    table: new RouteTable(routes, defaultAction),
    servedIngresses: ingresses.map(keyOf),
    acceptedClasses,
    gateways,
    routeParents,
    certs,
  };
}
