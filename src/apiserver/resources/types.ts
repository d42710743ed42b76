/**
 * One ResourceDef per served kind: names for discovery, the schema type, defaults, validation, table
 * columns and the kind's strategy hooks. The generic REST handlers (../rest.ts) do everything else.
 */
import type { KObject } from '../../api/meta.js';
import type { FieldErrors } from '../errors.js';
import type { Allocator } from '../alloc.js';

export interface Column {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description: string;
  /** 0 = always shown; 1 = only with -o wide */
  priority: number;
}

interface TableSpec {
  columns: Column[];
  cells(obj: KObject, now: number): unknown[];
}

interface ScaleSpec {
  /** replicas in spec (default when unset) */
  defaultReplicas: number;
}

export interface StrategyContext {
  alloc: Allocator;
  /** run once the write succeeded (release of what the old object held) */
  onCommit(fn: () => void): void;
  /** run when the write failed (release of what this request allocated) */
  onRollback(fn: () => void): void;
}

/** What a mutating admission step may read (the DefaultIngressClass plugin lists IngressClasses). */
interface AdmissionContext {
  list(def: ResourceDef, ns?: string): Promise<KObject[]>;
}

/**
 * Where a second served version of a kind lives: the object is stored once, in the other version's form and
 * key space (events.k8s.io/v1 Event is stored as core/v1 Event, as kube-apiserver stores one internal form).
 */
interface StorageView {
  group: string;
  version: string;
  kind: string;
  plural: string;
  toStored(obj: KObject): KObject;
  fromStored(obj: KObject): KObject;
}

export interface ResourceDef {
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories?: string[];
  namespaced: boolean;
  /** schema table name of the kind */
  typeName: string;
  /** names are path segments, not DNS subdomains (RBAC: "system:node") */
  nameIsPathSegment?: boolean;
  /** has a /status subresource: the main resource ignores status changes and vice versa */
  statusSubresource: boolean;
  /** clear status on create (most kinds; a Node keeps the status its kubelet registers) */
  resetStatusOnCreate: boolean;
  /** spec-like top-level fields for generation tracking (default: spec) */
  specFields?: string[];
  scale?: ScaleSpec;
  /** stored in another served version's form and key space */
  storage?: StorageView;
  /** removed by the API server a TTL after its last write (Events: --event-ttl, like etcd leases upstream) */
  expires?: boolean;
  /** PUT of a missing object creates it (Endpoints, Lease, like Kubernetes) */
  allowCreateOnUpdate?: boolean;
  /** extra field-selector fields besides metadata.name / metadata.namespace */
  fields?(obj: KObject): Record<string, string>;
  /** before defaults/validation of a create (kube's PrepareForCreate normalisation) */
  normalizeCreate?(obj: KObject): void;
  /** before defaults/validation of an update: drop fields the change makes meaningless */
  normalizeUpdate?(obj: KObject, old: KObject): void;
  /** mutating admission on create, before defaults and validation (may read other objects) */
  admitCreate?(obj: KObject, ctx: AdmissionContext): Promise<void>;
  defaults?(obj: KObject): void;
  validate?(obj: KObject, errs: FieldErrors, old?: KObject): void;
  /** called after defaults + validation, before the write (allocations) */
  prepareCreate?(obj: KObject, ctx: StrategyContext): void;
  prepareUpdate?(obj: KObject, old: KObject, ctx: StrategyContext): void;
  /** after the object left the store */
  afterDelete?(obj: KObject, ctx: StrategyContext): void;
  table: TableSpec;
}

export function apiVersionOf(def: Pick<ResourceDef, 'group' | 'version'>): string {
  return def.group ? `${def.group}/${def.version}` : def.version;
}

/** kubectl's duration.HumanDuration, the AGE column. */
export function humanAge(fromIso: string | undefined, now: number): string {
  if (!fromIso) return '<unknown>';
  const ms = now - Date.parse(fromIso);
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const days = Math.floor(hours / 24);
    return `${Math.floor(days / 365)}y${days % 365}d`;
  }
  return `${Math.floor(hours / 24 / 365)}y`;
}

export const nameColumn: Column = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  priority: 0,
};
export const ageColumn: Column = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
};
