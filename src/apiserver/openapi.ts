/**
 * OpenAPI v3 documents generated from the schema table: /openapi/v3 (the index with one URL per
 * group-version) and /openapi/v3/<api/v1|apis/G/V>. kubectl 1.32 reads these for `explain` and to learn
 * that PATCH supports `fieldValidation` (then it validates server-side instead of downloading OpenAPI v2,
 * which client-go only accepts as protobuf).
 */
import { createHash } from 'node:crypto';
import { getType, type ObjectType, type Schema } from '../api/schema.js';
import { groups } from './discovery.js';
import { resources } from './resources/index.js';
import type { ResourceDef } from './resources/types.js';

type Doc = Record<string, unknown>;
const REF = '#/components/schemas/';
const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const STATUS = 'io.k8s.apimachinery.pkg.apis.meta.v1.Status';
const DELETE_OPTIONS = 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions';

function schemaOf(s: Schema, used: Set<string>): Doc {
  const d = s.desc ? { description: s.desc } : {};
  switch (s.t) {
    case 'string':
      return {
        ...d,
        ...(s.default !== undefined ? { default: s.default } : {}),
        type: 'string',
        ...(s.format ? { format: s.format } : {}),
        ...(s.enum ? { enum: s.enum } : {}),
      };
    case 'integer':
      return { ...d, type: 'integer', format: s.format ?? 'int32' };
    case 'number':
      return { ...d, type: 'number', format: 'double' };
    case 'boolean':
      return { ...d, type: 'boolean' };
    case 'intOrString':
      used.add(INT_OR_STRING);
      return { ...d, allOf: [{ $ref: REF + INT_OR_STRING }] };
    case 'quantity':
      used.add(QUANTITY);
      return { ...d, allOf: [{ $ref: REF + QUANTITY }] };
    case 'any':
      return { ...d, type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
    case 'map':
      return {
        ...d,
        type: 'object',
        additionalProperties: schemaOf(s.values, used),
        ...(s.mapType ? { 'x-kubernetes-map-type': s.mapType } : {}),
      };
    case 'ref':
      collect(s.ref, used);
      return { ...d, default: {}, allOf: [{ $ref: REF + s.ref }] };
    case 'array': {
      const out: Doc = { ...d, type: 'array', items: schemaOf(s.items, used) };
      if (s.mergeKey) out['x-kubernetes-patch-merge-key'] = s.mergeKey;
      if (s.strategy) out['x-kubernetes-patch-strategy'] = s.strategy;
      if (s.listType) out['x-kubernetes-list-type'] = s.listType;
      if (s.listMapKeys) out['x-kubernetes-list-map-keys'] = s.listMapKeys;
      return out;
    }
  }
}

function collect(name: string, used: Set<string>): void {
  if (used.has(name)) return;
  used.add(name);
  const t = getType(name);
  for (const p of Object.values(t.props)) schemaOf(p, used);
}

function objectSchema(t: ObjectType, used: Set<string>): Doc {
  const props: Doc = {};
  for (const [k, v] of Object.entries(t.props)) props[k] = schemaOf(v, used);
  const out: Doc = { description: t.desc, type: 'object', properties: props };
  if (t.required?.length) out.required = t.required;
  if (t.gvk) out['x-kubernetes-group-version-kind'] = t.gvk;
  if (t.open) out['x-kubernetes-preserve-unknown-fields'] = true;
  if (t.mapType) out['x-kubernetes-map-type'] = t.mapType;
  return out;
}

const gvkOf = (r: ResourceDef) => ({ group: r.group, version: r.version, kind: r.kind });

const qp = (name: string, description: string, type = 'string') => ({
  name,
  in: 'query',
  description,
  schema: { type, uniqueItems: true },
});
const pathParam = (name: string, description: string) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: { type: 'string', uniqueItems: true },
});

const writeParams = [
  qp('dryRun', 'When present, indicates that modifications should not be persisted.'),
  qp('fieldManager', 'fieldManager is a name associated with the actor or entity that is making these changes.'),
  qp(
    'fieldValidation',
    'fieldValidation instructs the server on how to handle objects in the request containing ' +
      'unknown or duplicate fields. Valid values are: Ignore, Warn (default), Strict.',
  ),
];
const listParams = [
  qp('labelSelector', 'A selector to restrict the list of returned objects by their labels.'),
  qp('fieldSelector', 'A selector to restrict the list of returned objects by their fields.'),
  qp('limit', 'limit is a maximum number of responses to return for a list call.', 'integer'),
  qp('continue', 'The continue option should be set when retrieving more results from the server.'),
  qp('resourceVersion', 'resourceVersion sets a constraint on what resource versions a request may be served from.'),
  qp(
    'watch',
    'Watch for changes to the described resources and return them as a stream of add, update, and remove notifications.',
    'boolean',
  ),
  qp('allowWatchBookmarks', 'allowWatchBookmarks requests watch events with type "BOOKMARK".', 'boolean'),
  qp('timeoutSeconds', 'Timeout for the list/watch call.', 'integer'),
];

const PATCH_TYPES = [
  'application/apply-patch+yaml',
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
];

function json(ref: string): Doc {
  return { 'application/json': { schema: { $ref: REF + ref } }, 'application/yaml': { schema: { $ref: REF + ref } } };
}

function operations(r: ResourceDef, kind: string, typeName: string, sub: string, extra: { gvk?: Doc } = {}): Doc {
  const gvk = extra.gvk ?? gvkOf(r);
  const id = `${r.kind}${sub ? sub[0]!.toUpperCase() + sub.slice(1) : ''}`;
  const common = { 'x-kubernetes-group-version-kind': gvk };
  const ok = { '200': { description: 'OK', content: json(typeName) }, '401': { description: 'Unauthorized' } };
  return {
    get: {
      description: `read the specified ${kind}`,
      operationId: `read${id}`,
      responses: ok,
      'x-kubernetes-action': 'get',
      ...common,
    },
    put: {
      description: `replace the specified ${kind}`,
      operationId: `replace${id}`,
      parameters: writeParams,
      requestBody: { required: true, content: json(typeName) },
      responses: { ...ok, '201': { description: 'Created', content: json(typeName) } },
      'x-kubernetes-action': 'put',
      ...common,
    },
    patch: {
      description: `partially update the specified ${kind}`,
      operationId: `patch${id}`,
      parameters: [...writeParams, qp('force', 'Force is going to "force" Apply requests.', 'boolean')],
      requestBody: {
        required: true,
        content: Object.fromEntries(PATCH_TYPES.map((t) => [t, { schema: { type: 'object' } }])),
      },
      responses: ok,
      'x-kubernetes-action': 'patch',
      ...common,
    },
  };
}

function pathsFor(r: ResourceDef, used: Set<string>): Doc {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const coll = r.namespaced ? `${base}/namespaces/{namespace}/${r.plural}` : `${base}/${r.plural}`;
  const item = `${coll}/{name}`;
  const nsParam = r.namespaced
    ? [pathParam('namespace', 'object name and auth scope, such as for teams and projects')]
    : [];
  const nameParam = [pathParam('name', `name of the ${r.kind}`)];
  const listType = `${r.typeName}List`;
  collect(r.typeName, used);
  collect(listType, used);
  used.add(STATUS);
  used.add(DELETE_OPTIONS);
  const gvk = gvkOf(r);
  const paths: Doc = {
    [coll]: {
      parameters: nsParam,
      get: {
        description: `list or watch objects of kind ${r.kind}`,
        operationId: `list${r.kind}`,
        parameters: listParams,
        responses: { '200': { description: 'OK', content: json(listType) } },
        'x-kubernetes-action': 'list',
        'x-kubernetes-group-version-kind': gvk,
      },
      post: {
        description: `create a ${r.kind}`,
        operationId: `create${r.kind}`,
        parameters: writeParams,
        requestBody: { required: true, content: json(r.typeName) },
        responses: {
          '200': { description: 'OK', content: json(r.typeName) },
          '201': { description: 'Created', content: json(r.typeName) },
        },
        'x-kubernetes-action': 'post',
        'x-kubernetes-group-version-kind': gvk,
      },
      delete: {
        description: `delete collection of ${r.kind}`,
        operationId: `deleteCollection${r.kind}`,
        parameters: listParams,
        responses: { '200': { description: 'OK', content: json(STATUS) } },
        'x-kubernetes-action': 'deletecollection',
        'x-kubernetes-group-version-kind': gvk,
      },
    },
    [item]: {
      parameters: [...nameParam, ...nsParam],
      ...operations(r, r.kind, r.typeName, ''),
      delete: {
        description: `delete a ${r.kind}`,
        operationId: `delete${r.kind}`,
        requestBody: { content: json(DELETE_OPTIONS) },
        parameters: [
          qp('dryRun', 'When present, indicates that modifications should not be persisted.'),
          qp('gracePeriodSeconds', 'The duration in seconds before the object should be deleted.', 'integer'),
          qp('propagationPolicy', 'Whether and how garbage collection will be performed.'),
        ],
        responses: { '200': { description: 'OK', content: json(r.typeName) } },
        'x-kubernetes-action': 'delete',
        'x-kubernetes-group-version-kind': gvk,
      },
    },
  };
  // kube-apiserver also lists a namespaced kind across all namespaces (/api/v1/pods); kubectl 1.27's
  // explain finds a kind's schema only through that cluster-wide path.
  if (r.namespaced)
    paths[`${base}/${r.plural}`] = {
      get: {
        description: `list or watch objects of kind ${r.kind}`,
        operationId: `list${r.kind}ForAllNamespaces`,
        parameters: listParams,
        responses: { '200': { description: 'OK', content: json(listType) } },
        'x-kubernetes-action': 'list',
        'x-kubernetes-group-version-kind': gvk,
      },
    };
  if (r.statusSubresource)
    paths[`${item}/status`] = {
      parameters: [...nameParam, ...nsParam],
      ...operations(r, r.kind, r.typeName, 'status'),
    };
  if (r.scale) {
    collect('io.k8s.api.autoscaling.v1.Scale', used);
    paths[`${item}/scale`] = {
      parameters: [...nameParam, ...nsParam],
      ...operations(r, 'Scale', 'io.k8s.api.autoscaling.v1.Scale', 'scale', {
        gvk: { group: 'autoscaling', version: 'v1', kind: 'Scale' },
      }),
    };
  }
  return paths;
}

const builtins: Record<string, Doc> = {
  [INT_OR_STRING]: {
    description: 'IntOrString is a type that can hold an int32 or a string.',
    type: 'string',
    format: 'int-or-string',
  },
  [QUANTITY]: {
    description: 'Quantity is a fixed-point representation of a number, such as "100m" or "1Gi".',
    type: 'string',
  },
  [STATUS]: {
    description: "Status is a return value for calls that don't return other objects.",
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      code: { type: 'integer', format: 'int32' },
      message: { type: 'string' },
      reason: { type: 'string' },
      status: { type: 'string' },
      details: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
      metadata: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    },
    'x-kubernetes-group-version-kind': [{ group: '', version: 'v1', kind: 'Status' }],
  },
  [DELETE_OPTIONS]: {
    description: 'DeleteOptions may be provided when deleting an API object.',
    type: 'object',
    properties: {
      apiVersion: { type: 'string' },
      kind: { type: 'string' },
      gracePeriodSeconds: { type: 'integer', format: 'int64' },
      propagationPolicy: { type: 'string' },
      orphanDependents: { type: 'boolean' },
      dryRun: { type: 'array', items: { type: 'string' } },
      preconditions: { type: 'object', properties: { uid: { type: 'string' }, resourceVersion: { type: 'string' } } },
    },
  },
};

export function groupVersionDoc(group: string, version: string): Doc | undefined {
  const defs = resources.filter((r) => r.group === group && r.version === version);
  if (!defs.length) return undefined;
  const used = new Set<string>();
  let paths: Doc = {};
  for (const r of defs) paths = { ...paths, ...pathsFor(r, used) };
  const schemas: Doc = {};
  for (const name of [...used].sort()) schemas[name] = builtins[name] ?? objectSchema(getType(name), new Set(used));
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: 'v1.32.0' }, paths, components: { schemas } };
}

/** Both the index and each document, computed once (the schema table is static). */
export class OpenApiV3 {
  private readonly docs = new Map<string, { body: string; hash: string }>();

  constructor() {
    const gvs = [{ group: '', version: 'v1' }, ...groups()];
    for (const gv of gvs) {
      const doc = groupVersionDoc(gv.group, gv.version);
      if (!doc) continue;
      const body = JSON.stringify(doc);
      const key = gv.group ? `apis/${gv.group}/${gv.version}` : `api/${gv.version}`;
      this.docs.set(key, { body, hash: createHash('sha512').update(body).digest('hex').toUpperCase().slice(0, 128) });
    }
  }

  index(): Doc {
    const paths: Doc = {};
    for (const [k, v] of this.docs) paths[k] = { serverRelativeURL: `/openapi/v3/${k}?hash=${v.hash}` };
    return { paths };
  }

  doc(path: string): { body: string; hash: string } | undefined {
    return this.docs.get(path);
  }
}
