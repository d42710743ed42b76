/** apps/v1 Deployment and ReplicaSet (with the scale subresource). */
import type { KObject } from '../../api/meta.js';
import { T as APPS } from '../../api/apps-v1.js';
import type { FieldErrors } from '../errors.js';
import { deepEqual } from '../patch/strategic.js';
import { fromLabelSelector, matchLabels, selectorString, SelectorError } from '../selectors.js';
import { validateLabels } from '../validation.js';
import { podSpecDefaults, validatePodSpec } from './podspec.js';
import { ageColumn, humanAge, nameColumn, type Column, type ResourceDef } from './types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function validateWorkload(o: KObject, errs: FieldErrors, old: KObject | undefined): void {
  const spec = o.spec ?? {};
  if (spec.replicas !== undefined && (typeof spec.replicas !== 'number' || spec.replicas < 0))
    errs.invalid('spec.replicas', spec.replicas, 'must be greater than or equal to 0');
  const sel = spec.selector;
  if (!sel || (!Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length)) {
    errs.required('spec.selector');
  } else {
    validateLabels(errs, 'spec.selector.matchLabels', sel.matchLabels);
    try {
      const reqs = fromLabelSelector(sel);
      const labels = spec.template?.metadata?.labels;
      if (!matchLabels(reqs, labels))
        errs.invalid('spec.template.metadata.labels', labels ?? {}, '`selector` does not match template `labels`');
    } catch (e) {
      if (e instanceof SelectorError) errs.invalid('spec.selector', sel, e.message);
      else throw e;
    }
  }
  validateLabels(errs, 'spec.template.metadata.labels', spec.template?.metadata?.labels);
  validatePodSpec(errs, 'spec.template.spec', spec.template?.spec, { requireAlwaysRestart: true });
  if (old && old.spec?.selector && !deepEqual(old.spec.selector, spec.selector))
    errs.invalid('spec.selector', spec.selector, 'field is immutable');
}

const containersCell = (o: Json) =>
  ((o.spec?.template?.spec?.containers ?? []) as Json[]).map((c) => c?.name).join(',');
const imagesCell = (o: Json) => ((o.spec?.template?.spec?.containers ?? []) as Json[]).map((c) => c?.image).join(',');
const wideColumns: Column[] = [
  { name: 'Containers', type: 'string', description: 'Names of each container in the template.', priority: 1 },
  { name: 'Images', type: 'string', description: 'Images referenced by each container in the template.', priority: 1 },
  { name: 'Selector', type: 'string', description: 'Label selector for pods.', priority: 1 },
];

/** The -o wide cells that go with wideColumns, shared by Deployments and ReplicaSets as in kubectl. */
function wideCells(o: Parameters<typeof containersCell>[0]): unknown[] {
  return [containersCell(o), imagesCell(o), selectorString(o.spec?.selector) || '<none>'];
}

export const deployments: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  singular: 'deployment',
  shortNames: ['deploy'],
  categories: ['all'],
  namespaced: true,
  typeName: APPS.Deployment,
  statusSubresource: true,
  resetStatusOnCreate: true,
  scale: { defaultReplicas: 1 },
  defaults(o) {
    const spec = (o.spec ??= {});
    spec.replicas ??= 1;
    spec.strategy ??= {};
    spec.strategy.type ??= 'RollingUpdate';
    if (spec.strategy.type === 'RollingUpdate') {
      spec.strategy.rollingUpdate ??= {};
      spec.strategy.rollingUpdate.maxUnavailable ??= '25%';
      spec.strategy.rollingUpdate.maxSurge ??= '25%';
    }
    spec.revisionHistoryLimit ??= 10;
    spec.progressDeadlineSeconds ??= 600;
    spec.template ??= {};
    spec.template.metadata ??= {};
    podSpecDefaults(spec.template.spec);
    o.status ??= {};
  },
  validate(o, errs, old) {
    validateWorkload(o, errs, old);
    const t = o.spec?.strategy?.type;
    if (t !== undefined && t !== 'RollingUpdate' && t !== 'Recreate')
      errs.notSupported('spec.strategy.type', t, ['Recreate', 'RollingUpdate']);
  },
  table: {
    columns: [
      nameColumn,
      { name: 'Ready', type: 'string', description: 'Number of the pod with ready state', priority: 0 },
      {
        name: 'Up-to-date',
        type: 'integer',
        description:
          'Total number of non-terminated pods targeted by this deployment that have the desired template spec.',
        priority: 0,
      },
      {
        name: 'Available',
        type: 'integer',
        description: 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.',
        priority: 0,
      },
      ageColumn,
      ...wideColumns,
    ],
    cells: (o, now) => [
      o.metadata.name,
      `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}`,
      o.status?.updatedReplicas ?? 0,
      o.status?.availableReplicas ?? 0,
      humanAge(o.metadata.creationTimestamp, now),
      ...wideCells(o),
    ],
  },
};

export const replicasets: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  plural: 'replicasets',
  singular: 'replicaset',
  shortNames: ['rs'],
  categories: ['all'],
  namespaced: true,
  typeName: APPS.ReplicaSet,
  statusSubresource: true,
  resetStatusOnCreate: true,
  scale: { defaultReplicas: 1 },
  defaults(o) {
    const spec = (o.spec ??= {});
    spec.replicas ??= 1;
    spec.template ??= {};
    spec.template.metadata ??= {};
    podSpecDefaults(spec.template.spec);
    o.status ??= { replicas: 0 };
  },
  validate: validateWorkload,
  table: {
    columns: [
      nameColumn,
      { name: 'Desired', type: 'integer', description: 'Replicas is the number of desired replicas.', priority: 0 },
      {
        name: 'Current',
        type: 'integer',
        description: 'Replicas is the most recently observed number of replicas.',
        priority: 0,
      },
      {
        name: 'Ready',
        type: 'integer',
        description: 'The number of ready replicas for this replica set.',
        priority: 0,
      },
      ageColumn,
      ...wideColumns,
    ],
    cells: (o, now) => [
      o.metadata.name,
      o.spec?.replicas ?? 0,
      o.status?.replicas ?? 0,
      o.status?.readyReplicas ?? 0,
      humanAge(o.metadata.creationTimestamp, now),
      ...wideCells(o),
    ],
  },
};
