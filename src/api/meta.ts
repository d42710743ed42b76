/**
 * meta.k8s.io/v1: ObjectMeta, LabelSelector, Status, DeleteOptions and the loose TypeScript shapes the
 * server code works with. Field-level structure lives in the schema table (schema.ts); zod guards the few
 * request bodies whose exact shape the server relies on (DeleteOptions, Binding target, Scale).
 */
import { z } from 'zod';
import { bool, defineType, int, keyedList, list, ref, str, strList, strMap, time, anyObj } from './schema.js';

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
export const T_OBJECT_META = `${META}.ObjectMeta`;
export const T_LIST_META = `${META}.ListMeta`;
export const T_LABEL_SELECTOR = `${META}.LabelSelector`;
const T_OWNER_REF = `${META}.OwnerReference`;
export const T_CONDITION = `${META}.Condition`;

defineType({
  name: T_OWNER_REF,
  desc: 'OwnerReference contains enough information to let you identify an owning object.',
  props: {
    apiVersion: str('API version of the referent.'),
    kind: str('Kind of the referent.'),
    name: str('Name of the referent.'),
    uid: str('UID of the referent.'),
    controller: bool('If true, this reference points to the managing controller.'),
    blockOwnerDeletion: bool(
      'If true, the owner cannot be deleted from the key-value store until this reference is removed.',
    ),
  },
  required: ['apiVersion', 'kind', 'name', 'uid'],
});

defineType({
  name: T_OBJECT_META,
  desc: 'ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.',
  props: {
    name: str('Name must be unique within a namespace. Cannot be updated.'),
    generateName: str('An optional prefix used by the server to generate a unique name if name is not provided.'),
    namespace: str('Namespace defines the space within which each name must be unique. Cannot be updated.'),
    selfLink: str('Deprecated: selfLink is a legacy read-only field that is no longer populated.'),
    uid: str('UID is the unique in time and space value for this object. Populated by the system. Read-only.'),
    resourceVersion: str(
      'An opaque value that represents the internal version of this object, used for optimistic concurrency.',
    ),
    generation: int(
      'A sequence number representing a specific generation of the desired state. Populated by the system.',
      'int64',
    ),
    creationTimestamp: time('Time when this object was created. Populated by the system. Read-only.'),
    deletionTimestamp: time(
      'Time at which this resource will be deleted, set by the server when a graceful deletion is requested.',
    ),
    deletionGracePeriodSeconds: int(
      'Number of seconds allowed for this object to gracefully terminate before it is removed.',
      'int64',
    ),
    labels: strMap('Map of string keys and values that can be used to organize and categorize objects.'),
    annotations: strMap('Annotations is an unstructured key value map stored with a resource.'),
    ownerReferences: keyedList(ref(T_OWNER_REF), 'uid', 'List of objects depended by this object.'),
    finalizers: list(str(), 'Must be empty before the object is deleted from the registry.', {
      strategy: 'merge',
      listType: 'set',
    }),
    managedFields: list(anyObj(), 'Field ownership: which manager owns which fields (server-side apply).', {
      listType: 'atomic',
    }),
  },
});

defineType({
  name: T_LIST_META,
  desc: 'ListMeta describes metadata that synthetic resources must have, including lists.',
  props: {
    resourceVersion: str("Identifies the server's internal version of this list."),
    continue: str('Set if the user set a limit on the number of items returned, and more items remain.'),
    remainingItemCount: int('Number of subsequent items in the list not included in this response.', 'int64'),
    selfLink: str('Deprecated.'),
  },
});

defineType({
  name: `${META}.LabelSelectorRequirement`,
  desc: 'A label selector requirement is a selector that contains values, a key, and an operator.',
  props: {
    key: str('The label key that the selector applies to.'),
    operator: str("Represents a key's relationship to a set of values: In, NotIn, Exists and DoesNotExist."),
    values: strList('An array of string values.'),
  },
  required: ['key', 'operator'],
});

defineType({
  name: T_LABEL_SELECTOR,
  desc: 'A label selector is a label query over a set of resources. An empty label selector matches all objects.',
  mapType: 'atomic',
  props: {
    matchLabels: strMap('matchLabels is a map of {key,value} pairs.'),
    matchExpressions: list(
      ref(`${META}.LabelSelectorRequirement`),
      'matchExpressions is a list of label selector requirements. The requirements are ANDed.',
      { listType: 'atomic' },
    ),
  },
});

defineType({
  name: T_CONDITION,
  desc: 'Condition contains details for one aspect of the current state of this API Resource.',
  props: {
    type: str('Type of condition.'),
    status: str('Status of the condition, one of True, False, Unknown.'),
    observedGeneration: int('The .metadata.generation that the condition was set based upon.', 'int64'),
    lastTransitionTime: time('Last time the condition transitioned from one status to another.'),
    reason: str("A programmatic identifier indicating the reason for the condition's last transition."),
    message: str('A human readable message indicating details about the transition.'),
  },
});

// ---- TypeScript shapes (loose: objects are JSON; only what the server reads is typed) ----

interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
  [k: string]: unknown;
}

/** Any served object. spec/status are left as JSON: each ResourceDef knows its own. */
export interface KObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  spec?: any;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  status?: any;
  [k: string]: unknown;
}

interface LabelSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}
export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: LabelSelectorRequirement[];
}

export interface StatusCause {
  reason?: string;
  message?: string;
  field?: string;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  code: number;
}

// ---- zod: request bodies the server acts on ----

export const DeleteOptionsSchema = z
  .object({
    kind: z.string().optional(),
    apiVersion: z.string().optional(),
    gracePeriodSeconds: z.number().int().min(0).nullable().optional(),
    propagationPolicy: z.enum(['Orphan', 'Background', 'Foreground']).nullable().optional(),
    orphanDependents: z.boolean().nullable().optional(),
    preconditions: z
      .object({ uid: z.string().nullable().optional(), resourceVersion: z.string().nullable().optional() })
      .nullable()
      .optional(),
    dryRun: z.array(z.string()).nullable().optional(),
  })
  .passthrough();
export type DeleteOptions = z.infer<typeof DeleteOptionsSchema>;

export const BindingSchema = z
  .object({
    metadata: z.object({ name: z.string().optional(), namespace: z.string().optional() }).passthrough().optional(),
    target: z
      .object({ kind: z.string().optional(), name: z.string().min(1), namespace: z.string().optional() })
      .passthrough(),
  })
  .passthrough();

export const ScaleSchema = z
  .object({
    metadata: z
      .object({ name: z.string().optional(), resourceVersion: z.string().optional() })
      .passthrough()
      .optional(),
    spec: z
      .object({ replicas: z.number().int().min(0).optional() })
      .passthrough()
      .optional(),
  })
  .passthrough();
