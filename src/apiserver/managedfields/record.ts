/** The registry's side of managedFields: which scope a write has, and the entries an Update write stores. */
import type { KObject } from '../../api/meta.js';
import { nowIso } from '../admission.js';
import type { ResourceDef } from '../resources/types.js';
import { decodeManagedFields, encodeManagedFields, recordUpdate, type Scope, type Writer } from './managers.js';
import { typeRef } from './typed.js';

const apiVersionOf = (def: ResourceDef) => (def.group ? `${def.group}/${def.version}` : def.version);

export function scopeFor(def: ResourceDef, subresource: string | undefined): Scope {
  return {
    schema: typeRef(def.typeName),
    resetStatus: Boolean(def.statusSubresource) && subresource !== 'status',
    statusOnly: subresource === 'status',
  };
}

export function writerFor(def: ResourceDef, fieldManager: string | undefined, subresource: string | undefined): Writer {
  return {
    manager: fieldManager ?? 'kube-apiserver',
    apiVersion: apiVersionOf(def),
    subresource: subresource === 'status' || subresource === 'scale' ? subresource : undefined,
  };
}

/**
 * Set `next.metadata.managedFields` for an Update-operation write from `old` (undefined on create). The client
 * may send entries (they replace the stored ones), none (the stored ones are kept), or one empty entry (they are
 * stripped, kube's way to reset them).
 */
export function stampUpdate(
  def: ResourceDef,
  old: KObject | undefined,
  next: KObject,
  sent: unknown,
  fieldManager: string | undefined,
  subresource: string | undefined,
): void {
  const fromClient = decodeManagedFields(sent);
  if (fromClient === 'reset') {
    delete next.metadata.managedFields;
    return;
  }
  const stored = decodeManagedFields(old?.metadata.managedFields);
  const base = fromClient ?? (stored === 'reset' ? undefined : stored) ?? [];
  const managers = recordUpdate(
    scopeFor(def, subresource),
    old,
    next,
    base,
    writerFor(def, fieldManager, subresource),
    nowIso(),
  );
  const entries = encodeManagedFields(managers);
  if (entries.length) next.metadata.managedFields = entries;
  else delete next.metadata.managedFields;
}
