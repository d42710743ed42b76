/**
 * Request-object handling shared by create/update/patch: decoding against the schema (fieldValidation),
 * metadata rules, generation tracking. Pure apart from the clock.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { KObject } from '../api/meta.js';
import { checkAgainstSchema } from './decode.js';
import { badRequest, FieldErrors, invalid } from './errors.js';
import { deepEqual } from './patch/strategic.js';
import { apiVersionOf, type ResourceDef } from './resources/types.js';
import {
  dns1035Label,
  dns1123Label,
  dns1123Subdomain,
  qualifiedName,
  validateAnnotations,
  validateLabels,
} from './validation.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export function parseFieldValidation(v: unknown): FieldValidation {
  if (v === undefined || v === '') return 'Warn';
  if (v === 'Strict' || v === 'Warn' || v === 'Ignore') return v;
  throw badRequest(`fieldValidation parameter must be one of Strict, Warn, Ignore; got "${String(v)}"`);
}

/** Type-check a request object and apply the fieldValidation directive; returns the cleaned object. */
export function decodeObject(def: ResourceDef, body: unknown, fv: FieldValidation, warnings: string[]): KObject {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest(`the body of the request must be a ${def.kind} object`);
  }
  const b = body as Record<string, unknown>;
  const want = apiVersionOf(def);
  if (b.apiVersion !== undefined && b.apiVersion !== want) {
    throw badRequest(
      `the API version in the data (${String(b.apiVersion)}) does not match the expected API version (${want})`,
    );
  }
  if (b.kind !== undefined && b.kind !== def.kind) {
    throw badRequest(
      `${String(b.kind)} in version "${def.version}" cannot be handled as a ${def.kind}: the ` +
        `kind in the data (${String(b.kind)}) does not match the expected kind (${def.kind})`,
    );
  }
  const { value, issues } = checkAgainstSchema(b, def.typeName);
  if (issues.typeErrors.length) {
    throw badRequest(
      `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: ${issues.typeErrors.join('; ')}`,
    );
  }
  if (issues.unknown.length) {
    const list = issues.unknown.map((f) => `unknown field "${f}"`);
    if (fv === 'Strict')
      throw badRequest(
        `${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: strict decoding error: ${list.join(', ')}`,
      );
    if (fv === 'Warn') warnings.push(...list);
  }
  const obj = value as KObject;
  if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
  return obj;
}

/** apimachinery's path.IsValidPathSegmentName (RBAC names such as "system:node"). */
function pathSegmentName(name: string): string | undefined {
  if (name === '.' || name === '..') return `may not be '${name}'`;
  if (/[/%]/.test(name)) return `may not contain '${name.includes('/') ? '/' : '%'}'`;
  return undefined;
}

function validateName(def: ResourceDef, name: string): string | undefined {
  if (def.kind === 'Namespace') return dns1123Label(name);
  if (def.kind === 'Service') return dns1035Label(name);
  if (def.nameIsPathSegment) return pathSegmentName(name);
  return dns1123Subdomain(name);
}

function validateMeta(def: ResourceDef, obj: KObject, errs: FieldErrors): void {
  const m = obj.metadata;
  if (!m.name)
    errs.causes.push({
      reason: 'FieldValueRequired',
      message: 'Required value: name or generateName is required',
      field: 'metadata.name',
    });
  else {
    const e = validateName(def, m.name);
    if (e) errs.invalid('metadata.name', m.name, e);
  }
  if (def.namespaced && !m.namespace) errs.required('metadata.namespace');
  if (!def.namespaced && m.namespace) errs.forbidden('metadata.namespace', 'not allowed on this type');
  validateLabels(errs, 'metadata.labels', m.labels);
  validateAnnotations(errs, 'metadata.annotations', m.annotations);
  (m.finalizers ?? []).forEach((f, i) => {
    const e = typeof f === 'string' ? qualifiedName(f) : 'must be a string';
    if (e) errs.invalid(`metadata.finalizers[${i}]`, f, e);
  });
  (m.ownerReferences ?? []).forEach((r, i) => {
    for (const f of ['apiVersion', 'kind', 'name', 'uid'] as const)
      if (!r?.[f]) errs.required(`metadata.ownerReferences[${i}].${f}`);
  });
  if ((m.ownerReferences ?? []).filter((r) => r?.controller).length > 1)
    errs.invalid('metadata.ownerReferences', m.ownerReferences, 'Only one reference can have Controller set to true');
}

/** Everything but metadata and status: what a generation counts. */
function specView(obj: KObject): Record<string, unknown> {
  const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = obj;
  return rest;
}

function specChanged(a: KObject, b: KObject): boolean {
  return !deepEqual(specView(a), specView(b));
}

const nowIso = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
export { nowIso };

/** Server-owned metadata on create: uid, timestamps, generation; a generated name when asked. */
export function initMeta(def: ResourceDef, obj: KObject, namespace: string | undefined): void {
  const m = obj.metadata;
  if (def.namespaced) {
    if (m.namespace && namespace && m.namespace !== namespace)
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    m.namespace = namespace ?? m.namespace;
  } else if (m.namespace === '') delete m.namespace;
  if (!m.name && m.generateName) {
    const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
    const bytes = randomBytes(5);
    m.name = m.generateName + [...bytes].map((b) => alphabet[b % alphabet.length]).join('');
  }
  if (m.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
  m.uid = randomUUID();
  m.creationTimestamp = nowIso();
  delete m.deletionTimestamp;
  delete m.deletionGracePeriodSeconds;
  delete m.selfLink;
  if (def.statusSubresource) m.generation = 1;
  else delete m.generation;
  if (def.resetStatusOnCreate) delete obj.status;
}

/** Carry server-owned metadata from the stored object into an update. */
export function carryMeta(def: ResourceDef, obj: KObject, old: KObject): void {
  const m = obj.metadata;
  const o = old.metadata;
  m.uid = o.uid;
  m.creationTimestamp = o.creationTimestamp;
  m.namespace = o.namespace;
  if (o.deletionTimestamp) {
    m.deletionTimestamp = o.deletionTimestamp;
    m.deletionGracePeriodSeconds = o.deletionGracePeriodSeconds;
  } else {
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
  }
  delete m.selfLink;
  if (def.statusSubresource) m.generation = (o.generation ?? 1) + (specChanged(obj, old) ? 1 : 0);
  else delete m.generation;
}

/** A status write changes status only (Kubernetes' ResetObjectMetaForStatus + spec from the old object). */
export function statusOnly(old: KObject, incoming: KObject): KObject {
  const next = structuredClone(old);
  next.status = incoming.status;
  next.metadata.resourceVersion = incoming.metadata.resourceVersion;
  return next;
}

export function runValidation(def: ResourceDef, obj: KObject, old?: KObject): void {
  const errs = new FieldErrors();
  validateMeta(def, obj, errs);
  def.validate?.(obj, errs, old);
  if (!errs.empty) throw invalid(def.kind, def.group, obj.metadata.name ?? '', errs.causes);
}
