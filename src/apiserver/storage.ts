/**
 * Objects over a StoreBackend: key layout, JSON encoding, and resourceVersion = the backend revision at
 * which the object was last written (so every write bumps it and a watch can resume from it).
 * Keys: /registry/<group|core>/<plural>/[<namespace>/]<name>.
 */
import type { KObject } from '../api/meta.js';
import type { KV, ListResult, StoreBackend } from '../store/types.js';
import type { ResourceDef } from './resources/types.js';
import { apiVersionOf } from './resources/types.js';

export function resourcePrefix(def: ResourceDef, namespace?: string): string {
  const base = `/registry/${def.group || 'core'}/${def.plural}/`;
  return def.namespaced && namespace ? `${base}${namespace}/` : base;
}

function objectKey(def: ResourceDef, namespace: string | undefined, name: string): string {
  return `${resourcePrefix(def, def.namespaced ? namespace : undefined)}${name}`;
}

export function decode(def: ResourceDef, kv: KV): KObject {
  const obj = JSON.parse(kv.value) as KObject;
  obj.apiVersion = apiVersionOf(def);
  obj.kind = def.kind;
  obj.metadata.resourceVersion = String(kv.modRevision);
  return obj;
}

/** The stored form: no resourceVersion (it is the key's revision), stable field order. */
function encode(def: ResourceDef, obj: KObject): string {
  const { resourceVersion: _rv, ...meta } = obj.metadata;
  return JSON.stringify({ ...obj, apiVersion: apiVersionOf(def), kind: def.kind, metadata: meta });
}

export class ObjectStore {
  constructor(readonly backend: StoreBackend) {}

  async get(
    def: ResourceDef,
    namespace: string | undefined,
    name: string,
  ): Promise<{ obj: KObject; kv: KV } | undefined> {
    const kv = await this.backend.get(objectKey(def, namespace, name));
    return kv ? { obj: decode(def, kv), kv } : undefined;
  }

  list(
    def: ResourceDef,
    namespace: string | undefined,
    opts: { limit?: number; continue?: string },
  ): Promise<ListResult> {
    return this.backend.list(resourcePrefix(def, namespace), opts);
  }

  async create(def: ResourceDef, obj: KObject): Promise<KObject> {
    const kv = await this.backend.create(objectKey(def, obj.metadata.namespace, obj.metadata.name!), encode(def, obj));
    return decode(def, kv);
  }

  async update(def: ResourceDef, obj: KObject, expectedRevision: number): Promise<KObject> {
    const kv = await this.backend.update(
      objectKey(def, obj.metadata.namespace, obj.metadata.name!),
      encode(def, obj),
      expectedRevision,
    );
    return decode(def, kv);
  }

  /** Returns the deleted object with resourceVersion = the delete's revision (as Kubernetes reports it). */
  async delete(def: ResourceDef, obj: KObject, expectedRevision?: number): Promise<KObject> {
    const r = await this.backend.delete(objectKey(def, obj.metadata.namespace, obj.metadata.name!), expectedRevision);
    const deleted = decode(def, r.prev);
    deleted.metadata.resourceVersion = String(r.revision);
    return deleted;
  }
}
