/** rbac.authorization.k8s.io/v1: Role, ClusterRole, RoleBinding, ClusterRoleBinding (validation as Kubernetes). */
import type { KObject } from '../../api/meta.js';
import { T as RBAC } from '../../api/rbac-v1.js';
import type { FieldErrors } from '../errors.js';
import { ageColumn, humanAge, nameColumn, type ResourceDef } from './types.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const GROUP = 'rbac.authorization.k8s.io';

function validateRules(o: KObject, errs: FieldErrors, clusterScoped: boolean): void {
  ((o.rules ?? []) as Json[]).forEach((r, i) => {
    const f = `rules[${i}]`;
    if (!Array.isArray(r?.verbs) || r.verbs.length === 0) errs.required(`${f}.verbs`);
    const nonResource = Array.isArray(r?.nonResourceURLs) && r.nonResourceURLs.length > 0;
    const resource = Array.isArray(r?.resources) && r.resources.length > 0;
    if (nonResource && !clusterScoped)
      errs.invalid(`${f}.nonResourceURLs`, r.nonResourceURLs, 'namespaced rules cannot apply to non-resource URLs');
    if (nonResource && resource)
      errs.invalid(
        `${f}.nonResourceURLs`,
        r.nonResourceURLs,
        'rules cannot apply to both regular resources and non-resource URLs',
      );
    if (!nonResource) {
      if (!Array.isArray(r?.apiGroups) || r.apiGroups.length === 0) errs.required(`${f}.apiGroups`);
      if (!resource) errs.required(`${f}.resources`);
    }
  });
}

const SUBJECT_KINDS = ['User', 'Group', 'ServiceAccount'];

function validateBinding(o: KObject, errs: FieldErrors, old: KObject | undefined, clusterScoped: boolean): void {
  const ref = o.roleRef as Json;
  if (!ref || typeof ref !== 'object') errs.required('roleRef');
  else {
    if (ref.apiGroup !== GROUP) errs.notSupported('roleRef.apiGroup', ref.apiGroup ?? '', [GROUP]);
    const kinds = clusterScoped ? ['ClusterRole'] : ['ClusterRole', 'Role'];
    if (!kinds.includes(ref.kind)) errs.notSupported('roleRef.kind', ref.kind ?? '', kinds);
    if (!ref.name) errs.required('roleRef.name');
  }
  if (old && JSON.stringify(old.roleRef) !== JSON.stringify(o.roleRef))
    errs.invalid('roleRef', o.roleRef, 'cannot change roleRef');
  ((o.subjects ?? []) as Json[]).forEach((s, i) => {
    const f = `subjects[${i}]`;
    if (!SUBJECT_KINDS.includes(s?.kind)) errs.notSupported(`${f}.kind`, s?.kind ?? '', SUBJECT_KINDS);
    if (!s?.name) errs.required(`${f}.name`);
    if (s?.kind === 'ServiceAccount' && !s.namespace && clusterScoped) errs.required(`${f}.namespace`);
  });
}

function bindingDefaults(o: KObject): void {
  for (const s of (o.subjects ?? []) as Json[]) {
    if (!s || typeof s !== 'object') continue;
    if ((s.kind === 'User' || s.kind === 'Group') && s.apiGroup === undefined) s.apiGroup = GROUP;
    if (s.kind === 'ServiceAccount' && s.apiGroup === undefined) s.apiGroup = '';
  }
}

const createdAt = {
  name: 'Created At',
  type: 'date' as const,
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  priority: 0,
};

function roleDef(kind: 'Role' | 'ClusterRole'): ResourceDef {
  const namespaced = kind === 'Role';
  return {
    group: GROUP,
    version: 'v1',
    kind,
    plural: `${kind.toLowerCase()}s`,
    singular: kind.toLowerCase(),
    shortNames: [],
    namespaced,
    nameIsPathSegment: true,
    typeName: namespaced ? RBAC.Role : RBAC.ClusterRole,
    statusSubresource: false,
    resetStatusOnCreate: false,
    specFields: namespaced ? ['rules'] : ['rules', 'aggregationRule'],
    validate: (o, errs) => validateRules(o, errs, !namespaced),
    table: {
      columns: [nameColumn, createdAt],
      cells: (o) => [o.metadata.name, o.metadata.creationTimestamp ?? ''],
    },
  };
}

function bindingDef(kind: 'RoleBinding' | 'ClusterRoleBinding'): ResourceDef {
  const namespaced = kind === 'RoleBinding';
  const names = (o: KObject, k: string) =>
    ((o.subjects ?? []) as Json[])
      .filter((s) => s?.kind === k)
      .map((s) => (k === 'ServiceAccount' ? `${s.namespace ?? o.metadata.namespace ?? ''}/${s.name}` : s.name))
      .join(', ');
  const col = (name: string, description: string, priority = 1) => ({
    name,
    type: 'string' as const,
    description,
    priority,
  });
  return {
    group: GROUP,
    version: 'v1',
    kind,
    plural: `${kind.toLowerCase()}s`,
    singular: kind.toLowerCase(),
    shortNames: [],
    namespaced,
    nameIsPathSegment: true,
    typeName: namespaced ? RBAC.RoleBinding : RBAC.ClusterRoleBinding,
    statusSubresource: false,
    resetStatusOnCreate: false,
    specFields: ['subjects', 'roleRef'],
    defaults: bindingDefaults,
    validate: (o, errs, old) => validateBinding(o, errs, old, !namespaced),
    table: {
      columns: [
        nameColumn,
        col('Role', 'RoleRef can reference a Role in the current namespace or a ClusterRole.', 0),
        ageColumn,
        col('Users', 'Users in the binding'),
        col('Groups', 'Groups in the binding'),
        col('ServiceAccounts', 'ServiceAccounts in the binding'),
      ],
      cells: (o, now) => [
        o.metadata.name,
        `${(o.roleRef as Json)?.kind ?? ''}/${(o.roleRef as Json)?.name ?? ''}`,
        humanAge(o.metadata.creationTimestamp, now),
        names(o, 'User'),
        names(o, 'Group'),
        names(o, 'ServiceAccount'),
      ],
    },
  };
}

export const roles = roleDef('Role');
export const clusterroles = roleDef('ClusterRole');
export const rolebindings = bindingDef('RoleBinding');
export const clusterrolebindings = bindingDef('ClusterRoleBinding');
