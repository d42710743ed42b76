/**
 * core/v1 Service: Kubernetes defaults (type ClusterIP, protocol TCP, targetPort = port, sessionAffinity
 * None, single-stack IPv4), validation, and synchronous ClusterIP / NodePort allocation with release on
 * delete or when an update gives them up.
 */
import type { KObject } from '../../api/meta.js';
import { T } from '../../api/core-v1.js';
import { ApiError, FieldErrors, invalid } from '../errors.js';
import {
  familiesToAllocate,
  initIpFamilies,
  normalizeClusterIPsOnCreate,
  normalizeClusterIPsOnUpdate,
  realIPs,
  validateIpFamilyFields,
} from './service-ipfamilies.js';
import { AllocationError } from '../alloc.js';
import { familyFromName, isIp } from '../../net/ip.js';
import { dns1123Label, ianaSvcName, validateLabels, validatePort, validateProtocol } from '../validation.js';
import { ageColumn, humanAge, nameColumn, type ResourceDef, type StrategyContext } from './types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const wantsNodePorts = (spec: Json) =>
  spec.type === 'NodePort' || (spec.type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts !== false);
/** Kubernetes' apiservice.ExternallyAccessible: the types with external destinations, or external IPs. */
const externallyAccessible = (spec: Json) =>
  spec.type === 'NodePort' ||
  spec.type === 'LoadBalancer' ||
  ((spec.type ?? 'ClusterIP') === 'ClusterIP' && Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0);
const needsHealthCheckPort = (spec: Json) => spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';
const portKey = (p: Json) => `${p?.port}/${p?.protocol ?? 'TCP'}`;

function allocError(obj: KObject, field: string, value: unknown, err: unknown): ApiError {
  if (!(err instanceof AllocationError)) throw err;
  const errs = new FieldErrors();
  errs.invalid(field, value, err.message);
  return invalid('Service', '', obj.metadata.name ?? '', errs.causes);
}

/** Default the IP families (kube's initIPFamilyFields), then allocate the ClusterIPs they still lack. */
function assignClusterIPs(obj: KObject, ctx: StrategyContext, old?: KObject): void {
  const spec = obj.spec;
  const errs = new FieldErrors();
  initIpFamilies(spec, old?.spec, ctx.alloc, errs);
  if (errs.causes.length) throw invalid('Service', '', obj.metadata.name ?? '', errs.causes);
  const wanted = familiesToAllocate(spec, old?.spec);
  if (!wanted.length) return;
  const ips: string[] = [...(spec.clusterIPs ?? [])];
  for (const i of wanted) {
    try {
      const ip = ctx.alloc.allocateIP(ips[i] || undefined, familyFromName(spec.ipFamilies[i]));
      ctx.onRollback(() => ctx.alloc.releaseIP(ip));
      ips[i] = ip;
    } catch (e) {
      throw allocError(obj, 'spec.clusterIPs', spec.clusterIPs ?? [], e);
    }
  }
  spec.clusterIPs = ips;
  spec.clusterIP = ips[0];
}

function allocateNodePorts(obj: KObject, ctx: StrategyContext, old?: KObject): void {
  const spec = obj.spec;
  const oldPorts: Json[] = old && wantsNodePorts(old.spec) ? (old.spec.ports ?? []) : [];
  const oldNodePorts = new Set(oldPorts.map((p) => p?.nodePort).filter((n) => typeof n === 'number'));
  const kept = new Set<number>();
  (spec.ports ?? []).forEach((p: Json, i: number) => {
    if (!p || typeof p !== 'object') return;
    if (p.nodePort === undefined || p.nodePort === 0) {
      // An update that omits nodePort keeps the one the same port already had.
      const prev = oldPorts.find((o) => portKey(o) === portKey(p))?.nodePort;
      if (typeof prev === 'number' && !kept.has(prev)) {
        p.nodePort = prev;
        kept.add(prev);
        return;
      }
      try {
        p.nodePort = ctx.alloc.allocatePort();
      } catch (e) {
        throw allocError(obj, `spec.ports[${i}].nodePort`, 0, e);
      }
      const n = p.nodePort as number;
      ctx.onRollback(() => ctx.alloc.releasePort(n));
      return;
    }
    if (oldNodePorts.has(p.nodePort) && !kept.has(p.nodePort)) {
      kept.add(p.nodePort);
      return;
    }
    // Two ports of one service may share a node port only when their protocols differ.
    const sibling = (spec.ports as Json[])
      .slice(0, i)
      .find((q) => q?.nodePort === p.nodePort && q?.protocol !== p.protocol);
    if (sibling) return;
    try {
      ctx.alloc.allocatePort(p.nodePort);
    } catch (e) {
      throw allocError(obj, `spec.ports[${i}].nodePort`, p.nodePort, e);
    }
    const n = p.nodePort as number;
    ctx.onRollback(() => ctx.alloc.releasePort(n));
  });
}

function allocateHealthCheck(obj: KObject, ctx: StrategyContext, old?: KObject): void {
  const spec = obj.spec;
  const prev = old && needsHealthCheckPort(old.spec) ? old.spec.healthCheckNodePort : undefined;
  if (!spec.healthCheckNodePort && prev) {
    spec.healthCheckNodePort = prev;
    return;
  }
  if (spec.healthCheckNodePort && spec.healthCheckNodePort === prev) return;
  try {
    spec.healthCheckNodePort = ctx.alloc.allocatePort(spec.healthCheckNodePort || undefined);
  } catch (e) {
    throw allocError(obj, 'spec.healthCheckNodePort', spec.healthCheckNodePort, e);
  }
  const n = spec.healthCheckNodePort as number;
  ctx.onRollback(() => ctx.alloc.releasePort(n));
}

/** Every node port and cluster IP an object holds. */
function serviceAllocations(o: KObject): { ips: string[]; ports: number[] } {
  const spec = o.spec ?? {};
  const ports: number[] = [];
  if (wantsNodePorts(spec))
    for (const p of spec.ports ?? []) if (typeof p?.nodePort === 'number') ports.push(p.nodePort);
  if (needsHealthCheckPort(spec) && typeof spec.healthCheckNodePort === 'number') ports.push(spec.healthCheckNodePort);
  return { ips: spec.type === 'ExternalName' ? [] : realIPs(spec), ports };
}

function portsCell(spec: Json): string {
  const ports: Json[] = spec?.ports ?? [];
  if (!ports.length) return '<none>';
  return ports
    .map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? 'TCP'}` : `${p.port}/${p.protocol ?? 'TCP'}`))
    .join(',');
}

function externalIPCell(o: KObject): string {
  const spec = o.spec ?? {};
  const ext: string[] = spec.externalIPs ?? [];
  switch (spec.type) {
    case 'ExternalName':
      return spec.externalName ?? '<none>';
    case 'LoadBalancer': {
      const ing: string[] = ((o.status?.loadBalancer?.ingress ?? []) as Json[])
        .map((i) => i.ip || i.hostname)
        .filter(Boolean);
      const all = [...ing, ...ext];
      return all.length ? all.join(',') : '<pending>';
    }
    default:
      return ext.length ? ext.join(',') : '<none>';
  }
}

export const services: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Service',
  plural: 'services',
  singular: 'service',
  shortNames: ['svc'],
  categories: ['all'],
  namespaced: true,
  typeName: T.Service,
  statusSubresource: true,
  resetStatusOnCreate: true,
  fields: (o) => ({ 'spec.clusterIP': o.spec?.clusterIP ?? '', 'spec.type': o.spec?.type ?? '' }),
  // Kubernetes' dropTypeDependentFields: a type change clears the values the old type needed, unless the
  // client changed them itself.
  normalizeCreate(o) {
    if (o.spec) normalizeClusterIPsOnCreate(o.spec);
  },
  normalizeUpdate(o, old) {
    const spec = o.spec ?? {};
    const prev = old.spec ?? {};
    normalizeClusterIPsOnUpdate(spec, prev);
    const type = spec.type ?? 'ClusterIP';
    // also without a type change: a ClusterIP Service whose external IPs are removed
    if (!externallyAccessible({ ...spec, type }) && spec.externalTrafficPolicy === prev.externalTrafficPolicy)
      delete spec.externalTrafficPolicy;
    if (type === prev.type) return;
    if (!wantsNodePorts({ ...spec, type })) {
      for (const p of spec.ports ?? []) {
        const was = (prev.ports ?? []).find((q: Json) => portKey(q) === portKey(p))?.nodePort;
        if (p && typeof p === 'object' && p.nodePort === was) delete p.nodePort;
      }
    }
    if (!needsHealthCheckPort({ ...spec, type }) && spec.healthCheckNodePort === prev.healthCheckNodePort)
      delete spec.healthCheckNodePort;
    if (type === 'ExternalName' && spec.clusterIP === prev.clusterIP) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
  },
  defaults(o) {
    const spec = (o.spec ??= {});
    spec.type ??= 'ClusterIP';
    spec.sessionAffinity ??= 'None';
    // ipFamilyPolicy and ipFamilies are defaulted with the cluster's families when ClusterIPs are assigned.
    if (spec.type !== 'ExternalName') spec.internalTrafficPolicy ??= 'Cluster';
    if (externallyAccessible(spec)) spec.externalTrafficPolicy ??= 'Cluster';
    if (spec.type === 'LoadBalancer') spec.allocateLoadBalancerNodePorts ??= true;
    if (spec.sessionAffinity === 'ClientIP') spec.sessionAffinityConfig ??= { clientIP: { timeoutSeconds: 10800 } };
    for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
      if (!p || typeof p !== 'object') continue;
      p.protocol ??= 'TCP';
      if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
    }
    o.status ??= { loadBalancer: {} };
  },
  validate(o, errs, old) {
    const spec = o.spec ?? {};
    if (!TYPES.includes(spec.type)) errs.notSupported('spec.type', spec.type, TYPES);
    if (spec.sessionAffinity !== undefined && !['ClientIP', 'None'].includes(spec.sessionAffinity))
      errs.notSupported('spec.sessionAffinity', spec.sessionAffinity, ['ClientIP', 'None']);
    for (const f of ['externalTrafficPolicy', 'internalTrafficPolicy']) {
      if (spec[f] !== undefined && !['Cluster', 'Local'].includes(spec[f]))
        errs.notSupported(`spec.${f}`, spec[f], ['Cluster', 'Local']);
    }
    // validateServiceExternalTrafficPolicy
    if (!externallyAccessible(spec)) {
      if (spec.externalTrafficPolicy !== undefined)
        errs.invalid(
          'spec.externalTrafficPolicy',
          spec.externalTrafficPolicy,
          'may only be set for externally-accessible services',
        );
    } else if (spec.externalTrafficPolicy === undefined) {
      errs.required('spec.externalTrafficPolicy');
    }
    const ports: Json[] = Array.isArray(spec.ports) ? spec.ports : [];
    if (spec.type === 'ExternalName') {
      if (!spec.externalName) errs.required('spec.externalName');
      if (spec.clusterIP && spec.clusterIP !== '')
        errs.forbidden('spec.clusterIP', 'may not be set for ExternalName services');
    } else if (spec.clusterIP !== 'None' && ports.length === 0) {
      errs.required('spec.ports');
    }
    if (spec.clusterIP === 'None' && (spec.type === 'NodePort' || spec.type === 'LoadBalancer')) {
      errs.invalid('spec.clusterIP', spec.clusterIP, "may not be set to 'None' for LoadBalancer or NodePort services");
    }
    if (
      spec.clusterIP !== undefined &&
      spec.clusterIP !== '' &&
      spec.clusterIP !== 'None' &&
      !isIp(String(spec.clusterIP))
    ) {
      errs.invalid('spec.clusterIP', spec.clusterIP, "must be empty, 'None', or a valid IP address");
    }
    const names = new Set<string>();
    const seen = new Set<string>();
    ports.forEach((p, i) => {
      const path = `spec.ports[${i}]`;
      if (!p || typeof p !== 'object') return errs.invalid(path, p, 'must be an object');
      if (ports.length > 1 && !p.name) errs.required(`${path}.name`);
      if (p.name) {
        const e = dns1123Label(p.name);
        if (e) errs.invalid(`${path}.name`, p.name, e);
        if (names.has(p.name)) errs.duplicate(`${path}.name`, p.name);
        names.add(p.name);
      }
      validatePort(errs, `${path}.port`, p.port);
      validateProtocol(errs, `${path}.protocol`, p.protocol);
      if (seen.has(portKey(p))) errs.duplicate(path, { port: p.port, protocol: p.protocol });
      seen.add(portKey(p));
      if (typeof p.targetPort === 'number') validatePort(errs, `${path}.targetPort`, p.targetPort);
      else if (typeof p.targetPort === 'string') {
        const e = ianaSvcName(p.targetPort);
        if (e) errs.invalid(`${path}.targetPort`, p.targetPort, e);
      }
      if (p.nodePort !== undefined && p.nodePort !== 0) {
        if (spec.type !== 'NodePort' && spec.type !== 'LoadBalancer')
          errs.forbidden(`${path}.nodePort`, `may not be used when \`type\` is '${spec.type}'`);
        else validatePort(errs, `${path}.nodePort`, p.nodePort);
      }
    });
    validateLabels(errs, 'spec.selector', spec.selector);
    for (const [i, ip] of ((spec.externalIPs ?? []) as unknown[]).entries()) {
      if (typeof ip !== 'string' || !isIp(ip)) errs.invalid(`spec.externalIPs[${i}]`, ip, 'must be a valid IP address');
    }
    if (old) {
      const oldIP = old.spec?.clusterIP;
      const newIP = spec.clusterIP;
      if (oldIP && newIP && oldIP !== newIP && old.spec?.type !== 'ExternalName' && spec.type !== 'ExternalName') {
        errs.invalid('spec.clusterIP', newIP, 'field is immutable');
      }
    }
    validateIpFamilyFields(spec, errs, old?.spec);
  },
  prepareCreate(o, ctx) {
    const spec = o.spec;
    if (spec.type !== 'ExternalName') assignClusterIPs(o, ctx);
    else {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (wantsNodePorts(spec)) allocateNodePorts(o, ctx);
    if (needsHealthCheckPort(spec)) allocateHealthCheck(o, ctx);
  },
  prepareUpdate(o, old, ctx) {
    const spec = o.spec;
    const before = serviceAllocations(old);
    if (spec.type !== 'ExternalName') assignClusterIPs(o, ctx, old);
    else {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (wantsNodePorts(spec)) allocateNodePorts(o, ctx, old);
    else for (const p of spec.ports ?? []) if (p && typeof p === 'object') delete p.nodePort;
    if (needsHealthCheckPort(spec)) allocateHealthCheck(o, ctx, old);
    else delete spec.healthCheckNodePort;
    const after = serviceAllocations(o);
    ctx.onCommit(() => {
      for (const ip of before.ips) if (!after.ips.includes(ip)) ctx.alloc.releaseIP(ip);
      for (const p of before.ports) if (!after.ports.includes(p)) ctx.alloc.releasePort(p);
    });
  },
  afterDelete(o, ctx) {
    const a = serviceAllocations(o);
    for (const ip of a.ips) ctx.alloc.releaseIP(ip);
    for (const p of a.ports) ctx.alloc.releasePort(p);
  },
  table: {
    columns: [
      nameColumn,
      { name: 'Type', type: 'string', description: 'type determines how the Service is exposed.', priority: 0 },
      {
        name: 'Cluster-IP',
        type: 'string',
        description: 'clusterIP is the IP address of the service and is usually assigned randomly.',
        priority: 0,
      },
      {
        name: 'External-IP',
        type: 'string',
        description:
          'externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.',
        priority: 0,
      },
      {
        name: 'Port(s)',
        type: 'string',
        description: 'The list of ports that are exposed by this service.',
        priority: 0,
      },
      ageColumn,
      {
        name: 'Selector',
        type: 'string',
        description: 'Route service traffic to pods with label keys and values matching this selector.',
        priority: 1,
      },
    ],
    cells(o, now) {
      const sel = Object.entries((o.spec?.selector ?? {}) as Record<string, string>)
        .map(([k, v]) => `${k}=${v}`)
        .join(',');
      return [
        o.metadata.name,
        o.spec?.type ?? 'ClusterIP',
        o.spec?.clusterIP || '<none>',
        externalIPCell(o),
        portsCell(o.spec),
        humanAge(o.metadata.creationTimestamp, now),
        sel || '<none>',
      ];
    },
  },
};
