/**
 * Objects over a StoreBackend: key layout, JSON encoding, and resourceVersion = the backend revision at
 * which the object was last written (so every write bumps it and a watch can resume from it).
 * Keys: /registry/<group|core>/<plural>/[<namespace>/]<name>. A kind served in two versions is stored once,
 * in its storage version's form and keys (ResourceDef.storage). Kinds that expire carry their expiry time
 * in the stored form (EXPIRES, never shown to clients); src/apiserver/expiry.ts removes them when due.
 */
import type { KObject } from '../api/meta.js';
import type { KV, ListResult, StoreBackend } from '../store/types.js';
import type { ResourceDef } from './resources/types.js';
import { apiVersionOf } from './resources/types.js';

const EXPIRES = '__expiresAtMs';

export function resourcePrefix(def: ResourceDef, namespace?: string): string {
  const at = def.storage ?? def;
  const base = `/registry/${at.group || 'core'}/${at.plural}/`;
  return def.namespaced && namespace ? `${base}${namespace}/` : base;
}

function objectKey(def: ResourceDef, namespace: string | undefined, name: string): string {
  return `${resourcePrefix(def, def.namespaced ? namespace : undefined)}${name}`;
}

export function decode(def: ResourceDef, kv: KV): KObject {
  const stored = JSON.parse(kv.value) as KObject;
  delete stored[EXPIRES];
  const obj = def.storage ? def.storage.fromStored(stored) : stored;
  obj.apiVersion = apiVersionOf(def);
  obj.kind = def.kind;
  obj.metadata.resourceVersion = String(kv.modRevision);
  return obj;
}

/** When a stored value of an expiring kind is due (ms since the epoch), if it carries an expiry. */
export function expiresAt(kv: KV): number | undefined {
  const v = (JSON.parse(kv.value) as Record<string, unknown>)[EXPIRES];
  return typeof v === 'number' ? v : undefined;
}

export interface ObjectStoreOptions {
  /** lifetime of objects of expiring kinds after each write (kube-apiserver --event-ttl, default 1 h) */
  ttlMs?: number;
}

export class ObjectStore {
  readonly ttlMs: number;

  constructor(
    readonly backend: StoreBackend,
    opts: ObjectStoreOptions = {},
  ) {
    this.ttlMs = opts.ttlMs ?? 3_600_000;
  }

  /** The stored form: no resourceVersion (it is the key's revision), stable field order. */
  private encode(def: ResourceDef, obj: KObject): string {
    const { resourceVersion: _rv, ...meta } = obj.metadata;
    const at = def.storage ?? def;
    const body = def.storage ? def.storage.toStored({ ...obj, metadata: meta }) : { ...obj, metadata: meta };
    const stored: Record<string, unknown> = { ...body, apiVersion: apiVersionOf(at), kind: at.kind, metadata: meta };
    if (def.expires) stored[EXPIRES] = Date.now() + this.ttlMs;
    return JSON.stringify(stored);
  }

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
    const kv = await this.backend.create(
      objectKey(def, obj.metadata.namespace, obj.metadata.name!),
      this.encode(def, obj),
    );
    return decode(def, kv);
  }

  async update(def: ResourceDef, obj: KObject, expectedRevision: number): Promise<KObject> {
    const kv = await this.backend.update(
      objectKey(def, obj.metadata.namespace, obj.metadata.name!),
      this.encode(def, obj),
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
