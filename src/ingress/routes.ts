/**
 * The routing model shared by Ingress and HTTPRoute, and the matching rules (pure).
 *
 * A request is routed in two steps, as ingress-nginx and the Gateway API specify: first the most specific
 * host group (an exact host, else the single-label wildcard of its parent domain, else the routes without a
 * host), then the first route of that group in precedence order that matches. Nothing falls through to a
 * less specific host group: a host with rules but no matching path gets the default backend or a 404.
 */

type PathType = 'Exact' | 'Prefix' | 'RegularExpression';

export interface PathMatch {
  type: PathType;
  /** Prefix values are kept without a trailing "/" ("/" itself stays "/"). */
  value: string;
}

interface ValueMatch {
  name: string;
  type: 'Exact' | 'RegularExpression';
  value: string;
}

export interface HeaderChange {
  set: { name: string; value: string }[];
  add: { name: string; value: string }[];
  remove: string[];
}

export type PathModifier = { type: 'ReplaceFullPath'; value: string } | { type: 'ReplacePrefixMatch'; value: string };

interface Redirect {
  scheme?: 'http' | 'https';
  hostname?: string;
  port?: number;
  path?: PathModifier;
  statusCode: 301 | 302;
}

/** A Service port a route forwards to: a number or the Service port's name. */
export interface BackendRef {
  namespace: string;
  service: string;
  port: { number: number } | { name: string };
  weight: number;
  /** why this backend cannot be used (not found, not permitted): requests sent to it get a 500 */
  invalid?: string;
  /** per-backend request header changes (HTTPBackendRef filters) */
  requestHeaders?: HeaderChange;
}

export type Action =
  | {
      kind: 'forward';
      backends: BackendRef[];
      requestHeaders?: HeaderChange;
      responseHeaders?: HeaderChange;
      rewrite?: { hostname?: string; path?: PathModifier };
    }
  | { kind: 'redirect'; redirect: Redirect }
  /** the route matched but cannot be served (a backendRef that does not resolve: the Gateway API says 500) */
  | { kind: 'fail'; status: number; message: string };

export interface Route {
  /** exact hosts and "*.suffix" wildcards; empty = any host */
  hosts: string[];
  path: PathMatch;
  method?: string;
  headers: ValueMatch[];
  query: ValueMatch[];
  action: Action;
  /** which listeners serve it: Ingress rules serve both, HTTPRoutes the protocols of their listeners */
  schemes: ReadonlySet<'http' | 'https'>;
  /** precedence ties: older first, then namespace/name, then rule and match order */
  created: string;
  source: string;
  order: number;
}

export interface RouteRequest {
  scheme: 'http' | 'https';
  host: string;
  path: string;
  method: string;
  headers: Record<string, string | string[] | undefined>;
  query: URLSearchParams;
}

/** "/foo/" → "/foo"; "/" stays "/". */
export function normalizePrefix(p: string): string {
  const v = p.replace(/\/+$/, '');
  return v === '' ? '/' : v;
}

/** Element-wise prefix match: "/foo" matches "/foo", "/foo/" and "/foo/bar", never "/foobar". */
export function prefixMatches(prefix: string, path: string): boolean {
  if (prefix === '/') return true;
  return path === prefix || path.startsWith(`${prefix}/`);
}

const regexCache = new Map<string, RegExp | null>();
function regex(src: string): RegExp | null {
  let r = regexCache.get(src);
  if (r === undefined) {
    try {
      r = new RegExp(`^(?:${src})$`);
    } catch {
      r = null;
    }
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(src, r);
  }
  return r;
}

function pathMatches(m: PathMatch, path: string): boolean {
  if (m.type === 'Exact') return path === m.value;
  if (m.type === 'Prefix') return prefixMatches(m.value, path);
  return regex(m.value)?.test(path) ?? false;
}

function valueMatches(m: ValueMatch, v: string | undefined): boolean {
  if (v === undefined) return false;
  return m.type === 'Exact' ? v === m.value : (regex(m.value)?.test(v) ?? false);
}

function headerValue(headers: RouteRequest['headers'], name: string): string | undefined {
  const v = headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(',') : v;
}

/** Does `route` (already in the request's host group) match the request? */
function routeMatches(route: Route, req: RouteRequest): boolean {
  if (!route.schemes.has(req.scheme)) return false;
  if (!pathMatches(route.path, req.path)) return false;
  if (route.method && route.method !== req.method) return false;
  for (const h of route.headers) if (!valueMatches(h, headerValue(req.headers, h.name))) return false;
  for (const q of route.query) if (!valueMatches(q, req.query.get(q.name) ?? undefined)) return false;
  return true;
}

/**
 * Precedence within a host group (Kubernetes Ingress: longest path, then Exact over Prefix; Gateway API:
 * Exact, longest prefix, method, most header matches, most query matches, oldest, namespace/name, order).
 * An exact match is never shorter than a prefix match of the same request, so one static order serves both.
 */
function comparePrecedence(a: Route, b: Route): number {
  const rank = (t: PathType) => (t === 'Exact' ? 0 : t === 'Prefix' ? 1 : 2);
  if (a.path.type === 'RegularExpression' || b.path.type === 'RegularExpression') {
    if (rank(a.path.type) !== rank(b.path.type)) return rank(a.path.type) - rank(b.path.type);
  }
  if (a.path.value.length !== b.path.value.length) return b.path.value.length - a.path.value.length;
  if (rank(a.path.type) !== rank(b.path.type)) return rank(a.path.type) - rank(b.path.type);
  if (Boolean(a.method) !== Boolean(b.method)) return a.method ? -1 : 1;
  if (a.headers.length !== b.headers.length) return b.headers.length - a.headers.length;
  if (a.query.length !== b.query.length) return b.query.length - a.query.length;
  if (a.created !== b.created) return a.created < b.created ? -1 : 1;
  if (a.source !== b.source) return a.source < b.source ? -1 : 1;
  return a.order - b.order;
}

/** Host of a Host header or :authority, lower-cased, without port. */
export function requestHost(raw: string | undefined): string {
  if (!raw) return '';
  const h = raw.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(0, h.indexOf(']') + 1);
  const colon = h.lastIndexOf(':');
  return colon >= 0 ? h.slice(0, colon) : h;
}

/** "*.example.com" covers exactly one more label: "a.example.com", not "example.com" or "a.b.example.com". */
export function wildcardFor(host: string): string | undefined {
  const dot = host.indexOf('.');
  return dot > 0 ? `*${host.slice(dot)}` : undefined;
}

/** An immutable routing table: host groups, each sorted once by precedence. */
export class RouteTable {
  private readonly groups = new Map<string, Route[]>();
  private readonly anyHost: Route[] = [];

  constructor(
    routes: Route[],
    readonly defaultAction?: Action,
  ) {
    for (const r of routes) {
      if (r.hosts.length === 0) this.anyHost.push(r);
      for (const h of new Set(r.hosts.map((x) => x.toLowerCase()))) {
        let g = this.groups.get(h);
        if (!g) this.groups.set(h, (g = []));
        g.push(r);
      }
    }
    for (const g of this.groups.values()) g.sort(comparePrecedence);
    this.anyHost.sort(comparePrecedence);
  }

  get size(): number {
    let n = this.anyHost.length;
    for (const g of this.groups.values()) n += g.length;
    return n;
  }

  /** The host group a request falls into (see the module comment). */
  groupFor(host: string): Route[] {
    const exact = this.groups.get(host);
    if (exact) return exact;
    const wc = wildcardFor(host);
    const wild = wc ? this.groups.get(wc) : undefined;
    return wild ?? this.anyHost;
  }

  /** The first route of the request's host group that matches it, or undefined (default backend or 404). */
  match(req: RouteRequest): Route | undefined {
    for (const r of this.groupFor(req.host)) if (routeMatches(r, req)) return r;
    return undefined;
  }
}

/** Apply a path modifier to the request path, given the route's match (Gateway API semantics). */
export function modifyPath(path: string, mod: PathModifier, match: PathMatch): string {
  if (mod.type === 'ReplaceFullPath') return mod.value;
  if (match.type !== 'Prefix') return path;
  const rest = match.value === '/' ? path : path.slice(match.value.length);
  const base = mod.value.replace(/\/+$/, '');
  const joined = `${base}${rest.startsWith('/') || rest === '' ? rest : `/${rest}`}`;
  return joined === '' ? '/' : joined;
}

/** Apply set/add/remove to a header record (names case-insensitive). */
export function applyHeaderChange(headers: Record<string, string | string[] | undefined>, c: HeaderChange): void {
  for (const s of c.set) headers[s.name.toLowerCase()] = s.value;
  for (const a of c.add) {
    const k = a.name.toLowerCase();
    const cur = headers[k];
    headers[k] = cur === undefined ? a.value : `${Array.isArray(cur) ? cur.join(',') : cur},${a.value}`;
  }
  for (const r of c.remove) delete headers[r.toLowerCase()];
}

/** Pick one backend by weight (weights 0 are never chosen); undefined when every weight is 0. */
export function pickWeighted<T extends { weight: number }>(
  items: T[],
  rand: () => number = Math.random,
): T | undefined {
  const total = items.reduce((s, i) => s + Math.max(0, i.weight), 0);
  if (total <= 0) return undefined;
  let x = rand() * total;
  for (const i of items) {
    x -= Math.max(0, i.weight);
    if (x < 0) return i;
  }
  return items.findLast((i) => i.weight > 0);
}
