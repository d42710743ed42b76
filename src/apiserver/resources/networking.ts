/**
 * networking.k8s.io/v1 Ingress and IngressClass, validated as kube-apiserver's
 * pkg/apis/networking/validation does, with the DefaultIngressClass admission plugin on create.
 */
import { T } from '../../api/networking-v1.js';
import type { FieldErrors } from '../errors.js';
import { dns1035Label, dns1123Subdomain, ianaSvcName } from '../validation.js';
import { validateDomainPrefixedPath, validateHost, validateHTTPPath } from './hostpath.js';
import { ageColumn, humanAge, nameColumn, type ResourceDef } from './types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];

function validateBackend(errs: FieldErrors, path: string, b: Json): void {
  if (!b || typeof b !== 'object') return errs.required(path);
  if (b.service && b.resource) return errs.invalid(path, '', 'cannot set both resource and service backends');
  if (!b.service && !b.resource) return errs.invalid(path, '', 'resource or service backend is required');
  if (b.resource) {
    if (!b.resource.kind) errs.required(`${path}.resource.kind`);
    if (!b.resource.name) errs.required(`${path}.resource.name`);
    return;
  }
  const s = b.service;
  if (!s.name) errs.required(`${path}.service.name`);
  else {
    const e = dns1035Label(s.name);
    if (e) errs.invalid(`${path}.service.name`, s.name, e);
  }
  const p = s.port ?? {};
  const hasName = typeof p.name === 'string' && p.name !== '';
  const hasNumber = p.number !== undefined && p.number !== null && p.number !== 0;
  if (hasName && hasNumber) errs.invalid(`${path}.service.port`, p, 'cannot set both port name & port number');
  else if (hasName) {
    const e = ianaSvcName(p.name);
    if (e) errs.invalid(`${path}.service.port.name`, p.name, e);
  } else if (hasNumber) {
    if (!Number.isInteger(p.number) || p.number < 1 || p.number > 65535)
      errs.invalid(`${path}.service.port.number`, p.number, 'must be between 1 and 65535, inclusive');
  } else errs.required(`${path}.service.port.name`);
}

function validateIngressSpec(errs: FieldErrors, spec: Json): void {
  const rules = (spec?.rules ?? []) as Json[];
  if (!spec?.defaultBackend && rules.length === 0)
    errs.invalid('spec', spec ?? {}, 'either `defaultBackend` or `rules` must be specified');
  if (spec?.defaultBackend) validateBackend(errs, 'spec.defaultBackend', spec.defaultBackend);
  if (spec?.ingressClassName) {
    const e = dns1123Subdomain(spec.ingressClassName);
    if (e) errs.invalid('spec.ingressClassName', spec.ingressClassName, e);
  }
  rules.forEach((r, i) => {
    const rp = `spec.rules[${i}]`;
    if (r?.host) validateHost(errs, `${rp}.host`, r.host);
    if (!r?.http) return;
    const paths = (r.http.paths ?? []) as Json[];
    if (paths.length === 0) errs.required(`${rp}.http.paths`);
    paths.forEach((p, j) => {
      const pp = `${rp}.http.paths[${j}]`;
      if (!p?.pathType) errs.required(`${pp}.pathType`);
      else if (!PATH_TYPES.includes(p.pathType)) errs.notSupported(`${pp}.pathType`, p.pathType, PATH_TYPES);
      else if (p.pathType === 'ImplementationSpecific') {
        if (p.path && !String(p.path).startsWith('/')) errs.invalid(`${pp}.path`, p.path, 'must be an absolute path');
      } else validateHTTPPath(errs, `${pp}.path`, p.path ?? '');
      validateBackend(errs, `${pp}.backend`, p?.backend);
    });
  });
  ((spec?.tls ?? []) as Json[]).forEach((t, i) => {
    ((t?.hosts ?? []) as string[]).forEach((h, j) => validateHost(errs, `spec.tls[${i}].hosts[${j}]`, h));
    if (t?.secretName) {
      const e = dns1123Subdomain(t.secretName);
      if (e) errs.invalid(`spec.tls[${i}].secretName`, t.secretName, e);
    }
  });
}

/** kubectl's HOSTS / PORTS cells (pkg/printers/internalversion: formatHosts, ingress ports "80, 443"). */
function ingressHosts(o: Json): string {
  const hosts = ((o.spec?.rules ?? []) as Json[]).map((r) => r?.host).filter(Boolean) as string[];
  if (hosts.length === 0) return '*';
  return hosts.length > 4 ? `${hosts.slice(0, 4).join(',')} + ${hosts.length - 4} more...` : hosts.join(',');
}
function ingressAddress(o: Json): string {
  return ((o.status?.loadBalancer?.ingress ?? []) as Json[])
    .map((i) => i?.ip || i?.hostname)
    .filter(Boolean)
    .join(',');
}

export const ingresses: ResourceDef = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'Ingress',
  plural: 'ingresses',
  singular: 'ingress',
  shortNames: ['ing'],
  namespaced: true,
  typeName: T.Ingress,
  statusSubresource: true,
  resetStatusOnCreate: true,
  async admitCreate(o, ctx) {
    // DefaultIngressClass admission: an Ingress with no class (field or legacy annotation) gets the default
    // IngressClass; with several defaults the newest wins, as since Kubernetes 1.30.
    if (o.spec?.ingressClassName || o.metadata.annotations?.['kubernetes.io/ingress.class']) return;
    const defaults = (await ctx.list(ingressclasses)).filter(
      (c) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true',
    );
    defaults.sort((a, b) => String(b.metadata.creationTimestamp).localeCompare(String(a.metadata.creationTimestamp)));
    if (defaults[0]) (o.spec ??= {}).ingressClassName = defaults[0].metadata.name;
  },
  validate(o, errs) {
    validateIngressSpec(errs, o.spec);
    ((o.status?.loadBalancer?.ingress ?? []) as Json[]).forEach((i, n) => {
      if (i?.ip && i?.hostname === undefined && !/^[0-9a-fA-F.:]+$/.test(i.ip))
        errs.invalid(`status.loadBalancer.ingress[${n}].ip`, i.ip, 'must be a valid IP address');
    });
  },
  table: {
    columns: [
      nameColumn,
      { name: 'Class', type: 'string', description: 'The name of the IngressClass resource.', priority: 0 },
      { name: 'Hosts', type: 'string', description: 'Hosts that incoming requests are matched against.', priority: 0 },
      {
        name: 'Address',
        type: 'string',
        description: 'Address is a list containing ingress points for the load-balancer',
        priority: 0,
      },
      { name: 'Ports', type: 'string', description: 'Ports of TLS configurations that open', priority: 0 },
      ageColumn,
    ],
    cells: (o, now) => [
      o.metadata.name,
      o.spec?.ingressClassName ?? '<none>',
      ingressHosts(o),
      ingressAddress(o),
      (o.spec?.tls ?? []).length ? '80, 443' : '80',
      humanAge(o.metadata.creationTimestamp, now),
    ],
  },
};

export const ingressclasses: ResourceDef = {
  group: 'networking.k8s.io',
  version: 'v1',
  kind: 'IngressClass',
  plural: 'ingressclasses',
  singular: 'ingressclass',
  shortNames: [],
  namespaced: false,
  typeName: T.IngressClass,
  statusSubresource: false,
  resetStatusOnCreate: false,
  validate(o, errs, old) {
    const c = o.spec?.controller;
    if (!c) errs.required('spec.controller');
    else if (c.length > 250) errs.invalid('spec.controller', c, 'must be no more than 250 characters');
    else validateDomainPrefixedPath(errs, 'spec.controller', c);
    if (old && old.spec?.controller !== c) errs.invalid('spec.controller', c, 'field is immutable');
    const p = o.spec?.parameters;
    if (p) {
      if (!p.kind) errs.required('spec.parameters.kind');
      if (!p.name) errs.required('spec.parameters.name');
      if (p.scope && !['Cluster', 'Namespace'].includes(p.scope))
        errs.notSupported('spec.parameters.scope', p.scope, ['Cluster', 'Namespace']);
      if (p.scope === 'Namespace' && !p.namespace) errs.required('spec.parameters.namespace');
      if (p.scope !== 'Namespace' && p.namespace)
        errs.forbidden('spec.parameters.namespace', '`parameters.scope` is set to "Cluster"');
    }
  },
  table: {
    columns: [
      nameColumn,
      {
        name: 'Controller',
        type: 'string',
        description: 'Controller that is responsible for handling this class',
        priority: 0,
      },
      {
        name: 'Parameters',
        type: 'string',
        description: 'A reference to a resource with additional parameters',
        priority: 0,
      },
      ageColumn,
    ],
    cells: (o, now) => {
      const p = o.spec?.parameters;
      return [
        o.metadata.name,
        o.spec?.controller ?? '',
        p ? `${p.kind}.${p.apiGroup ?? ''}/${p.name}`.replace('./', '/') : '<none>',
        humanAge(o.metadata.creationTimestamp, now),
      ];
    },
  },
};
