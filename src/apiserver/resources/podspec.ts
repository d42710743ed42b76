/** Pod spec defaults and validation shared by Pods and the pod templates of Deployments and ReplicaSets. */
import type { FieldErrors } from '../errors.js';
import { refuseUnimplemented } from './unimplemented.js';
import {
  dns1123Label,
  dns1123Subdomain,
  ianaSvcName,
  validateLabels,
  validatePort,
  validateProtocol,
} from '../validation.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function imagePullPolicy(image: unknown): string {
  if (typeof image !== 'string') return 'IfNotPresent';
  const lastPart = image.split('/').pop() ?? '';
  if (image.includes('@')) return 'IfNotPresent';
  const tag = lastPart.includes(':') ? lastPart.split(':').pop() : undefined;
  return !tag || tag === 'latest' ? 'Always' : 'IfNotPresent';
}

function containerDefaults(c: Json): void {
  if (!c || typeof c !== 'object') return;
  c.imagePullPolicy ??= imagePullPolicy(c.image);
  c.terminationMessagePath ??= '/dev/termination-log';
  c.terminationMessagePolicy ??= 'File';
  c.resources ??= {};
  for (const p of Array.isArray(c.ports) ? c.ports : []) if (p && typeof p === 'object') p.protocol ??= 'TCP';
  for (const probe of [c.livenessProbe, c.readinessProbe, c.startupProbe]) {
    if (!probe || typeof probe !== 'object') continue;
    probe.timeoutSeconds ??= 1;
    probe.periodSeconds ??= 10;
    probe.successThreshold ??= 1;
    probe.failureThreshold ??= 3;
    if (probe.httpGet && typeof probe.httpGet === 'object') {
      probe.httpGet.path ??= '/';
      probe.httpGet.scheme ??= 'HTTP';
    }
  }
}

export function podSpecDefaults(spec: Json): void {
  if (!spec || typeof spec !== 'object') return;
  spec.restartPolicy ??= 'Always';
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.securityContext ??= {};
  spec.schedulerName ??= 'default-scheduler';
  spec.enableServiceLinks ??= true;
  for (const c of Array.isArray(spec.containers) ? spec.containers : []) containerDefaults(c);
  for (const c of Array.isArray(spec.initContainers) ? spec.initContainers : []) containerDefaults(c);
}

function validateContainers(
  errs: FieldErrors,
  path: string,
  list: unknown,
  required: boolean,
  names: Set<string>,
): void {
  if (list === undefined || list === null || (Array.isArray(list) && list.length === 0)) {
    if (required) errs.required(path);
    return;
  }
  if (!Array.isArray(list)) return errs.invalid(path, list, 'must be a list');
  list.forEach((c: Json, i: number) => {
    const p = `${path}[${i}]`;
    if (!c || typeof c !== 'object') return errs.invalid(p, c, 'must be an object');
    if (!c.name) errs.required(`${p}.name`);
    else {
      const e = dns1123Label(c.name);
      if (e) errs.invalid(`${p}.name`, c.name, e);
      if (names.has(c.name)) errs.duplicate(`${p}.name`, c.name);
      names.add(c.name);
    }
    if (!c.image || (typeof c.image === 'string' && !c.image.trim())) errs.required(`${p}.image`);
    if (c.imagePullPolicy !== undefined && !['Always', 'IfNotPresent', 'Never'].includes(c.imagePullPolicy))
      errs.notSupported(`${p}.imagePullPolicy`, c.imagePullPolicy, ['Always', 'IfNotPresent', 'Never']);
    const portNames = new Set<string>();
    (Array.isArray(c.ports) ? c.ports : []).forEach((port: Json, j: number) => {
      const pp = `${p}.ports[${j}]`;
      validatePort(errs, `${pp}.containerPort`, port?.containerPort);
      if (port?.hostPort !== undefined && port.hostPort !== 0) validatePort(errs, `${pp}.hostPort`, port.hostPort);
      validateProtocol(errs, `${pp}.protocol`, port?.protocol);
      if (port?.name !== undefined) {
        const e = ianaSvcName(port.name);
        if (e) errs.invalid(`${pp}.name`, port.name, e);
        if (portNames.has(port.name)) errs.duplicate(`${pp}.name`, port.name);
        portNames.add(port.name);
      }
    });
    (Array.isArray(c.env) ? c.env : []).forEach((env: Json, j: number) => {
      if (!env?.name) errs.required(`${p}.env[${j}].name`);
    });
  });
}

export function validatePodSpec(
  errs: FieldErrors,
  path: string,
  spec: Json,
  opts: { requireAlwaysRestart?: boolean } = {},
): void {
  if (!spec || typeof spec !== 'object') return errs.required(path);
  const names = new Set<string>();
  validateContainers(errs, `${path}.containers`, spec.containers, true, names);
  validateContainers(errs, `${path}.initContainers`, spec.initContainers, false, names);
  const rp = spec.restartPolicy;
  if (opts.requireAlwaysRestart) {
    if (rp !== undefined && rp !== 'Always') errs.notSupported(`${path}.restartPolicy`, rp, ['Always']);
  } else if (rp !== undefined && !['Always', 'OnFailure', 'Never'].includes(rp))
    errs.notSupported(`${path}.restartPolicy`, rp, ['Always', 'Never', 'OnFailure']);
  if (
    spec.dnsPolicy !== undefined &&
    !['ClusterFirst', 'ClusterFirstWithHostNet', 'Default', 'None'].includes(spec.dnsPolicy)
  ) {
    errs.notSupported(`${path}.dnsPolicy`, spec.dnsPolicy, [
      'ClusterFirst',
      'ClusterFirstWithHostNet',
      'Default',
      'None',
    ]);
  }
  const tg = spec.terminationGracePeriodSeconds;
  if (tg !== undefined && (typeof tg !== 'number' || tg < 0))
    errs.invalid(`${path}.terminationGracePeriodSeconds`, tg, 'must be greater than or equal to 0');
  if (spec.nodeName !== undefined && spec.nodeName !== '') {
    const e = dns1123Subdomain(String(spec.nodeName));
    if (e) errs.invalid(`${path}.nodeName`, spec.nodeName, e);
  }
  validateLabels(errs, `${path}.nodeSelector`, spec.nodeSelector);
  const volNames = new Set<string>();
  (Array.isArray(spec.volumes) ? spec.volumes : []).forEach((v: Json, i: number) => {
    if (!v?.name) return errs.required(`${path}.volumes[${i}].name`);
    const e = dns1123Label(v.name);
    if (e) errs.invalid(`${path}.volumes[${i}].name`, v.name, e);
    if (volNames.has(v.name)) errs.duplicate(`${path}.volumes[${i}].name`, v.name);
    volNames.add(v.name);
  });
  refuseUnimplemented(errs, path, spec);
}
