/**
 * gateway.networking.k8s.io/v1 GatewayClass, Gateway and HTTPRoute: the standard channel's defaults and the
 * validation its CRDs carry (OpenAPI bounds and CEL rules of gateway-api v1.2), written as plain checks.
 */
import { T } from '../../api/gateway-v1.js';
import type { FieldErrors } from '../errors.js';
import { dns1123Subdomain } from '../validation.js';
import { validateDomainPrefixedPath } from './hostpath.js';
import { ageColumn, humanAge, nameColumn, type ResourceDef } from './types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const GATEWAY_GROUP = 'gateway.networking.k8s.io';
const HOSTNAME = /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const PATH_TYPES = ['Exact', 'PathPrefix', 'RegularExpression'];
const MATCH_TYPES = ['Exact', 'RegularExpression'];
const FILTER_FIELDS: Record<string, string> = {
  RequestHeaderModifier: 'requestHeaderModifier',
  ResponseHeaderModifier: 'responseHeaderModifier',
  RequestMirror: 'requestMirror',
  RequestRedirect: 'requestRedirect',
  URLRewrite: 'urlRewrite',
  ExtensionRef: 'extensionRef',
};

function validateHostname(errs: FieldErrors, field: string, h: unknown): void {
  if (typeof h !== 'string' || h.length < 1 || h.length > 253 || !HOSTNAME.test(h))
    errs.invalid(field, h, `should match '${HOSTNAME.source}'`);
}

function condition(o: Json, type: string): Json {
  return ((o.status?.conditions ?? []) as Json[]).find((c) => c?.type === type);
}

// ---------------- GatewayClass ----------------
export const gatewayclasses: ResourceDef = {
  group: GATEWAY_GROUP,
  version: 'v1',
  kind: 'GatewayClass',
  plural: 'gatewayclasses',
  singular: 'gatewayclass',
  shortNames: ['gc'],
  categories: ['gateway-api'],
  namespaced: false,
  typeName: T.GatewayClass,
  statusSubresource: true,
  resetStatusOnCreate: true,
  defaults(o) {
    // The CRD's status default: "Waiting for controller".
    o.status ??= {};
    o.status.conditions ??= [
      {
        type: 'Accepted',
        status: 'Unknown',
        reason: 'Pending',
        message: 'Waiting for controller',
        lastTransitionTime: '1970-01-01T00:00:00Z',
      },
    ];
  },
  validate(o, errs, old) {
    const c = o.spec?.controllerName;
    if (!c) errs.required('spec.controllerName');
    else validateDomainPrefixedPath(errs, 'spec.controllerName', c);
    if (old && old.spec?.controllerName !== c) errs.invalid('spec.controllerName', c, 'Value is immutable');
  },
  table: {
    columns: [
      nameColumn,
      { name: 'Controller', type: 'string', description: 'controllerName of the GatewayClass', priority: 0 },
      { name: 'Accepted', type: 'string', description: 'Accepted condition status', priority: 0 },
      ageColumn,
      { name: 'Description', type: 'string', description: 'description of the GatewayClass', priority: 1 },
    ],
    cells: (o, now) => [
      o.metadata.name,
      o.spec?.controllerName ?? '',
      condition(o, 'Accepted')?.status ?? 'Unknown',
      humanAge(o.metadata.creationTimestamp, now),
      o.spec?.description ?? '',
    ],
  },
};

// ---------------- Gateway ----------------
function defaultListener(l: Json): void {
  if (!l || typeof l !== 'object') return;
  l.allowedRoutes ??= { namespaces: { from: 'Same' } };
  l.allowedRoutes.namespaces ??= { from: 'Same' };
  l.allowedRoutes.namespaces.from ??= 'Same';
  if (l.tls) {
    l.tls.mode ??= 'Terminate';
    for (const r of (l.tls.certificateRefs ?? []) as Json[]) {
      if (!r || typeof r !== 'object') continue;
      r.group ??= '';
      r.kind ??= 'Secret';
    }
  }
}

function validateListeners(errs: FieldErrors, listeners: Json[]): void {
  if (listeners.length < 1) errs.required('spec.listeners');
  if (listeners.length > 64) errs.invalid('spec.listeners', listeners.length, 'must have at most 64 items');
  const names = new Set<string>();
  const combos = new Set<string>();
  listeners.forEach((l, i) => {
    const p = `spec.listeners[${i}]`;
    if (!l?.name) errs.required(`${p}.name`);
    else if (names.has(l.name))
      errs.invalid('spec.listeners', l.name, 'Listener name must be unique within the Gateway');
    else names.add(l.name);
    if (!Number.isInteger(l?.port) || l.port < 1 || l.port > 65535)
      errs.invalid(`${p}.port`, l?.port, 'must be between 1 and 65535, inclusive');
    if (!l?.protocol) errs.required(`${p}.protocol`);
    if (l?.hostname !== undefined) validateHostname(errs, `${p}.hostname`, l.hostname);
    if (['TCP', 'UDP'].includes(l?.protocol) && l?.hostname)
      errs.invalid(`${p}.hostname`, l.hostname, "hostname must not be specified for protocols ['TCP', 'UDP']");
    if (['HTTPS', 'TLS'].includes(l?.protocol) && !l?.tls)
      errs.invalid(`${p}.tls`, null, "tls must be specified for protocols ['HTTPS', 'TLS']");
    if (l?.protocol === 'HTTP' && l?.tls)
      errs.invalid(`${p}.tls`, l.tls, "tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']");
    if (l?.tls?.mode && !['Terminate', 'Passthrough'].includes(l.tls.mode))
      errs.notSupported(`${p}.tls.mode`, l.tls.mode, ['Passthrough', 'Terminate']);
    if (l?.tls?.mode === 'Terminate' && !(l.tls.certificateRefs?.length || Object.keys(l.tls.options ?? {}).length))
      errs.invalid(`${p}.tls`, l.tls, 'certificateRefs or options must be specified when mode is Terminate');
    const from = l?.allowedRoutes?.namespaces?.from;
    if (from && !['All', 'Same', 'Selector'].includes(from))
      errs.notSupported(`${p}.allowedRoutes.namespaces.from`, from, ['All', 'Same', 'Selector']);
    if (from === 'Selector' && !l.allowedRoutes.namespaces.selector)
      errs.required(`${p}.allowedRoutes.namespaces.selector`);
    const combo = `${l?.port}/${l?.protocol}/${l?.hostname ?? ''}`;
    if (combos.has(combo))
      errs.invalid(
        'spec.listeners',
        combo,
        'Combination of port, protocol and hostname must be unique for each listener',
      );
    combos.add(combo);
  });
}

export const gateways: ResourceDef = {
  group: GATEWAY_GROUP,
  version: 'v1',
  kind: 'Gateway',
  plural: 'gateways',
  singular: 'gateway',
  shortNames: ['gtw'],
  categories: ['gateway-api'],
  namespaced: true,
  typeName: T.Gateway,
  statusSubresource: true,
  resetStatusOnCreate: true,
  defaults(o) {
    for (const l of (o.spec?.listeners ?? []) as Json[]) defaultListener(l);
    o.status ??= {};
    o.status.conditions ??= [
      {
        type: 'Accepted',
        status: 'Unknown',
        reason: 'Pending',
        message: 'Waiting for controller',
        lastTransitionTime: '1970-01-01T00:00:00Z',
      },
      {
        type: 'Programmed',
        status: 'Unknown',
        reason: 'Pending',
        message: 'Waiting for controller',
        lastTransitionTime: '1970-01-01T00:00:00Z',
      },
    ];
  },
  validate(o, errs) {
    if (!o.spec) return errs.required('spec');
    if (!o.spec.gatewayClassName) errs.required('spec.gatewayClassName');
    else {
      const e = dns1123Subdomain(o.spec.gatewayClassName);
      if (e) errs.invalid('spec.gatewayClassName', o.spec.gatewayClassName, e);
    }
    validateListeners(errs, (o.spec.listeners ?? []) as Json[]);
  },
  table: {
    columns: [
      nameColumn,
      { name: 'Class', type: 'string', description: 'gatewayClassName', priority: 0 },
      { name: 'Address', type: 'string', description: 'the first address in status', priority: 0 },
      { name: 'Programmed', type: 'string', description: 'Programmed condition status', priority: 0 },
      ageColumn,
    ],
    cells: (o, now) => [
      o.metadata.name,
      o.spec?.gatewayClassName ?? '',
      o.status?.addresses?.[0]?.value ?? '',
      condition(o, 'Programmed')?.status ?? 'Unknown',
      humanAge(o.metadata.creationTimestamp, now),
    ],
  },
};

// ---------------- HTTPRoute ----------------
const DEFAULT_MATCH = () => ({ path: { type: 'PathPrefix', value: '/' } });

function defaultRoute(spec: Json): void {
  for (const p of (spec.parentRefs ?? []) as Json[]) {
    if (!p || typeof p !== 'object') continue;
    p.group ??= GATEWAY_GROUP;
    p.kind ??= 'Gateway';
  }
  spec.rules ??= [{ matches: [DEFAULT_MATCH()] }];
  for (const r of spec.rules as Json[]) {
    if (!r || typeof r !== 'object') continue;
    r.matches ??= [DEFAULT_MATCH()];
    for (const m of r.matches as Json[]) {
      if (!m || typeof m !== 'object') continue;
      if (m.path) {
        m.path.type ??= 'PathPrefix';
        m.path.value ??= '/';
      } else m.path = DEFAULT_MATCH().path;
      for (const h of (m.headers ?? []) as Json[]) if (h) h.type ??= 'Exact';
      for (const q of (m.queryParams ?? []) as Json[]) if (q) q.type ??= 'Exact';
    }
    for (const b of (r.backendRefs ?? []) as Json[]) {
      if (!b || typeof b !== 'object') continue;
      b.group ??= '';
      b.kind ??= 'Service';
      b.weight ??= 1;
    }
  }
}

function validateRoutePath(errs: FieldErrors, field: string, path: Json): void {
  const type = path?.type;
  if (!PATH_TYPES.includes(type)) return errs.notSupported(`${field}.type`, type, PATH_TYPES);
  const v = String(path.value ?? '');
  if (v.length > 1024) errs.invalid(`${field}.value`, v, 'must be no more than 1024 characters');
  if (type === 'RegularExpression') {
    try {
      new RegExp(v);
    } catch {
      errs.invalid(`${field}.value`, v, 'must be a valid regular expression');
    }
    return;
  }
  if (!v.startsWith('/'))
    errs.invalid(
      field,
      v,
      "value must be an absolute path and start with '/' when type one of ['Exact', 'PathPrefix']",
    );
  for (const s of ['//', '/./', '/../', '%2f', '%2F', '#'])
    if (v.includes(s)) errs.invalid(field, v, `must not contain '${s}' when type one of ['Exact', 'PathPrefix']`);
  for (const s of ['/..', '/.'])
    if (v.endsWith(s)) errs.invalid(field, v, `must not end with '${s}' when type one of ['Exact', 'PathPrefix']`);
}

function validateFilters(errs: FieldErrors, field: string, filters: Json[], matches: Json[]): void {
  const seen = new Set<string>();
  filters.forEach((f, i) => {
    const p = `${field}[${i}]`;
    const want = FILTER_FIELDS[f?.type];
    if (!want) return errs.notSupported(`${p}.type`, f?.type, Object.keys(FILTER_FIELDS));
    for (const [t, fieldName] of Object.entries(FILTER_FIELDS)) {
      if (t === f.type && f[fieldName] === undefined)
        errs.invalid(p, f.type, `filter.${fieldName} must be specified for ${t} filter.type`);
      if (t !== f.type && f[fieldName] !== undefined)
        errs.invalid(p, f.type, `filter.${fieldName} must be nil if the filter.type is not ${t}`);
    }
    if (f.type !== 'RequestMirror' && f.type !== 'ExtensionRef') {
      if (seen.has(f.type)) errs.invalid(field, f.type, `${f.type} filter cannot be repeated`);
      seen.add(f.type);
    }
    const rd = f.requestRedirect;
    if (rd?.statusCode !== undefined && ![301, 302].includes(rd.statusCode))
      errs.notSupported(`${p}.requestRedirect.statusCode`, rd.statusCode, ['301', '302']);
    if (rd?.hostname !== undefined) validateHostname(errs, `${p}.requestRedirect.hostname`, rd.hostname);
    const mod = rd?.path ?? f.urlRewrite?.path;
    if (mod?.type === 'ReplacePrefixMatch') {
      if (mod.replacePrefixMatch === undefined)
        errs.invalid(p, mod, "replacePrefixMatch must be specified when type is set to 'ReplacePrefixMatch'");
      if (!matches.every((m) => m?.path?.type === 'PathPrefix'))
        errs.invalid(
          p,
          mod,
          'When using URL path modifier with ReplacePrefixMatch, the path match type must be PathPrefix',
        );
    }
    if (mod?.type === 'ReplaceFullPath' && mod.replaceFullPath === undefined)
      errs.invalid(p, mod, "replaceFullPath must be specified when type is set to 'ReplaceFullPath'");
    for (const h of [...(f.requestHeaderModifier?.set ?? []), ...(f.requestHeaderModifier?.add ?? [])] as Json[])
      if (!h?.name || !/^[A-Za-z0-9!#$%&'*+\-.^_`|~]+$/.test(h.name))
        errs.invalid(`${p}.requestHeaderModifier`, h?.name, 'must be a valid HTTP header name');
  });
  if (seen.has('RequestRedirect') && seen.has('URLRewrite'))
    errs.invalid(
      field,
      'RequestRedirect',
      'May specify either httpRouteFilterRequestRedirect or httpRouteFilterRequestRewrite, but not both',
    );
}

export const httproutes: ResourceDef = {
  group: GATEWAY_GROUP,
  version: 'v1',
  kind: 'HTTPRoute',
  plural: 'httproutes',
  singular: 'httproute',
  shortNames: [],
  categories: ['gateway-api'],
  namespaced: true,
  typeName: T.HTTPRoute,
  statusSubresource: true,
  resetStatusOnCreate: true,
  defaults(o) {
    o.spec ??= {};
    defaultRoute(o.spec);
    o.status ??= {};
    o.status.parents ??= [];
  },
  validate(o, errs) {
    const spec = o.spec ?? {};
    const parents = (spec.parentRefs ?? []) as Json[];
    if (parents.length > 32) errs.invalid('spec.parentRefs', parents.length, 'must have at most 32 items');
    parents.forEach((p, i) => {
      if (!p?.name) errs.required(`spec.parentRefs[${i}].name`);
      if (p?.port !== undefined && (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535))
        errs.invalid(`spec.parentRefs[${i}].port`, p.port, 'must be between 1 and 65535, inclusive');
    });
    const hostnames = (spec.hostnames ?? []) as unknown[];
    if (hostnames.length > 16) errs.invalid('spec.hostnames', hostnames.length, 'must have at most 16 items');
    hostnames.forEach((h, i) => validateHostname(errs, `spec.hostnames[${i}]`, h));
    const rules = (spec.rules ?? []) as Json[];
    if (rules.length > 16) errs.invalid('spec.rules', rules.length, 'must have at most 16 items');
    rules.forEach((r, i) => {
      const rp = `spec.rules[${i}]`;
      const matches = (r?.matches ?? []) as Json[];
      if (matches.length > 64) errs.invalid(`${rp}.matches`, matches.length, 'must have at most 64 items');
      matches.forEach((m, j) => {
        const mp = `${rp}.matches[${j}]`;
        if (m?.path) validateRoutePath(errs, `${mp}.path`, m.path);
        for (const [k, list] of [
          ['headers', m?.headers],
          ['queryParams', m?.queryParams],
        ] as [string, Json[] | undefined][])
          (list ?? []).forEach((h, n) => {
            if (!h?.name) errs.required(`${mp}.${k}[${n}].name`);
            if (!MATCH_TYPES.includes(h?.type)) errs.notSupported(`${mp}.${k}[${n}].type`, h?.type, MATCH_TYPES);
          });
      });
      const filters = (r?.filters ?? []) as Json[];
      validateFilters(errs, `${rp}.filters`, filters, matches);
      const backends = (r?.backendRefs ?? []) as Json[];
      if (filters.some((f) => f?.type === 'RequestRedirect') && backends.length)
        errs.invalid(rp, 'backendRefs', 'RequestRedirect filter must not be used together with backendRefs');
      backends.forEach((b, n) => {
        const bp = `${rp}.backendRefs[${n}]`;
        if (!b?.name) errs.required(`${bp}.name`);
        if ((b?.group ?? '') === '' && (b?.kind ?? 'Service') === 'Service' && b?.port === undefined)
          errs.invalid(bp, b, 'Must have port for Service reference');
        if (b?.port !== undefined && (!Number.isInteger(b.port) || b.port < 1 || b.port > 65535))
          errs.invalid(`${bp}.port`, b.port, 'must be between 1 and 65535, inclusive');
        if (b?.weight !== undefined && (!Number.isInteger(b.weight) || b.weight < 0 || b.weight > 1_000_000))
          errs.invalid(`${bp}.weight`, b.weight, 'must be between 0 and 1000000, inclusive');
      });
    });
  },
  table: {
    columns: [
      nameColumn,
      { name: 'Hostnames', type: 'string', description: 'hostnames of the route', priority: 0 },
      ageColumn,
    ],
    cells: (o, now) => [
      o.metadata.name,
      JSON.stringify(o.spec?.hostnames ?? []),
      humanAge(o.metadata.creationTimestamp, now),
    ],
  },
};
