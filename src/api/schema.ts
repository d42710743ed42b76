/**
 * A small, hand-kept schema table for the Kubernetes kinds skiff serves. One description of each type feeds
 * three consumers, so they can never disagree:
 *  - request decoding (unknown-field detection for fieldValidation, type checks with Kubernetes-style paths),
 *  - the strategic merge patch (merge keys and patch strategies per list),
 *  - the OpenAPI v3 documents kubectl reads for `explain` and `apply`.
 * Type names follow Kubernetes' OpenAPI definition names (io.k8s.api.core.v1.ServiceSpec ...).
 */

export type Schema =
  /** default: the value the server defaults it to, when it is a key of an associative list (protocol: TCP) */
  | { t: 'string'; desc?: string; enum?: string[]; format?: string; default?: string }
  | { t: 'integer'; desc?: string; format?: 'int32' | 'int64' }
  | { t: 'number'; desc?: string }
  | { t: 'boolean'; desc?: string }
  /** an int or a string (targetPort, maxSurge) */
  | { t: 'intOrString'; desc?: string }
  /** a resource quantity: "100m", "1Gi" or a bare number */
  | { t: 'quantity'; desc?: string }
  /** a free-form object whose inside is not checked (probes, affinity, ...) */
  | { t: 'any'; desc?: string }
  | {
      t: 'array';
      items: Schema;
      desc?: string;
      mergeKey?: string;
      strategy?: string;
      listType?: 'atomic' | 'map' | 'set';
      listMapKeys?: string[];
    }
  /** mapType atomic: the whole map is one value to merges and field ownership (x-kubernetes-map-type) */
  | { t: 'map'; values: Schema; desc?: string; mapType?: 'atomic' }
  | { t: 'ref'; ref: string; desc?: string };

interface Gvk {
  group: string;
  version: string;
  kind: string;
}

export interface ObjectType {
  name: string;
  desc: string;
  props: Record<string, Schema>;
  required?: string[];
  /** top-level kinds carry their group/version/kind (x-kubernetes-group-version-kind) */
  gvk?: Gvk[];
  /** unknown fields inside are kept and not reported (x-kubernetes-preserve-unknown-fields) */
  open?: boolean;
  /** the whole struct is one value to merges and field ownership (x-kubernetes-map-type: atomic) */
  mapType?: 'atomic';
}

const types = new Map<string, ObjectType>();

export function defineType(t: ObjectType): string {
  types.set(t.name, t);
  return t.name;
}

export function getType(name: string): ObjectType {
  const t = types.get(name);
  if (!t) throw new Error(`schema: unknown type ${name}`);
  return t;
}

// Builders, so the tables in the group files read like Kubernetes' own type docs.
export const str = (desc?: string, extra: { enum?: string[]; format?: string; default?: string } = {}): Schema => ({
  t: 'string',
  desc,
  ...extra,
});
export const int = (desc?: string, format: 'int32' | 'int64' = 'int32'): Schema => ({ t: 'integer', desc, format });
export const bool = (desc?: string): Schema => ({ t: 'boolean', desc });
export const intOrStr = (desc?: string): Schema => ({ t: 'intOrString', desc });
export const quantity = (desc?: string): Schema => ({ t: 'quantity', desc });
export const anyObj = (desc?: string): Schema => ({ t: 'any', desc });
export const time = (desc?: string): Schema => ({ t: 'string', desc, format: 'date-time' });
export const ref = (name: string, desc?: string): Schema => ({ t: 'ref', ref: name, desc });
export const strMap = (desc?: string): Schema => ({ t: 'map', values: { t: 'string' }, desc });
export const mapOf = (values: Schema, desc?: string): Schema => ({ t: 'map', values, desc });
export const strList = (desc?: string): Schema => ({ t: 'array', items: { t: 'string' }, desc, listType: 'atomic' });
export function list(
  items: Schema,
  desc?: string,
  opts: { mergeKey?: string; strategy?: string; listType?: 'atomic' | 'map' | 'set'; listMapKeys?: string[] } = {},
): Schema {
  return { t: 'array', items, desc, ...opts };
}
/** A list merged by key in strategic merge patches (containers by name, ports by port...). */
export function keyedList(items: Schema, key: string, desc?: string, extraKeys: string[] = []): Schema {
  return {
    t: 'array',
    items,
    desc,
    mergeKey: key,
    strategy: 'merge',
    listType: 'map',
    listMapKeys: [key, ...extraKeys],
  };
}
